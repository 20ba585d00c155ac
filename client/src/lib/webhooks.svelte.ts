/**
 * Webhooks (issue 15; ../shared/API.md "Webhooks"): the organisation's endpoints for its admins — register one (the
 * signing secret is answered once and kept here only until the admin dismisses it), enable / disable, ping, rotate
 * the secret (the new one shown once), delete — and per endpoint its delivery log with redelivery.
 *
 * Freshness: the list is read again after every action, on `webhook:disabled` (an endpoint kept failing; to the
 * organisation) and after a reconnect. An open delivery log is read again after ping and redeliver, and every
 * 1.5 s while one of its deliveries is pending or being sent (delivery has no live event of its own).
 */
import { api, ApiError, errorMessage, request } from './api';
import { live } from './live.svelte';
import type { RotatedSecret, Webhook, WebhookAccepted, WebhookCreated, WebhookDelivery } from './types';
import {
  checkWebhookForm, endpointHealth, hasOpenDeliveries, sentence, webhookBody, webhookFieldError, type WebhookField, type WebhookFormValues,
} from './webhooks-data';

export * from './webhooks-data';

export interface DeliveryLog {
  status: 'loading' | 'ready' | 'error';
  items: WebhookDelivery[];
  error: string | null;
  /** completed reads (the page and the tests can tell a re-read happened) */
  reads: number;
}

/** A signing secret to show once: after registration or a rotation. */
export interface RevealedSecret {
  webhookId: string;
  url: string;
  secret: string;
  kind: 'created' | 'rotated';
  previousSecretExpiresAt: string | null;
}

export type WebhookAction = 'enable' | 'disable' | 'ping' | 'rotate' | 'delete' | 'redeliver';

const POLL_MS = 1500;
const path = (id: string) => `/webhooks/${encodeURIComponent(id)}`;

export class WebhooksState {
  items = $state<Webhook[]>([]);
  status = $state<'loading' | 'ready' | 'error'>('loading');
  error = $state<string | null>(null);
  /** a background re-read failed: the last list stays on screen */
  staleError = $state<string | null>(null);
  reads = $state(0);
  /** the endpoint (or delivery) an action runs on */
  busy = $state<{ id: string; action: WebhookAction } | null>(null);
  /** per endpoint: what the last action did or why it failed */
  notices = $state<Record<string, { ok: boolean; text: string }>>({});
  /** the error of the action a confirm dialog asked for (shown in the dialog) */
  dialogError = $state<string | null>(null);
  revealed = $state<RevealedSecret | null>(null);
  /** per endpoint: its delivery log, once opened */
  logs = $state<Record<string, DeliveryLog>>({});
  open = $state<Record<string, boolean>>({});

  // ---- the form ----
  creating = $state(false);
  createErrors = $state<Partial<Record<WebhookField, string>>>({});
  createError = $state<string | null>(null);

  /** endpoints failing now or disabled for failing */
  failingCount = $derived(this.items.filter((w) => endpointHealth(w).includes('failing')).length);
  /** open logs that still change by themselves */
  watching = $derived(Object.keys(this.open).filter((id) => this.open[id] && hasOpenDeliveries(this.logs[id]?.items ?? [])));

  #token = 0;
  #fetchStartedAt = 0;

  async load(silent = false) {
    const token = ++this.#token;
    if (!silent) {
      this.status = 'loading';
      this.error = null;
    }
    try {
      this.#fetchStartedAt = Date.now();
      const list = await api.get<Webhook[]>('/webhooks');
      if (token !== this.#token) return;
      this.items = list;
      this.status = 'ready';
      this.staleError = null;
      this.reads++;
    } catch (e) {
      if (token !== this.#token) return;
      if (e instanceof ApiError && e.status === 401) return;
      if (this.status === 'ready') this.staleError = errorMessage(e);
      else {
        this.status = 'error';
        this.error = errorMessage(e);
      }
    }
  }

  /** In a page's `$effect`: re-reads on `webhook:disabled`, after a reconnect, and polls open logs; returns the teardown. */
  keepLive(): () => void {
    const offDisabled = live.on('webhook:disabled', (e: { webhookId?: string; consecutiveFailures?: number }) => {
      if (e?.webhookId)
        this.notices[e.webhookId] = { ok: false, text: `Disabled after ${e.consecutiveFailures ?? 'many'} failed attempts in a row. Enable it again once the receiver works.` };
      void this.load(true);
    });
    const offSync = live.onSync(() => {
      if (this.#fetchStartedAt >= live.lastSyncAt) return;
      void this.load(true);
      for (const id of Object.keys(this.open)) if (this.open[id]) void this.loadLog(id, true);
    });
    let polling = false;
    const timer = setInterval(() => {
      if (polling || this.watching.length === 0) return;
      polling = true;
      void Promise.all([...this.watching.map((id) => this.loadLog(id, true)), this.load(true)]).finally(() => (polling = false));
    }, POLL_MS);
    return () => {
      offDisabled();
      offSync();
      clearInterval(timer);
      this.#token++;
    };
  }

  /** `POST /api/webhooks`; the secret is kept in `revealed` until dismissed; a 400 is placed next to its field. */
  async create(form: WebhookFormValues): Promise<boolean> {
    if (this.creating) return false;
    this.createErrors = checkWebhookForm(form);
    this.createError = null;
    if (Object.keys(this.createErrors).length) return false;
    this.creating = true;
    try {
      const { secret, ...w } = await api.post<WebhookCreated>('/webhooks', webhookBody(form));
      this.items = [w, ...this.items.filter((x) => x.id !== w.id)];
      this.revealed = { webhookId: w.id, url: w.url, secret, kind: 'created', previousSecretExpiresAt: null };
      void this.load(true);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) {
        const field = webhookFieldError(e.code, e.message);
        if (field) this.createErrors = { [field]: sentence(e.message) };
        else this.createError = sentence(e.message);
      } else this.createError = errorMessage(e);
      return false;
    } finally {
      this.creating = false;
    }
  }

  dismissSecret() {
    this.revealed = null;
  }

  async setEnabled(w: Webhook, enabled: boolean): Promise<boolean> {
    return this.#act(w.id, enabled ? 'enable' : 'disable', async () => {
      const updated = await request<Webhook>('PATCH', path(w.id), { body: { enabled } });
      this.#replace(updated);
      this.notices[w.id] = { ok: true, text: enabled ? 'Enabled: new events are delivered again.' : 'Disabled: no events are delivered until you enable it again.' };
    });
  }

