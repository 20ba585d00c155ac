import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../adapters/db/db.ts';
import { activeApiKeyByHash, apiKeysOfOrg, insertApiKey, revokeApiKey, touchApiKey } from '../adapters/db/api-keys-repo.ts';
import { audit } from '../adapters/db/audit.ts';
import { insertSession, revokeSession, validLiveRooms, validSession } from '../adapters/db/sessions-repo.ts';
import { credentialsUnchanged, userForSignIn } from '../adapters/db/users-repo.ts';
import type { Role } from '../domain/enums.ts';
import { normalizeEmail } from '../core/identity.ts';
import { AppError, notFound } from '../domain/errors.ts';
import { verifyPassword } from './passwords.ts';
import { lockTeamAsAdmin } from './admin-guard.ts';
import { policy, type Principal } from '../domain/principal.ts';
import type { ApiKeyBody, ApiKeyCreated, ApiKeyListItem, Me } from '../domain/schemas/session.ts';

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const token = (bytes: number) => randomBytes(bytes).toString('base64url');

/** `GET /api/me`: who `p` is. */
export function meOf(p: Principal): Me {
  return {
    user: p.userId ? { id: p.userId, email: p.email ?? '', name: p.name ?? '' } : null,
    org: { id: p.orgId, name: p.orgName, kind: p.orgKind },
    role: p.role,
    ...(p.csrfToken ? { csrfToken: p.csrfToken } : {}),
  };
}

/** Called when a session or key stops being valid, so live connections are cut at once. */
type RevocationHook = (room: string) => void;

/**
 * Principals of recently seen sessions and keys, in process, for `ttlMs` (and never past a session's own
 * expiry): saves a four-table query on every request. Sign-out and key revocation evict at once here and,
 * through the revocation hook (Redis pub/sub, see app.ts), in every other server; `ttlMs` bounds how long
 * any other change made behind the service's back (a user disabled in the database) can go unseen.
 */
class PrincipalCache {
  private readonly map = new Map<string, { p: Principal; until: number }>();
  /**
   * Counts evictions. A look-up that began before an eviction may have read the session or key while it was still
   * valid; it passes the count it saw to `set`, which then keeps nothing (an evicted principal never comes back).
   */
  evictions = 0;
  constructor(
    private readonly ttlMs: number,
    private readonly max = 50_000,
  ) {}

  get(key: string, now: number): Principal | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    if (hit.until > now) return hit.p;
    this.map.delete(key);
    return undefined;
  }

  set(key: string, p: Principal, now: number, notAfter = Infinity, seenEvictions = this.evictions) {
    if (this.ttlMs <= 0 || seenEvictions !== this.evictions) return;
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, { p, until: Math.min(now + this.ttlMs, notAfter) });
  }

  /** Forgets the principal of a revoked session or key, given its live room (`session:<id>` / `apikey:<id>`). */
  evict(room: string) {
    this.evictions++;
    const [kind, id] = [room.slice(0, room.indexOf(':')), room.slice(room.indexOf(':') + 1)];
    if (kind === 'session') this.map.delete(`s:${id}`);
    else if (kind === 'apikey') for (const [k, v] of this.map) if (v.p.apiKeyId === id) this.map.delete(k);
  }
}

export class AuthService {
  readonly principals: PrincipalCache;

  constructor(
    private readonly db: Db,
    private readonly opts: { sessionTtlMs: number; principalCacheMs?: number },
    private readonly onRevoke: RevocationHook = () => {},
  ) {
    this.principals = new PrincipalCache(opts.principalCacheMs ?? 0);
  }

