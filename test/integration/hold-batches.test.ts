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
});
