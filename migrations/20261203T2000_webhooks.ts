import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Signed webhooks (issue 15).
// - webhook_endpoints: an organisation's receivers: URL, the event types it wants, a description, enabled or not
//   (and why not: `admin`, or `failing` when it failed for days), the signing secret and, during a rotation's
//   overlap, the previous secret with its expiry (both sign until then). Secrets are stored as they are (HMAC
//   needs them), returned by the API only when created or rotated, and never written to logs or the audit log.
//   `consecutive_failures` / `failing_since`: failed attempts in a row and since when (reset by a success).
// - webhook_events: the event outbox — written in the same transaction as the change that caused it. One row per
//   organisation told (the id is the stable event id receivers de-duplicate on), its type, the object it is about
//   (`object_key`, e.g. `booking:<id>`) and that object's `seq` (1, 2, … in commit order: changes of one object
//   are serialised by its row locks), and the payload.
// - webhook_deliveries: one event to one endpoint: pending → delivering (leased to one worker until
//   `lease_until`) → succeeded | failed, or back to pending with `next_attempt_at` after a failed attempt.
//   `object_key` / `seq` are copied from the event so the per-endpoint ordering check reads one index.
//   `job_gen` numbers the BullMQ jobs of a delivery (each re-schedule gets a new job id).
//   `redelivery_of`: a manual redelivery of an earlier delivery (not held back by, nor holding back, ordering).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('url', 'text', (c) => c.notNull().check(sql`char_length(url) <= 2048`))
    .addColumn('events', sql`text[]`, (c) => c.notNull().check(sql`cardinality(events) between 1 and 50`))
    .addColumn('description', 'text', (c) => c.check(sql`char_length(description) <= 500`))
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('disabled_reason', 'text', (c) => c.check(sql`disabled_reason in ('admin','failing')`))
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('previous_secret', 'text')
    .addColumn('previous_secret_expires_at', 'timestamptz')
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failing_since', 'timestamptz')
    .addColumn('created_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // the hot-path check "has this organisation an enabled endpoint for this type?"
  await sql`create index webhook_endpoints_org_enabled_idx on webhook_endpoints (org_id) where enabled`.execute(db);
  await sql`create index webhook_endpoints_org_idx on webhook_endpoints (org_id, created_at)`.execute(db);

  await db.schema
    .createTable('webhook_events')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('type', 'text', (c) => c.notNull().check(sql`char_length(type) <= 64`))
    .addColumn('object_key', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull().check(sql`seq >= 1`))
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index webhook_events_object_idx on webhook_events (object_key, seq desc)`.execute(db);
  await sql`create index webhook_events_org_idx on webhook_events (org_id, created_at)`.execute(db);

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('endpoint_id', 'uuid', (c) => c.notNull().references('webhook_endpoints.id').onDelete('cascade'))
    .addColumn('event_id', 'uuid', (c) => c.notNull().references('webhook_events.id').onDelete('cascade'))
    .addColumn('object_key', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending','delivering','succeeded','failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('job_gen', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('lease_until', 'timestamptz')
    .addColumn('response_code', 'integer')
    .addColumn('duration_ms', 'integer')
    .addColumn('response_body', 'text', (c) => c.check(sql`char_length(response_body) <= 256`))
    .addColumn('last_error', 'text', (c) => c.check(sql`char_length(last_error) <= 500`))
    .addColumn('redelivery_of', 'uuid', (c) => c.references('webhook_deliveries.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await sql`create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, created_at desc)`.execute(db);
  // ordering: "an earlier seq of this object to this endpoint still open?"; the sweep: open deliveries by time
  await sql`create index webhook_deliveries_open_idx on webhook_deliveries (endpoint_id, object_key, seq) where status in ('pending','delivering')`.execute(db);
  await sql`create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status in ('pending','delivering')`.execute(db);
  await sql`create index webhook_deliveries_event_idx on webhook_deliveries (event_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').execute();
  await db.schema.dropTable('webhook_events').execute();
  await db.schema.dropTable('webhook_endpoints').execute();
}
