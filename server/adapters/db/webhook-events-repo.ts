import { sql } from 'kysely';
import type { Db, Tx } from './db.ts';

/**
 * The webhook event outbox and the deliveries (issue 15). Events are written in the caller's transaction, with
 * their deliveries and the delivery jobs (rows of the job outbox, drained into BullMQ after commit), in one
 * statement — and nothing at all when the organisation has no enabled endpoint subscribed to the type.
 */

export interface WebhookEventInput {
  orgId: string;
  type: string;
  /** The object the event is about, e.g. `booking:<id>`: deliveries of one object to one endpoint keep `seq` order. */
  objectKey: string;
  data: unknown;
}

/** Job id of a delivery's `webhook.deliver` job of generation `gen` (a new generation per re-schedule). */
export const deliveryJobId = (deliveryId: string, gen: number) => `webhook.deliver-${deliveryId}-${gen}`;

/** Only open (pending, delivering) first deliveries of an earlier `seq` of the same object hold a delivery back. */
const BLOCKED = (d: string) => sql`(${sql.ref(`${d}.redelivery_of`)} is null and exists (
  select 1 from webhook_deliveries p
   where p.endpoint_id = ${sql.ref(`${d}.endpoint_id`)} and p.object_key = ${sql.ref(`${d}.object_key`)} and p.seq < ${sql.ref(`${d}.seq`)}
     and p.status in ('pending', 'delivering') and p.redelivery_of is null))`;

/**
 * Records events for the organisations subscribed to them, in the caller's transaction: one INSERT … SELECT with
 * CTEs (event rows, one delivery per enabled subscribed endpoint, one outbox row per delivery, job id from the event
 * id and the endpoint id). An event nobody subscribed to writes nothing. `seq` continues the object's sequence
 * (changes of one object are serialised by its own row locks, so commit order is seq order).
 */
export async function recordWebhookEvents(tx: Db | Tx, all: WebhookEventInput[]): Promise<void> {
  if (all.length === 0) return;
  // most organisations subscribe to nothing: their events are left out before any is serialised (the statement below
  // checks the subscriptions again, as it writes)
  const subs = await sql<{ org_id: string; events: string[] }>`
    select org_id, events from webhook_endpoints where enabled and org_id = any(${[...new Set(all.map((e) => e.orgId))]}::uuid[])`.execute(tx);
  const events = all.filter((e) => subs.rows.some((s) => s.org_id === e.orgId && s.events.includes(e.type)));
  if (events.length === 0) return;
  const input = JSON.stringify(events.map((e, i) => ({ org_id: e.orgId, type: e.type, object_key: e.objectKey, data: e.data ?? {}, ord: i })));
  await sql`
    with input as (
      select * from jsonb_to_recordset(${input}::jsonb) as x(org_id uuid, type text, object_key text, data jsonb, ord int)
    ), wanted as (
      select i.* from input i
       where exists (select 1 from webhook_endpoints e where e.org_id = i.org_id and e.enabled and i.type = any(e.events))
    ), ev as (
      insert into webhook_events (org_id, type, object_key, seq, data)
      select w.org_id, w.type, w.object_key,
             coalesce((select max(p.seq) from webhook_events p where p.object_key = w.object_key), 0)
               + row_number() over (partition by w.object_key order by w.ord),
             w.data
        from wanted w
      returning id, org_id, type, object_key, seq
    ), dl as (
      insert into webhook_deliveries (endpoint_id, event_id, object_key, seq)
      select e.id, ev.id, ev.object_key, ev.seq
        from ev join webhook_endpoints e on e.org_id = ev.org_id and e.enabled and ev.type = any(e.events)
      returning id, endpoint_id, event_id
    )
    insert into outbox (job_name, job_id, data)
    select 'webhook.deliver', 'webhook.deliver-' || dl.event_id || '-' || dl.endpoint_id || '-0', jsonb_build_object('deliveryId', dl.id, 'gen', 0)
      from dl
    on conflict (job_id) do nothing`.execute(tx);
}

