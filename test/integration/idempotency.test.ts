import { createHash } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeIdempotencyKeys } from '../../server/adapters/db/idempotency.ts';
import { createRedis } from '../../server/adapters/redis/redis.ts';
import type { Context } from '../../server/context.ts';
import type { App } from '../../server/http/app.ts';
import { handlers } from '../../workers/handlers.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

/**
 * Issue 9 (hardening), Idempotency-Key: the request is compared by its canonical JSON (a reordered or
 * re-spaced body is the same request), keys stored before that change still replay, and keys are purged
 * 24 h after their creation by a periodic worker job, in bounded batches.
 */
const HOUR = 3_600_000;

describe('Idempotency-Key: canonical request hash', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let listingId: string;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { signInPerMinute: 1000 } });
    built = await buildApp(env.cfg);
    f1 = await signIn(built.app, 'forwarder1@demo.test');
    listingId = (await createDepartureWithListing(env.db, { capacityTeu: 40, capacityTonnes: 800, listedTeu: 30 })).listingId;
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const hold = (key: string, body: string) =>
    as(built.app, f1)({ method: 'POST', url: '/api/holds', headers: { 'idempotency-key': key, 'content-type': 'application/json' }, payload: body });

  it('a reordered, re-spaced body with the same key replays the first answer and changes nothing', async () => {
    const first = await hold('reorder-1', JSON.stringify({ listingId, teu: 1, tonnes: 10 }));
    expect(first.statusCode).toBe(201);
    const before = await tableCounts(env.db);
    const reordered = await hold('reorder-1', `{ "tonnes": 10,\n  "teu": 1, "listingId": "${listingId}" }`);
    expect(reordered.statusCode).toBe(201);
    expect(reordered.json()).toEqual(first.json());
    expect(await tableCounts(env.db)).toEqual(before);
    // a different request under that key is still refused, and changes nothing either
    const other = await hold('reorder-1', JSON.stringify({ tonnes: 10, teu: 2, listingId }));
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('idempotency_key_reused');
    expect(await tableCounts(env.db)).toEqual(before);
  });

  it('a retry after its own hold sold the listing out replays the first answer (the key is looked at before capacity)', async () => {
    const small = (await createDepartureWithListing(env.db, { capacityTeu: 40, capacityTonnes: 800, listedTeu: 4 })).listingId;
    const body = JSON.stringify({ listingId: small, teu: 4, tonnes: 40 });
    const first = await hold('sold-out-1', body);
    expect(first.statusCode).toBe(201);
    const before = await tableCounts(env.db);
    const retry = await hold('sold-out-1', body);
    expect(retry.statusCode).toBe(201);
    expect(retry.json()).toEqual(first.json());
    expect(await tableCounts(env.db)).toEqual(before);
    // without the key (or under another) the same request is a new one, and the listing is sold out
    const fresh = await hold('sold-out-2', body);
    expect(fresh.statusCode).toBe(409);
  });

  // an integrator's check against API.md: a refused hold's key was given up, and after capacity was freed the same
  // key made a new hold. A key now keeps a refusal that decided on the request (not a 400, 401/403, 429 or 5xx).
  it('a refusal is the first answer too: the same key after the state changed gets it again and changes nothing', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 40, capacityTonnes: 800, listedTeu: 2 });
    const body = JSON.stringify({ listingId: d.listingId, teu: 3, tonnes: 30 });
    const first = await hold('refused-1', body);
    expect(first.statusCode).toBe(409);
    expect(first.json().error.code).toBe('insufficient_capacity');
    await env.db.updateTable('listings').set({ teu: 10, remaining_teu: 10 }).where('id', '=', d.listingId).execute();
    const before = await tableCounts(env.db);
    const repeat = await hold('refused-1', body);
    expect(repeat.statusCode).toBe(409);
    expect(repeat.json()).toEqual(first.json());
    expect(await tableCounts(env.db)).toEqual(before);
    expect((await hold('refused-1', JSON.stringify({ listingId: d.listingId, teu: 1, tonnes: 10 }))).json().error.code).toBe('idempotency_key_reused');
    expect((await hold('refused-2', body)).statusCode).toBe(201); // the same request under a new key is a new one
    // a confirm refused (the hold expired) keeps its refusal too; a request refused as invalid (400) keeps nothing
    const h = await hold('confirm-src', JSON.stringify({ listingId: d.listingId, teu: 1, tonnes: 10 }));
    expect(h.statusCode).toBe(201);
    await env.db.updateTable('holds').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', h.json().id).execute();
    const confirm = () => as(built.app, f1)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, headers: { 'idempotency-key': 'confirm-1' }, payload: {} });
    const c1 = await confirm();
    expect(c1.statusCode).toBe(409);
    expect(c1.json().error.code).toBe('hold_expired');
    expect((await confirm()).json()).toEqual(c1.json());
    const invalid = await hold('invalid-1', JSON.stringify({ listingId: d.listingId, teu: 0, tonnes: 10 }));
    expect(invalid.statusCode).toBe(400);
    expect(await env.db.selectFrom('idempotency_keys').select('key').where('key', '=', 'invalid-1').execute()).toEqual([]);
  });

  // an outside test: a retry of a hold that succeeded got 409 past_cutoff (the checks ran before the key was looked at)
  it('a retry of a hold that succeeded replays it after its listing closed; a "not open yet" refusal is not kept', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 40, capacityTonnes: 800, listedTeu: 10 });
    const body = JSON.stringify({ listingId: d.listingId, teu: 1, tonnes: 10 });
    const first = await hold('closed-later-1', body);
    expect(first.statusCode).toBe(201);
    await env.db.updateTable('listings').set({ status: 'cancelled' }).where('id', '=', d.listingId).execute();
    await env.db.updateTable('departures').set({ cutoff_at: new Date(Date.now() - 1000) }).where('id', '=', d.departureId).execute();
    const retry = await hold('closed-later-1', body);
    expect(retry.statusCode).toBe(201);
    expect(retry.json()).toEqual(first.json());
    expect((await hold('closed-later-1', JSON.stringify({ listingId: d.listingId, teu: 2, tonnes: 20 }))).json().error.code).toBe('idempotency_key_reused');
    expect((await hold('closed-later-2', body)).statusCode).toBe(409); // a new request is decided on the state now

    const later = await createDepartureWithListing(env.db, { capacityTeu: 40, capacityTonnes: 800, listedTeu: 10 });
    await env.db.updateTable('listings').set({ opens_at: new Date(Date.now() + 3_600_000) }).where('id', '=', later.listingId).execute();
    const early = JSON.stringify({ listingId: later.listingId, teu: 1, tonnes: 10 });
    const tooEarly = await hold('early-1', early);
    expect(tooEarly.statusCode).toBe(409);
    expect(tooEarly.json().error.code).toBe('listing_not_open');
    // not kept: the key stays free for the retry the refusal invites (at the time it names)
    expect(await env.db.selectFrom('idempotency_keys').select('key').where('key', '=', 'early-1').execute()).toEqual([]);
  });

  it('a key stored before canonical hashing (old hash: the body in arrival order) still replays its own request', async () => {
    const body = { tonnes: 10, teu: 1, listingId }; // not in sorted order: old and new hashes differ
    const first = await hold('legacy-1', JSON.stringify(body));
    expect(first.statusCode).toBe(201);
    const route = 'POST /api/holds';
    const oldHash = createHash('sha256').update(`${route}\n${JSON.stringify(body)}`).digest('hex');
    const row = await env.db.selectFrom('idempotency_keys').select('request_hash').where('key', '=', 'legacy-1').executeTakeFirstOrThrow();
    expect(row.request_hash).not.toBe(oldHash);
    await env.db.updateTable('idempotency_keys').set({ request_hash: oldHash }).where('key', '=', 'legacy-1').execute(); // as an old server stored it
    const before = await tableCounts(env.db);
    const again = await hold('legacy-1', JSON.stringify(body));
    expect(again.statusCode).toBe(201);
    expect(again.json().id).toBe(first.json().id);
    const other = await hold('legacy-1', JSON.stringify({ ...body, teu: 2 }));
    expect(other.statusCode).toBe(409);
    expect(await tableCounts(env.db)).toEqual(before);
  });
});