  /** A `ping` event; the log opens and follows it until it is delivered or failed. */
  async ping(w: Webhook): Promise<boolean> {
    return this.#act(w.id, 'ping', async () => {
      await api.post<WebhookAccepted>(`${path(w.id)}/ping`, {});
      this.notices[w.id] = { ok: true, text: 'Ping sent: follow it in the delivery log.' };
      this.open[w.id] = true;
      await this.loadLog(w.id, true);
    });
  }

  /** A new signing secret, shown once; the old one keeps signing for `overlapHours`. Errors go to the dialog. */
  async rotate(w: Webhook, overlapHours: number): Promise<boolean> {
    return this.#act(
      w.id,
      'rotate',
      async () => {
        const r = await api.post<RotatedSecret>(`${path(w.id)}/rotate-secret`, { overlapHours });
        this.revealed = { webhookId: w.id, url: w.url, secret: r.secret, kind: 'rotated', previousSecretExpiresAt: r.previousSecretExpiresAt };
        this.#replace({ ...w, previousSecretExpiresAt: r.previousSecretExpiresAt });
      },
      true,
    );
  }

  async remove(w: Webhook): Promise<boolean> {
    return this.#act(
      w.id,
      'delete',
      async () => {
        await api.del<void>(path(w.id));
        this.items = this.items.filter((x) => x.id !== w.id);
        delete this.logs[w.id];
        delete this.open[w.id];
        delete this.notices[w.id];
        if (this.revealed?.webhookId === w.id) this.revealed = null;
      },
      true,
    );
  }

  toggleLog(id: string) {
    this.open[id] = !this.open[id];
    if (this.open[id]) void this.loadLog(id, id in this.logs);
  }

  /** `GET /api/webhooks/:id/deliveries` (newest first). */
  async loadLog(id: string, silent = false) {
    if (!this.logs[id]) this.logs[id] = { status: 'loading', items: [], error: null, reads: 0 };
    const log = this.logs[id];
    if (!silent || log.status !== 'ready') log.status = 'loading';
    try {
      const items = await api.get<WebhookDelivery[]>(`${path(id)}/deliveries`, { query: { limit: 50 } });
      const cur = this.logs[id];
      if (!cur) return;
      cur.items = items;
      cur.status = 'ready';
      cur.error = null;
      cur.reads++;
    } catch (e) {
      const cur = this.logs[id];
      if (!cur || (e instanceof ApiError && e.status === 401)) return;
      if (silent && cur.status === 'ready') return;
      cur.status = 'error';
      cur.error = errorMessage(e);
    }
  }

  /** Sends a delivery's event again (same event id); the log is read again. */
  async redeliver(w: Webhook, d: WebhookDelivery): Promise<boolean> {
    return this.#act(d.id, 'redeliver', async () => {
      await api.post<WebhookAccepted>(`${path(w.id)}/deliveries/${encodeURIComponent(d.id)}/redeliver`, {});
      this.notices[w.id] = { ok: true, text: `${d.type} event sent again (same event id).` };
      await this.loadLog(w.id, true);
    }, false, w.id);
  }

  isBusy(id: string, action?: WebhookAction) {
    return this.busy !== null && this.busy.id === id && (action === undefined || this.busy.action === action);
  }

  /** One action at a time; then the list is read again. */
  async #act(id: string, action: WebhookAction, run: () => Promise<void>, inDialog = false, noticeId = id): Promise<boolean> {
    if (this.busy) return false;
    this.busy = { id, action };
    this.dialogError = null;
    delete this.notices[noticeId];
    try {
      await run();
      return true;
    } catch (e) {
      const text = e instanceof ApiError && e.status === 400 ? sentence(e.message) : errorMessage(e);
      if (inDialog) this.dialogError = text;
      else this.notices[noticeId] = { ok: false, text };
      return false;
    } finally {
      await this.load(true);
      this.busy = null;
    }
  }

  #replace(w: Webhook) {
    const i = this.items.findIndex((x) => x.id === w.id);
    if (i >= 0) this.items[i] = w;
  }
}