/** A `ping` event to one endpoint (whatever it subscribed to), its delivery and its job; the ids. */
export async function recordPing(tx: Tx, endpointId: string, orgId: string): Promise<{ eventId: string; deliveryId: string }> {
  const key = `ping:${endpointId}`;
  const r = await sql<{ event_id: string; delivery_id: string }>`
    with ev as (
      insert into webhook_events (org_id, type, object_key, seq, data)
      select ${orgId}::uuid, 'ping', ${key}, coalesce((select max(seq) from webhook_events where object_key = ${key}), 0) + 1,
             jsonb_build_object('webhookId', ${endpointId}::uuid)
      returning id, object_key, seq
    ), dl as (
      insert into webhook_deliveries (endpoint_id, event_id, object_key, seq)
      select ${endpointId}::uuid, ev.id, ev.object_key, ev.seq from ev
      returning id, event_id
    ), job as (
      insert into outbox (job_name, job_id, data)
      select 'webhook.deliver', 'webhook.deliver-' || dl.event_id || '-' || ${endpointId} || '-0', jsonb_build_object('deliveryId', dl.id, 'gen', 0) from dl
    )
    select dl.event_id, dl.id as delivery_id from dl`.execute(tx);
  const row = r.rows[0]!;
  return { eventId: row.event_id, deliveryId: row.delivery_id };
}