  /** Signs in with e-mail and password; a new session id every time. */
  async signIn(rawEmail: string, password: string, meta: { ip?: string; userAgent?: string } = {}) {
    const email = normalizeEmail(rawEmail);
    const row = await userForSignIn(this.db, email);
    const ok = await verifyPassword(row?.password_hash ?? null, password);
    if (!row || !ok || row.disabled_at) {
      await audit(this.db, null, 'session.sign_in_failed', { type: 'user', id: row?.id ?? null }, { email: email.slice(0, 200) }, meta.ip);
      throw new AppError(401, 'invalid_credentials', 'e-mail or password is wrong');
    }
    const secret = token(32);
    const csrfToken = token(24);
    const sessionId = sha256(secret);
    await this.db.transaction().execute(async (tx) => {
      // The password was checked outside (argon2 is slow): a change, reset or withdrawal committed meanwhile must not
      // be outlived by this session. The user's row is share-locked, so a change now waits for this commit and then
      // ends the session with the others.
      if (!(await credentialsUnchanged(tx, row.id, row.password_hash))) throw new AppError(401, 'invalid_credentials', 'e-mail or password is wrong');
      await insertSession(tx, {
        id: sessionId,
        user_id: row.id,
        org_id: row.org_id,
        csrf_token: csrfToken,
        ip: meta.ip ?? null,
        user_agent: meta.userAgent?.slice(0, 500) ?? null,
        expires_at: new Date(Date.now() + this.opts.sessionTtlMs),
      });
      await audit(tx, { userId: row.id, orgId: row.org_id }, 'session.sign_in', { type: 'session', id: sessionId.slice(0, 12) }, undefined, meta.ip);
    });
    const principal: Principal = {
      kind: 'session',
      userId: row.id,
      email: row.email,
      name: row.name,
      orgId: row.org_id,
      orgName: row.org_name,
      orgKind: row.org_kind,
      role: row.role,
      sessionId,
      csrfToken,
    };
    return { cookieValue: secret, principal };
  }

  async signOut(p: Principal, ip?: string): Promise<void> {
    if (!p.sessionId) return;
    await this.db.transaction().execute(async (tx) => {
      await revokeSession(tx, p.sessionId!, new Date());
      await audit(tx, p, 'session.sign_out', { type: 'session', id: p.sessionId!.slice(0, 12) }, undefined, ip);
    });
    this.principals.evict(`session:${p.sessionId}`);
    this.onRevoke(`session:${p.sessionId}`);
  }

  /**
   * Sessions ended behind the caller's back (a member disabled, their role changed, their password changed):
   * forgotten here and in every other server, and their live connections cut, as at sign-out.
   */
  sessionsEnded(sessionIds: readonly string[]): void {
    for (const id of sessionIds) {
      this.principals.evict(`session:${id}`);
      this.onRevoke(`session:${id}`);
    }
  }

  /**
   * Whether this server already knows the principal behind a cookie or key (no Postgres look-up needed).
   * Unknown credentials cost a look-up each, so the HTTP layer counts those per address first.
   */
  isCached(cred: { cookie?: string; key?: string }, now = Date.now()): boolean {
    if (cred.key !== undefined) return cred.key.length <= 200 && !!this.principals.get(`k:${sha256(cred.key)}`, now);
    if (cred.cookie !== undefined) return cred.cookie.length <= 200 && !!this.principals.get(`s:${sha256(cred.cookie)}`, now);
    return true;
  }

  /** The principal behind a session cookie, or null when missing, expired, revoked or disabled. */
  async fromSession(cookieValue: string | undefined): Promise<Principal | null> {
    if (!cookieValue || cookieValue.length > 200) return null;
    const id = sha256(cookieValue);
    const now = Date.now();
    const cached = this.principals.get(`s:${id}`, now);
    if (cached) return cached;
    const evictions = this.principals.evictions;
    const row = await validSession(this.db, id, new Date(now));
    if (!row) return null;
    const p: Principal = {
      kind: 'session',
      userId: row.user_id,
      email: row.email,
      name: row.name,
      orgId: row.org_id,
      orgName: row.org_name,
      orgKind: row.org_kind,
      role: row.role,
      sessionId: row.id,
      csrfToken: row.csrf_token,
      sessionExpiresAt: row.expires_at.getTime(),
    };
    this.principals.set(`s:${id}`, p, now, row.expires_at.getTime(), evictions);
    return p;
  }

