/**
 * The team page's state (README "Team, keys and audit"): for an organisation's admins its members (add one — the
 * temporary password is kept here only until dismissed —, change a role, withdraw or restore access), its API
 * keys (create one — shown once —, revoke) and its audit log, page by page; for everyone their own password.
 * Each list is read again after every action on it.
 */
import { api, ApiError, errorMessage, request } from './api';
import type { ApiKey, ApiKeyCreated, AuditEntry, AuditPage, Member, MemberAdded, Role } from './team-data';

export * from './team-data';

type Status = 'loading' | 'ready' | 'error';

/** A secret to show once: a new member's temporary password or a new API key. */
export interface OneTime {
  kind: 'member' | 'apiKey';
  title: string;
  label: string;
  value: string;
}

export class TeamState {
  members = $state<Member[]>([]);
  membersStatus = $state<Status>('loading');
  membersError = $state<string | null>(null);
  keys = $state<ApiKey[]>([]);
  keysStatus = $state<Status>('loading');
  keysError = $state<string | null>(null);
  audit = $state<AuditEntry[]>([]);
  auditStatus = $state<Status>('loading');
  auditError = $state<string | null>(null);
  auditNext = $state<string | null>(null);
  auditFilter = $state('');
  auditMore = $state(false);

  /** the member or key an action runs on */
  busy = $state<string | null>(null);
  /** per member or key: what the last action did or why it failed */
  notices = $state<Record<string, { ok: boolean; text: string }>>({});
  oneTime = $state<OneTime | null>(null);
  adding = $state(false);
  addError = $state<string | null>(null);
  creatingKey = $state(false);
  keyError = $state<string | null>(null);

  activeAdmins = $derived(this.members.filter((m) => m.role === 'admin' && !m.disabled).length);

  #auditToken = 0;

  async loadAll() {
    await Promise.all([this.loadMembers(), this.loadKeys(), this.loadAudit()]);
  }

  async loadMembers() {
    try {
      this.members = await api.get<Member[]>('/team/members');
      this.membersStatus = 'ready';
      this.membersError = null;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      if (this.membersStatus !== 'ready') this.membersStatus = 'error';
      this.membersError = errorMessage(e);
    }
  }

  async loadKeys() {
    try {
      this.keys = await api.get<ApiKey[]>('/api-keys');
      this.keysStatus = 'ready';
      this.keysError = null;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      if (this.keysStatus !== 'ready') this.keysStatus = 'error';
      this.keysError = errorMessage(e);
    }
  }