describe('Idempotency-Key purge (24 h)', () => {
  let env: TestEnv;
  let orgId: string;

  beforeAll(async () => {
    env = await createTestEnv();
    orgId = (await env.db.selectFrom('organisations').select('id').where('slug', '=', 'forwarder1').executeTakeFirstOrThrow()).id;
  });
  afterAll(() => env?.cleanup());

  async function insertKeys(prefix: string, count: number, ageMs: number) {
    await sql`
      insert into idempotency_keys (org_id, key, route, request_hash, status_code, response, created_at)
      select ${orgId}, ${prefix} || g, 'POST /api/holds', 'h', 201, '{}'::jsonb, now() - (${ageMs} * interval '1 millisecond')
        from generate_series(1, ${count}) g`.execute(env.db);
  }
  const count = async (prefix: string) =>
    (await sql<{ n: number }>`select count(*)::int as n from idempotency_keys where key like ${`${prefix}%`}`.execute(env.db)).rows[0]!.n;

  it('deletes keys older than 24 h, oldest first, in bounded batches; younger keys stay; a second run deletes nothing', async () => {
    await insertKeys('old-', 2_500, 25 * HOUR);
    await insertKeys('young-', 10, 23 * HOUR);
    await insertKeys('new-', 10, 0);
    const first = await purgeIdempotencyKeys(env.db, { batch: 1000 });
    expect(first).toEqual({ deleted: 2_500, batches: 3, more: false });
    expect(await count('old-')).toBe(0);
    expect(await count('young-')).toBe(10);
    expect(await count('new-')).toBe(10);
    expect(await purgeIdempotencyKeys(env.db, { batch: 1000 })).toEqual({ deleted: 0, batches: 1, more: false });
  });

  it('stops after maxBatches and says there is more (the next run goes on)', async () => {
    await insertKeys('backlog-', 350, 30 * HOUR);
    expect(await purgeIdempotencyKeys(env.db, { batch: 100, maxBatches: 2 })).toEqual({ deleted: 200, batches: 2, more: true });
    expect(await count('backlog-')).toBe(150);
    expect(await purgeIdempotencyKeys(env.db, { batch: 100 })).toMatchObject({ deleted: 150, more: false });
  });

  it('skips rows a running request holds locked instead of waiting for them', async () => {
    await insertKeys('locked-', 3, 26 * HOUR);
    const tx = await env.db.connection().execute(async (conn) => {
      await sql`begin`.execute(conn);
      await sql`select key from idempotency_keys where key = 'locked-1' for update`.execute(conn);
      try {
        return await purgeIdempotencyKeys(env.db, { batch: 10 });
      } finally {
        await sql`rollback`.execute(conn);
      }
    });
    expect(tx.deleted).toBe(2);
    expect(await count('locked-')).toBe(1);
    expect((await purgeIdempotencyKeys(env.db)).deleted).toBe(1);
  });

  it('the idempotency.purge job runs it (handler), and a worker schedules it and runs it at start-up', async () => {
    await insertKeys('job-', 5, 48 * HOUR);
    expect(await handlers['idempotency.purge']({}, { db: env.db } as Context, {} as Job)).toMatchObject({ deleted: 5 });
    await insertKeys('worker-', 5, 48 * HOUR);
    await insertKeys('worker-fresh-', 2, HOUR);
    const conn = createRedis(env.cfg.redisUrl, { forBullmq: true, name: 'test-purge-probe' });
    const queue = new Queue('maintenance', { connection: conn, prefix: `${env.cfg.redisPrefix}bull` });
    const runtime = await startWorkers(env.cfg, { info: () => {}, error: () => {} });
    try {
      for (let i = 0; i < 200 && (await count('worker-')) !== 2; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await count('worker-')).toBe(2); // only the fresh ones are left
      expect(await count('worker-fresh-')).toBe(2);
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => s.name)).toContain('idempotency.purge');
    } finally {
      await runtime.close(5000);
      await queue.close();
      conn.disconnect();
    }
  });
});
