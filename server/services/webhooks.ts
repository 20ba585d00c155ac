import { randomBytes } from 'node:crypto';
import { audit } from '../adapters/db/audit.ts';
import { inTransaction, type Db } from '../adapters/db/db.ts';
import { kickOutbox } from '../adapters/db/outbox.ts';
import { deliveriesOfEndpoint, deliveryOfEndpoint, insertRedelivery, makeDueNow, recordPing } from '../adapters/db/webhook-events-repo.ts';
import {
  countEndpointsOfOrg, deleteEndpoint, endpointOfOrg, endpointsOfOrg, insertEndpoint, lockEndpointOfOrg, rotateSecret, updateEndpoint,
  type EndpointChange,
} from '../adapters/db/webhooks-repo.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import { resolveAllowed } from '../adapters/webhooks/sender.ts';
import type { WebhookConfig } from '../config.ts';
import { checkWebhookUrl } from '../core/webhooks-address.ts';
import { badRequest, conflict, notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import { lockTeamAsAdmin } from './admin-guard.ts';
import {
  MAX_WEBHOOKS_PER_ORG, type Accepted, type NewWebhookBody, type PatchWebhookBody, type RotatedSecret, type RotateSecretBody, type Webhook,
  type WebhookCreated, type WebhookDelivery,
} from '../domain/schemas/webhooks.ts';

type EndpointView = NonNullable<Awaited<ReturnType<typeof endpointOfOrg>>>;

function toWebhook(r: EndpointView): Webhook {
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    description: r.description,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    disabledAt: r.disabled_at?.toISOString() ?? null,
    consecutiveFailures: r.consecutive_failures,
    previousSecretExpiresAt: r.previous_secret_expires_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
  };
}

/** A new signing secret: `whsec_` and 256 random bits (base64url). */
const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

/**
 * Webhook endpoints of an organisation, for its admins (API.md "Webhooks"; issue 15): register (the secret is
 * answered once), list, change, enable / disable, delete, rotate the secret with an overlap, ping, the delivery log
 * and redelivery. Another organisation's endpoint is 404. Secrets never reach the audit log.
 */
export class WebhooksService {
  constructor(
    private readonly db: Db,
    private readonly queues: Queues | null,
    private readonly cfg: WebhookConfig,
  ) {}

  /** The URL rules, then DNS: every answer of the host must be an allowed address (checked again at each delivery). */
  private async checkUrl(raw: string): Promise<string> {
    const c = checkWebhookUrl(raw, this.cfg);
    if (!c.ok) throw badRequest(c.code, c.message);
    if (!c.ip) {
      const r = await resolveAllowed(c.hostname, this.cfg);
      if (!r.ok) throw badRequest('address_not_allowed', `deliveries there are not allowed: ${r.reason}`);
    }
    return c.url.toString();
  }

  private async owned(p: Principal, id: string): Promise<EndpointView> {
    policy.requireAdmin(p);
    const ep = await endpointOfOrg(this.db, id, p.orgId);
    if (!ep) throw notFound('webhook');
    return ep;
  }

  /** POST /api/webhooks */
  async create(p: Principal, input: NewWebhookBody, ip?: string): Promise<WebhookCreated> {
    policy.requireAdmin(p);
    const url = await this.checkUrl(input.url);
    const secret = newSecret();
    const events = [...new Set(input.events)];
    return inTransaction(this.db, async (tx) => {
      await lockTeamAsAdmin(tx, p);
      if ((await countEndpointsOfOrg(tx, p.orgId)) >= MAX_WEBHOOKS_PER_ORG) {
        throw conflict('too_many_webhooks', `an organisation may register at most ${MAX_WEBHOOKS_PER_ORG} webhook endpoints`);
      }
      const row = await insertEndpoint(tx, { org_id: p.orgId, url, events, description: input.description ?? null, secret, created_by: p.userId });
      await audit(tx, p, 'webhook.create', { type: 'webhook', id: row.id }, { url, events }, ip);
      return { ...toWebhook(row), secret };
    });
  }

  /** GET /api/webhooks */
  async list(p: Principal): Promise<Webhook[]> {
    policy.requireAdmin(p);
    return (await endpointsOfOrg(this.db, p.orgId)).map(toWebhook);
  }

  /** PATCH /api/webhooks/:id — url, events, description, enabled (enabling clears the failure streak). */
  async update(p: Principal, id: string, input: PatchWebhookBody, ip?: string): Promise<Webhook> {
    await this.owned(p, id);
    const change: EndpointChange = {};
    if (input.url !== undefined) change.url = await this.checkUrl(input.url);
    if (input.events !== undefined) change.events = [...new Set(input.events)];
    if (input.description !== undefined) change.description = input.description === '' ? null : input.description;
    if (input.enabled !== undefined) change.enabled = input.enabled;
    return inTransaction(this.db, async (tx) => {
      await lockTeamAsAdmin(tx, p);
      const cur = await lockEndpointOfOrg(tx, id, p.orgId);
      if (!cur) throw notFound('webhook');
      if (change.enabled === cur.enabled) delete change.enabled;
      const row = await updateEndpoint(tx, id, change);
      await audit(tx, p, 'webhook.update', { type: 'webhook', id }, { ...change }, ip);
      return toWebhook(row);
    });
  }

