import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

/**
 * Holds on many departures at once share transactions (cx_place_holds_multi, departures in id order).
 * Each departure is still decided on its own: exactly its capacity is held, in TEU or in tonnes, and a
 * refusal on one departure never spills into another of the same batch.
 */
describe('group commit of holds across departures', () => {
  let env: TestEnv;
  let built: App;
  let sessions: Session[];

  beforeAll(async () => {
    // every request on one departure comes from the same forwarder (i % 3 with 12 departures): no held-share cap here
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000, holdMaxSharePct: 100 } });
    built = await buildApp(env.cfg);
    sessions = await Promise.all(['forwarder1@demo.test', 'forwarder2@demo.test', 'forwarder3@demo.test'].map((e) => signIn(built.app, e)));
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  it('240 concurrent holds over 12 departures: each gets exactly its capacity (TEU- or tonnes-bound), none more', async () => {
    // departures alternately bound by TEU (7 TEU) and by tonnes (9 TEU room, 50 t = 5 holds of 10 t)
    const deps = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0 ? createDepartureWithListing(env.db, { capacityTeu: 7, capacityTonnes: 1000 }) : createDepartureWithListing(env.db, { capacityTeu: 9, capacityTonnes: 50 }),
      ),
    );
    const res = await Promise.all(
      Array.from({ length: 240 }, (_, i) => {
        const d = deps[i % 12]!;
        return as(built.app, sessions[i % 3]!)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 1, tonnes: 10 } });
      }),
    );
    const codes = res.map((r) => r.statusCode);
    expect(codes.filter((c) => c !== 201 && c !== 409), JSON.stringify(res.find((r) => r.statusCode >= 500)?.body)).toEqual([]);
    for (const [i, d] of deps.entries()) {
      const mine = res.filter((_, k) => k % 12 === i);
      const want = i % 2 === 0 ? 7 : 5;
      expect(mine.filter((r) => r.statusCode === 201)).toHaveLength(want);
      for (const r of mine.filter((x) => x.statusCode === 409)) expect(r.json().error.code).toBe('insufficient_capacity');
      const row = await env.db.selectFrom('departures').select(['held_teu', 'held_tonnes']).where('id', '=', d.departureId).executeTakeFirstOrThrow();
      expect(row).toEqual({ held_teu: want, held_tonnes: want * 10 });
      const holds = await env.db.selectFrom('holds').select(['departure_id', 'listing_id']).where('departure_id', '=', d.departureId).execute();
      expect(holds).toHaveLength(want);
      expect(holds.every((h) => h.listing_id === d.listingId)).toBe(true);
    }
  });

  it('schedules one expiry sweep per second the holds are due in, not a job per hold', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 60, capacityTonnes: 1000, listedTeu: 60 });
    const res = await Promise.all(
      Array.from({ length: 30 }, (_, i) => as(built.app, sessions[i % 3]!)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 1, tonnes: 10 } })),
    );
    expect(res.every((r) => r.statusCode === 201)).toBe(true);
    const holds = await env.db.selectFrom('holds').select(['id', 'expires_at']).where('departure_id', '=', d.departureId).execute();
    const dueSeconds = [...new Set(holds.map((h) => Math.ceil(h.expires_at.getTime() / 1000)))].sort();
    // sent without waiting: give the enqueue a moment
    const queue = built.ctx.queues.get('holds');
    let ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      ids = (await queue.getDelayed()).map((j) => j.id ?? '');
      if (dueSeconds.every((s) => ids.includes(`holds.sweep-at-${s}`))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(dueSeconds.map((s) => ids.includes(`holds.sweep-at-${s}`))).toEqual(dueSeconds.map(() => true));
    expect(dueSeconds.length).toBeLessThan(holds.length);
    expect(ids.filter((id) => holds.some((h) => id === `hold.expire-${h.id}`))).toEqual([]);
    const job = await queue.getJob(`holds.sweep-at-${dueSeconds[0]}`);
    expect(job?.name).toBe('holds.sweep');
  });

  it('holds with and without an Idempotency-Key share the group commit: a repeated key has one effect, a refused key keeps its refusal', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 40, capacityTonnes: 1000, listedTeu: 40 });
    const f = sessions[0]!;
    const hold = (key?: string) =>
      as(built.app, f)({ method: 'POST', url: '/api/holds', ...(key ? { headers: { 'idempotency-key': key } } : {}), payload: { listingId: d.listingId, teu: 1, tonnes: 10 } });
    // all at once, so that keyed and unkeyed requests land in the same batches
    const res = await Promise.all([
      ...Array.from({ length: 8 }, () => hold('batch-dup')),
      ...Array.from({ length: 8 }, (_, i) => hold(`batch-k${i}`)),
      ...Array.from({ length: 8 }, () => hold()),
    ]);
    expect(res.map((r) => r.statusCode)).toEqual(res.map(() => 201));
    expect(new Set(res.slice(0, 8).map((r) => r.json().id)).size).toBe(1);
    const held = await env.db.selectFrom('holds').select('id').where('departure_id', '=', d.departureId).execute();
    expect(held).toHaveLength(17);
    expect(new Set(res.map((r) => r.json().id))).toEqual(new Set(held.map((h) => h.id)));
    const keys = await env.db.selectFrom('idempotency_keys').select(['key', 'status_code']).where('key', 'like', 'batch-%').execute();
    expect(keys).toHaveLength(9);
    expect(keys.every((k) => k.status_code === 201)).toBe(true);

    // Postgres refuses what the (now stale) Redis cache admits: the batch's other answers are unaffected, and each
    // refused key keeps its refusal (API.md: a repeat gets the first answer again), even once capacity is free
    await env.db.updateTable('listings').set({ remaining_teu: 0 }).where('id', '=', d.listingId).execute();
    const refused = await Promise.all([...Array.from({ length: 4 }, (_, i) => hold(`batch-r${i}`)), hold(), hold('batch-dup')]);
    expect(refused.slice(0, 5).map((r) => r.statusCode)).toEqual([409, 409, 409, 409, 409]);
    for (const r of refused.slice(0, 5)) expect(r.json().error.code).toBe('insufficient_capacity');
    expect(refused[5]!.statusCode).toBe(201);
    expect(refused[5]!.json().id).toBe(res[0]!.json().id);
    const kept = await env.db.selectFrom('idempotency_keys').select(['key', 'status_code']).where('key', 'like', 'batch-r%').orderBy('key').execute();
    expect(kept).toEqual([0, 1, 2, 3].map((i) => ({ key: `batch-r${i}`, status_code: 409 })));
    await env.db.updateTable('listings').set({ remaining_teu: 20 }).where('id', '=', d.listingId).execute();
    const again = await hold('batch-r0');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual(refused[0]!.json());
    expect(await env.db.selectFrom('holds').select('id').where('departure_id', '=', d.departureId).execute()).toHaveLength(17);
    expect((await hold('batch-new')).statusCode).toBe(201); // a new key is a new request
  });
});