  /**
   * Re-validates many live principals in ONE query (the socket server asks every SOCKET_RECHECK_MS), by
   * their live rooms (`session:<id>` / `apikey:<id>`). Answers the rooms still valid, with their current
   * role, organisation and session expiry; a room missing from the answer has ended (session expired or
   * revoked, user disabled, membership removed, key revoked) and is evicted from the principal cache too.
   */
  async revalidate(liveRooms: string[]): Promise<Map<string, { role: Role; orgId: string; expiresAt: number | null }>> {
    const sessionIds = liveRooms.filter((r) => r.startsWith('session:')).map((r) => r.slice(8));
    const keyIds = liveRooms.filter((r) => r.startsWith('apikey:')).map((r) => r.slice(7)).filter((id) => UUID.test(id));
    const rows = await validLiveRooms(this.db, sessionIds, keyIds, new Date());
    const valid = new Map(rows.map((r) => [r.room, { role: r.role, orgId: r.org_id, expiresAt: r.expires_at ? new Date(r.expires_at).getTime() : null }]));
    for (const room of liveRooms) if (!valid.has(room)) this.principals.evict(room);
    return valid;
  }

  /** The principal behind an API key (`cxk_<prefix>_<secret>`), or null. */
  async fromApiKey(key: string | undefined): Promise<Principal | null> {
    if (!key || key.length > 200 || !key.startsWith('cxk_')) return null;
    const hash = sha256(key);
    const now = Date.now();
    const cached = this.principals.get(`k:${hash}`, now);
    if (cached) {
      this.touched(cached.apiKeyId!, now);
      return cached;
    }
    const evictions = this.principals.evictions;
    const row = await activeApiKeyByHash(this.db, hash);
    if (!row) return null;
    const p: Principal = {
      kind: 'apiKey',
      userId: null,
      email: null,
      name: null,
      orgId: row.org_id,
      orgName: row.org_name,
      orgKind: row.org_kind,
      role: row.role,
      apiKeyId: row.id,
    };
    this.principals.set(`k:${hash}`, p, now, Infinity, evictions);
    this.touched(row.id, now);
    return p;
  }

  /** API key → when this process last recorded its use: the key's "last used" is written at most once a minute. */
  private readonly keyUse = new Map<string, number>();

  /** Records a key's use in the background (never on the request's path, never failing it). */
  private touched(keyId: string, now: number): void {
    if (now - (this.keyUse.get(keyId) ?? 0) < 60_000) return;
    this.keyUse.set(keyId, now);
    if (this.keyUse.size > 10_000) this.keyUse.clear();
    void touchApiKey(this.db, keyId).catch(() => this.keyUse.delete(keyId));
  }

  /** Creates an API key for the caller's organisation. The secret is returned once and stored hashed:
   *  it has 256 bits of entropy, so a fast SHA-256 is the right hash (argon2 is for guessable passwords). */
  async createApiKey(p: Principal, input: ApiKeyBody, ip?: string): Promise<ApiKeyCreated> {
    policy.requireAdmin(p);
    const prefix = token(6);
    const key = `cxk_${prefix}_${token(32)}`;
    const role = input.role ?? 'member';
    const name = input.name?.trim() || 'API key';
    return this.db.transaction().execute(async (tx) => {
      await lockTeamAsAdmin(tx, p);
      const row = await insertApiKey(tx, { org_id: p.orgId, created_by: p.userId, name, prefix, key_hash: sha256(key), role });
      await audit(tx, p, 'api_key.create', { type: 'api_key', id: row.id }, { name, role }, ip);
      return { id: row.id, key, name, role, prefix, createdAt: row.created_at.toISOString() };
    });
  }

  async listApiKeys(p: Principal): Promise<ApiKeyListItem[]> {
    policy.requireAdmin(p);
    const rows = await apiKeysOfOrg(this.db, p.orgId);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      prefix: r.prefix,
      role: r.role,
      createdAt: r.created_at.toISOString(),
      revokedAt: r.revoked_at?.toISOString() ?? null,
      lastUsedAt: r.last_used_at?.toISOString() ?? null,
    }));
  }

  async revokeApiKey(p: Principal, id: string, ip?: string): Promise<void> {
    policy.requireAdmin(p);
    const done = await this.db.transaction().execute(async (tx) => {
      await lockTeamAsAdmin(tx, p);
      if (!(await revokeApiKey(tx, id, p.orgId, new Date()))) return false;
      await audit(tx, p, 'api_key.revoke', { type: 'api_key', id }, undefined, ip);
      return true;
    });
    if (!done) throw notFound('API key');
    this.principals.evict(`apikey:${id}`);
    this.onRevoke(`apikey:${id}`);
  }
}