  /** DELETE /api/webhooks/:id — the endpoint and its delivery log. */
  async remove(p: Principal, id: string, ip?: string): Promise<void> {
    policy.requireAdmin(p);
    await inTransaction(this.db, async (tx) => {
      await lockTeamAsAdmin(tx, p);
      if (!(await deleteEndpoint(tx, id, p.orgId))) throw notFound('webhook');
      await audit(tx, p, 'webhook.delete', { type: 'webhook', id }, undefined, ip);
    });
  }

  /** POST /api/webhooks/:id/rotate-secret — a new secret; the old one signs too for `overlapHours` (default 24). */
  async rotate(p: Principal, id: string, input: RotateSecretBody, ip?: string, now = new Date()): Promise<RotatedSecret> {
    await this.owned(p, id);
    const hours = input.overlapHours ?? 24;
    const secret = newSecret();
    return inTransaction(this.db, async (tx) => {
      await lockTeamAsAdmin(tx, p);
      if (!(await lockEndpointOfOrg(tx, id, p.orgId))) throw notFound('webhook');
      const row = await rotateSecret(tx, id, secret, hours > 0 ? new Date(now.getTime() + hours * 3_600_000) : null);
      await audit(tx, p, 'webhook.rotate_secret', { type: 'webhook', id }, { overlapHours: hours }, ip);
      return { secret, previousSecretExpiresAt: row.previous_secret_expires_at?.toISOString() ?? null };
    });
  }

  /** POST /api/webhooks/:id/ping — a `ping` event to this endpoint (202). */
  async ping(p: Principal, id: string): Promise<Accepted> {
    // the endpoint is locked in the transaction that records the ping: deleted at the same moment, it is a 404 (the
    // insert of its delivery used to fail on the foreign key: a 500)
    const r = await inTransaction(this.db, async (tx) => {
      await lockTeamAsAdmin(tx, p);
      const ep = await lockEndpointOfOrg(tx, id, p.orgId);
      if (!ep) throw notFound('webhook');
      if (!ep.enabled) throw conflict('webhook_disabled', 'this webhook is disabled; enable it first');
      return recordPing(tx, id, p.orgId);
    });
    kickOutbox(this.db, this.queues);
    return r;
  }

  /** GET /api/webhooks/:id/deliveries — the delivery log, newest first. */
  async deliveries(p: Principal, id: string, limit = 100): Promise<WebhookDelivery[]> {
    await this.owned(p, id);
    const rows = await deliveriesOfEndpoint(this.db, id, limit);
    return rows.map((d) => ({
      id: d.id,
      eventId: d.event_id,
      type: d.type,
      status: d.status,
      responseCode: d.response_code,
      durationMs: d.duration_ms,
      attempts: d.attempts,
      nextAttemptAt: d.status === 'pending' ? d.next_attempt_at.toISOString() : null,
      createdAt: d.created_at.toISOString(),
      finishedAt: d.finished_at?.toISOString() ?? null,
      lastError: d.last_error,
      responseBody: d.response_body,
      redeliveryOf: d.redelivery_of,
    }));
  }

  /**
   * POST /api/webhooks/:id/deliveries/:deliveryId/redeliver (202): a finished delivery is sent again (a new delivery
   * of the same event, same id); a pending one is tried now; one in flight is left to finish.
   */
  async redeliver(p: Principal, id: string, deliveryId: string, ip?: string): Promise<Accepted> {
    const r = await inTransaction(this.db, async (tx) => {
      await lockTeamAsAdmin(tx, p);
      const ep = await lockEndpointOfOrg(tx, id, p.orgId); // as in ping: a concurrent delete makes this a 404, not a 500
      if (!ep) throw notFound('webhook');
      if (!ep.enabled) throw conflict('webhook_disabled', 'this webhook is disabled; enable it first');
      const d = await deliveryOfEndpoint(tx, id, deliveryId);
      if (!d) throw notFound('delivery');
      if (d.status === 'delivering') return { deliveryId: d.id, eventId: d.event_id };
      if (d.status === 'pending' && (await makeDueNow(tx, d.id))) return { deliveryId: d.id, eventId: d.event_id };
      const newId = await insertRedelivery(tx, d);
      await audit(tx, p, 'webhook.redeliver', { type: 'webhook', id }, { deliveryId, redeliveryId: newId, eventId: d.event_id }, ip);
      return { deliveryId: newId, eventId: d.event_id };
    });
    kickOutbox(this.db, this.queues);
    return r;
  }
}