  /** The newest page (a new filter or a refresh); `more()` appends the older ones. */
  async loadAudit() {
    const token = ++this.#auditToken;
    try {
      const page = await api.get<AuditPage>('/team/audit', { query: { limit: 50, action: this.auditFilter || undefined } });
      if (token !== this.#auditToken) return;
      this.audit = page.entries;
      this.auditNext = page.next;
      this.auditStatus = 'ready';
      this.auditError = null;
    } catch (e) {
      if (token !== this.#auditToken || (e instanceof ApiError && e.status === 401)) return;
      this.auditStatus = 'error';
      this.auditError = errorMessage(e);
    }
  }

  async moreAudit() {
    if (!this.auditNext || this.auditMore) return;
    const token = this.#auditToken;
    this.auditMore = true;
    try {
      const page = await api.get<AuditPage>('/team/audit', { query: { limit: 50, before: this.auditNext, action: this.auditFilter || undefined } });
      if (token !== this.#auditToken) return;
      this.audit = [...this.audit, ...page.entries];
      this.auditNext = page.next;
    } catch (e) {
      this.auditError = errorMessage(e);
    } finally {
      this.auditMore = false;
    }
  }

  setAuditFilter(value: string) {
    this.auditFilter = value;
    this.auditStatus = 'loading';
    void this.loadAudit();
  }

  /** `POST /api/team/members`; the temporary password goes to `oneTime`. */
  /** a secret on screen is not replaced by the next one (it would be lost): the admin dismisses it first */
  #secretShown(): boolean {
    return this.oneTime !== null;
  }

  async addMember(form: { name: string; email: string; role: Role }): Promise<boolean> {
    if (this.adding) return false;
    if (this.#secretShown()) {
      this.addError = 'Copy the password or key shown above and press Done first: it is shown only once.';
      return false;
    }
    this.adding = true;
    this.addError = null;
    try {
      const m = await api.post<MemberAdded>('/team/members', { name: form.name.trim(), email: form.email, role: form.role });
      this.oneTime = { kind: 'member', title: 'Member added: their temporary password', label: `${m.name} <${m.email}>`, value: m.temporaryPassword };
      this.members = [...this.members.filter((x) => x.userId !== m.userId), m];
      return true;
    } catch (e) {
      this.addError = e instanceof ApiError && e.code === 'email_taken' ? 'Someone with this e-mail already has an account (in this or another organisation).' : errorMessage(e);
      return false;
    } finally {
      this.adding = false;
      void this.loadMembers();
      void this.loadAudit();
    }
  }

  /** `PATCH /api/team/members/:id`: a role, or access withdrawn / restored. A 409 `last_admin` is explained. */
  async updateMember(m: Member, change: { role?: Role; disabled?: boolean }): Promise<boolean> {
    if (this.busy) return false;
    this.busy = m.userId;
    delete this.notices[m.userId];
    try {
      const updated = await request<Member>('PATCH', `/team/members/${encodeURIComponent(m.userId)}`, { body: change });
      this.members = this.members.map((x) => (x.userId === updated.userId ? updated : x));
      const what = change.role ? `Now ${change.role === 'admin' ? 'an admin' : 'a member'}.` : change.disabled ? 'Access withdrawn.' : 'Access restored.';
      const ended = change.role || change.disabled ? ' Their sessions were signed out.' : '';
      this.notices[m.userId] = { ok: true, text: `${what}${ended}` };
      return true;
    } catch (e) {
      const text = e instanceof ApiError && e.code === 'last_admin' ? 'Not possible: your organisation needs at least one admin with access. Make someone else admin first.' : errorMessage(e);
      this.notices[m.userId] = { ok: false, text };
      return false;
    } finally {
      this.busy = null;
      void this.loadMembers();
      void this.loadAudit();
    }
  }

  /** `POST /api/team/members/:id/reset-password`: a new temporary password (to `oneTime`); their sessions end. */
  async resetPassword(m: Member): Promise<boolean> {
    if (this.busy) return false;
    if (this.#secretShown()) {
      this.notices[m.userId] = { ok: false, text: 'Copy the password or key shown above and press Done first: it is shown only once.' };
      return false;
    }
    this.busy = m.userId;
    delete this.notices[m.userId];
    try {
      const r = await api.post<{ temporaryPassword: string }>(`/team/members/${encodeURIComponent(m.userId)}/reset-password`, {});
      this.oneTime = { kind: 'member', title: `New temporary password for ${m.name}`, label: `${m.name} <${m.email}>`, value: r.temporaryPassword };
      this.notices[m.userId] = { ok: true, text: 'Password reset. Their sessions were signed out.' };
      return true;
    } catch (e) {
      this.notices[m.userId] = { ok: false, text: errorMessage(e) };
      return false;
    } finally {
      this.busy = null;
      void this.loadAudit();
    }
  }

  /** `POST /api/api-keys`; the key goes to `oneTime`. */
  async createKey(form: { name: string; role: Role }): Promise<boolean> {
    if (this.creatingKey) return false;
    if (this.#secretShown()) {
      this.keyError = 'Copy the password or key shown above and press Done first: it is shown only once.';
      return false;
    }
    this.creatingKey = true;
    this.keyError = null;
    try {
      const k = await api.post<ApiKeyCreated>('/api-keys', { name: form.name.trim() || undefined, role: form.role });
      this.oneTime = { kind: 'apiKey', title: 'API key created', label: `${k.name} (${k.role})`, value: k.key };
      return true;
    } catch (e) {
      this.keyError = errorMessage(e);
      return false;
    } finally {
      this.creatingKey = false;
      void this.loadKeys();
      void this.loadAudit();
    }
  }

  async revokeKey(k: ApiKey): Promise<boolean> {
    if (this.busy) return false;
    this.busy = k.id;
    delete this.notices[k.id];
    try {
      await api.del<void>(`/api-keys/${encodeURIComponent(k.id)}`);
      this.notices[k.id] = { ok: true, text: 'Revoked: the key no longer works.' };
      return true;
    } catch (e) {
      this.notices[k.id] = { ok: false, text: errorMessage(e) };
      return false;
    } finally {
      this.busy = null;
      void this.loadKeys();
      void this.loadAudit();
    }
  }

  dismissOneTime() {
    this.oneTime = null;
  }
}

/** Everyone's own password: `POST /api/me/password`. */
export class PasswordState {
  saving = $state(false);
  error = $state<string | null>(null);
  wrongCurrent = $state(false);
  done = $state(false);

  async change(current: string, next: string): Promise<boolean> {
    if (this.saving) return false;
    this.saving = true;
    this.error = null;
    this.wrongCurrent = false;
    this.done = false;
    try {
      await api.post<void>('/me/password', { currentPassword: current, newPassword: next });
      this.done = true;
      return true;
    } catch (e) {
      this.wrongCurrent = e instanceof ApiError && e.code === 'wrong_password';
      this.error = this.wrongCurrent ? 'Your current password is not right.' : errorMessage(e);
      return false;
    } finally {
      this.saving = false;
    }
  }
}
