import { audit } from '../adapters/db/audit.ts';
import { inTransaction, type Db } from '../adapters/db/db.ts';
import { kickOutbox } from '../adapters/db/outbox.ts';
import { claimDelivery, finishAttempt, releaseNextOfObject, rescheduleStale, type AttemptOutcome, type ClaimedDelivery } from '../adapters/db/webhook-events-repo.ts';
import { disableFailingEndpoint, endpointFailed, endpointSucceeded } from '../adapters/db/webhooks-repo.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import { webhookDisabledEvent, type EventSink } from '../adapters/realtime/events.ts';
import { postWebhook, type SendResult } from '../adapters/webhooks/sender.ts';
import type { WebhookConfig } from '../config.ts';
import { retryDelayMs, shouldDisable, signatureHeader, signingSecrets, webhookBody } from '../core/webhooks.ts';

export type DeliverOutcome =
  | { done: false; reason: 'not_claimed' | 'lease_lost' }
  | { done: true; status: 'succeeded' | 'failed' | 'retrying'; attempts: number; responseCode: number | null; disabled: boolean };

/**
 * Delivery of webhook events (the `webhook.deliver` job; issue 15). At least once, with a stable event id: a
 * delivery is claimed (leased) in Postgres, POSTed, and its outcome recorded only if the claim still holds; a
 * worker that dies mid-attempt leaves a lease that expires, and the sweep gives it a new job. Retries follow the
 * exponential schedule with jitter (core/webhooks.ts) and end `failed`; an endpoint failing long enough is disabled
 * (audit entry + `webhook:disabled` to its organisation). Per endpoint and object, `seq` order is kept: a delivery
 * waits until every earlier one of the same object has succeeded or failed, which hands it its job.
 */
export class WebhookDelivery {
  constructor(
    private readonly db: Db,
    private readonly queues: Queues | null,
    private readonly events: EventSink,
    private readonly cfg: WebhookConfig,
    /** Seam for tests: the HTTP attempt. */
    private readonly send: typeof postWebhook = postWebhook,
  ) {}

  /** A lease outlives any attempt (the attempt's time limit bounds it) with room to record the outcome. */
  private get leaseMs() {
    return 2 * this.cfg.timeoutMs + 1000;
  }

  async deliver(deliveryId: string, gen: number, now = () => new Date()): Promise<DeliverOutcome> {
    const c = await claimDelivery(this.db, deliveryId, gen, this.leaseMs);
    if (!c) return { done: false, reason: 'not_claimed' };
    const result = c.enabled || c.type === 'ping' ? await this.attempt(c, now()) : disabledResult();
    return this.record(c, result);
  }

  private attempt(c: ClaimedDelivery, at: Date): Promise<SendResult> {
    const body = webhookBody({ id: c.event_id, type: c.type, createdAt: c.event_created_at, data: c.data });
    const secrets = signingSecrets({ secret: c.secret, previousSecret: c.previous_secret, previousSecretExpiresAt: c.previous_secret_expires_at }, at);
    const headers = {
      'cx-event-id': c.event_id,
      'cx-event-type': c.type,
      'cx-delivery-id': c.id,
      'cx-signature': signatureHeader(secrets, at.getTime(), body),
    };
    return this.send(c.url, body, headers, { timeoutMs: this.cfg.timeoutMs, rules: this.cfg });
  }

  private async record(c: ClaimedDelivery, r: SendResult): Promise<DeliverOutcome> {
    const outcome: AttemptOutcome = { responseCode: r.status, durationMs: r.durationMs, responseBody: r.body, error: r.error };
    const disabledNow = !c.enabled && c.type !== 'ping';
    const delay = r.ok || disabledNow ? null : retryDelayMs({ baseMs: this.cfg.retryBaseMs, maxMs: this.cfg.retryMaxMs, maxAttempts: this.cfg.maxAttempts }, c.attempts, Math.random());
    const next = r.ok ? 'succeeded' : delay === null ? 'failed' : { retryInMs: delay };
    const out = await inTransaction(this.db, async (tx) => {
      if (!(await finishAttempt(tx, c, outcome, next))) return null;
      if (typeof next === 'string') await releaseNextOfObject(tx, c);
      let disabled: { orgId: string; url: string; failures: number } | null = null;
      if (r.ok) await endpointSucceeded(tx, c.endpoint_id);
      else if (!disabledNow) {
        const ep = await endpointFailed(tx, c.endpoint_id);
        const limits = { afterFailures: this.cfg.disableAfterFailures, afterMs: this.cfg.disableAfterMs };
        if (ep && ep.enabled && shouldDisable(ep.consecutive_failures, ep.failing_since, ep.now, limits) && (await disableFailingEndpoint(tx, c.endpoint_id))) {
          await audit(tx, null, 'webhook.disable', { type: 'webhook', id: c.endpoint_id }, { reason: 'failing', consecutiveFailures: ep.consecutive_failures, failingSince: ep.failing_since });
          disabled = { orgId: ep.org_id, url: ep.url, failures: ep.consecutive_failures };
        }
      }
      return { disabled };
    });
    if (!out) return { done: false, reason: 'lease_lost' };
    kickOutbox(this.db, this.queues);
    if (out.disabled) {
      await this.events.emit([webhookDisabledEvent(out.disabled.orgId, { webhookId: c.endpoint_id, url: out.disabled.url, consecutiveFailures: out.disabled.failures })]).catch(() => {});
    }
    return {
      done: true,
      status: typeof next === 'string' ? next : 'retrying',
      attempts: c.attempts,
      responseCode: r.status,
      disabled: !!out.disabled,
    };
  }

  /** The `webhooks.sweep` job: deliveries whose job was lost or whose worker died get a new job. */
  async sweep(): Promise<{ rescheduled: number }> {
    const rescheduled = await rescheduleStale(this.db, Math.max(5000, this.cfg.sweepMs));
    if (rescheduled) kickOutbox(this.db, this.queues);
    return { rescheduled };
  }
}

function disabledResult(): SendResult {
  return { ok: false, status: null, durationMs: 0, body: null, error: 'endpoint disabled: not sent' };
}