/** Another delivery of a delivery's event to its endpoint (a manual redelivery) and its job; its id. */
export async function insertRedelivery(tx: Tx, of: { id: string; endpoint_id: string; event_id: string; object_key: string; seq: number }): Promise<string> {
  const d = await tx
    .insertInto('webhook_deliveries')
    .values({ endpoint_id: of.endpoint_id, event_id: of.event_id, object_key: of.object_key, seq: of.seq, redelivery_of: of.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  await scheduleJob(tx, d.id, 0, null);
  return d.id;
}

/** Writes the outbox row of a delivery's job of generation `gen` (due at `runAt`, or now). */
async function scheduleJob(tx: Tx, deliveryId: string, gen: number, runAt: Date | null): Promise<void> {
  await tx
    .insertInto('outbox')
    .values({ job_name: 'webhook.deliver', job_id: deliveryJobId(deliveryId, gen), data: JSON.stringify({ deliveryId, gen }), ...(runAt ? { run_at: runAt } : {}) })
    .onConflict((oc) => oc.column('job_id').doNothing())
    .execute();
}

/** A pending delivery becomes due now with a new job (a redelivery asked for while it waits for its next attempt). */
export async function makeDueNow(tx: Tx, deliveryId: string): Promise<boolean> {
  const r = await tx
    .updateTable('webhook_deliveries')
    .set({ next_attempt_at: sql`now()`, job_gen: sql`job_gen + 1`, updated_at: sql`now()` })
    .where('id', '=', deliveryId)
    .where('status', '=', 'pending')
    .returning(['id', 'job_gen'])
    .executeTakeFirst();
  if (r) await scheduleJob(tx, r.id, r.job_gen, null);
  return !!r;
}

/** What a worker needs for one attempt, with the claim's `attempts` (its fencing number). */
export interface ClaimedDelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  object_key: string;
  seq: number;
  attempts: number;
  url: string;
  enabled: boolean;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  type: string;
  data: unknown;
  event_created_at: Date;
}

/**
 * Claims a delivery for one attempt: pending and either this job's generation or due, or delivering with an expired
 * lease (its worker died), and not held back by an open earlier `seq` of the same object to the same endpoint.
 * Leased for `leaseMs`; `attempts` counts the attempt. Undefined when there is nothing to do (done, not due, held
 * back, or another worker has it): duplicate and stale jobs are no-ops.
 */
export async function claimDelivery(db: Db, deliveryId: string, gen: number, leaseMs: number): Promise<ClaimedDelivery | undefined> {
  const r = await sql<ClaimedDelivery>`
    update webhook_deliveries d
       set status = 'delivering', attempts = d.attempts + 1, lease_until = now() + ${`${leaseMs} milliseconds`}::interval, updated_at = now()
      from webhook_endpoints e, webhook_events ev
     where d.id = ${deliveryId} and e.id = d.endpoint_id and ev.id = d.event_id
       and ((d.status = 'pending' and (d.job_gen = ${gen} or d.next_attempt_at <= now())) or (d.status = 'delivering' and d.lease_until < now()))
       and not ${BLOCKED('d')}
    returning d.id, d.endpoint_id, d.event_id, d.object_key, d.seq, d.attempts, e.url, e.enabled, e.secret, e.previous_secret,
              e.previous_secret_expires_at, ev.type, ev.data, ev.created_at as event_created_at`.execute(db);
  return r.rows[0];
}

export interface AttemptOutcome {
  responseCode: number | null;
  durationMs: number | null;
  responseBody: string | null;
  error: string | null;
}

/**
 * Records an attempt's outcome if the claim still holds (same `attempts`, still delivering): `succeeded`, `failed`,
 * or pending again with the next attempt at now + `retryInMs` and its job. False when the lease was lost.
 */
export async function finishAttempt(tx: Tx, c: Pick<ClaimedDelivery, 'id' | 'attempts'>, o: AttemptOutcome, next: 'succeeded' | 'failed' | { retryInMs: number }): Promise<boolean> {
  const common = {
    response_code: o.responseCode, duration_ms: o.durationMs, response_body: o.responseBody, last_error: o.error, lease_until: null, updated_at: sql`now()`,
  } as const;
  const set =
    typeof next === 'string'
      ? { ...common, status: next, finished_at: sql`now()` }
      : { ...common, status: 'pending' as const, job_gen: sql`job_gen + 1`, next_attempt_at: sql`now() + ${`${next.retryInMs} milliseconds`}::interval` };
  const r = await tx
    .updateTable('webhook_deliveries')
    .set(set as never)
    .where('id', '=', c.id)
    .where('status', '=', 'delivering')
    .where('attempts', '=', c.attempts)
    .returning(['job_gen', 'next_attempt_at'])
    .executeTakeFirst();
  if (!r) return false;
  if (typeof next !== 'string') await scheduleJob(tx, c.id, r.job_gen, r.next_attempt_at);
  return true;
}

/** After a delivery ended: the next open first delivery of the same object to the same endpoint gets a job now. */
export async function releaseNextOfObject(tx: Tx, c: Pick<ClaimedDelivery, 'endpoint_id' | 'object_key' | 'seq'>): Promise<void> {
  const r = await sql<{ id: string; job_gen: number }>`
    update webhook_deliveries d set job_gen = d.job_gen + 1, updated_at = now()
     where d.id = (select n.id from webhook_deliveries n
                    where n.endpoint_id = ${c.endpoint_id} and n.object_key = ${c.object_key} and n.seq > ${c.seq}
                      and n.status = 'pending' and n.redelivery_of is null
                    order by n.seq limit 1)
    returning d.id, d.job_gen`.execute(tx);
  for (const row of r.rows) await scheduleJob(tx, row.id, row.job_gen, null);
}

/**
 * The safety net (a lost job, a worker that died mid-delivery): every open delivery that is due for longer than
 * `graceMs`, or whose lease expired, and is not held back, gets a job of a new generation. One statement; the
 * number re-scheduled.
 */
export async function rescheduleStale(db: Db, graceMs: number, limit = 500): Promise<number> {
  const r = await sql<{ n: number }>`
    with due as (
      select d.id from webhook_deliveries d
       where d.status in ('pending', 'delivering')
         and ((d.status = 'pending' and d.next_attempt_at < now() - ${`${graceMs} milliseconds`}::interval)
              or (d.status = 'delivering' and d.lease_until < now()))
         and not ${BLOCKED('d')}
       order by d.next_attempt_at
       limit ${limit}
       for update skip locked
    ), bumped as (
      update webhook_deliveries d set job_gen = d.job_gen + 1 from due where d.id = due.id returning d.id, d.job_gen
    ), jobs as (
      insert into outbox (job_name, job_id, data)
      select 'webhook.deliver', 'webhook.deliver-' || b.id || '-' || b.job_gen, jsonb_build_object('deliveryId', b.id, 'gen', b.job_gen) from bumped b
      on conflict (job_id) do nothing
      returning 1
    )
    select count(*)::int as n from jobs`.execute(db);
  return r.rows[0]?.n ?? 0;
}

/** An endpoint's deliveries, newest first, with their event's type. */
export function deliveriesOfEndpoint(db: Db, endpointId: string, limit: number) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .select([
      'd.id', 'd.event_id', 'e.type', 'd.status', 'd.response_code', 'd.duration_ms', 'd.attempts', 'd.next_attempt_at', 'd.created_at',
      'd.finished_at', 'd.last_error', 'd.response_body', 'd.redelivery_of', 'd.object_key', 'd.seq',
    ])
    .where('d.endpoint_id', '=', endpointId)
    .orderBy('d.created_at', 'desc')
    .orderBy('d.seq', 'desc')
    .limit(limit)
    .execute();
}

/** One delivery of an endpoint (for a redelivery). */
export function deliveryOfEndpoint(db: Db | Tx, endpointId: string, deliveryId: string) {
  return db
    .selectFrom('webhook_deliveries')
    .select(['id', 'endpoint_id', 'event_id', 'object_key', 'seq', 'status'])
    .where('id', '=', deliveryId)
    .where('endpoint_id', '=', endpointId)
    .executeTakeFirst();
}
