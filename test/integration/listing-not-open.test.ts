import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, departureState } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

/**
 * A fixed or falling listing sells from its `opensAt` on, as an auction takes bids from then on: before it, a hold —
 * alone or as a leg of an itinerary — is refused with 409 `listing_not_open` and nothing is held. (A new-user review
 * found that holds ignored `opensAt`: a forwarder could buy a sale before it opened.)
 */
describe('holds before a listing opens', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 1_000_000 } });
    built = await buildApp(env.cfg);
    f1 = await signIn(built.app, 'forwarder1@demo.test');
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const opensIn = async (listingId: string, ms: number) => {
    await env.db.updateTable('listings').set({ opens_at: new Date(Date.now() + ms) }).where('id', '=', listingId).execute();
  };

  it('POST /api/holds: 409 listing_not_open before opensAt, nothing held; a hold once it has opened', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400 });
    await opensIn(d.listingId, 3_600_000);
    const early = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 2, tonnes: 20 } });
    expect(early.statusCode, early.body).toBe(409);
    expectErrorShape(early.json());
    expect(early.json().error.code).toBe('listing_not_open');
    expect(early.json().error.message).toMatch(/opens at/);
    expect((await departureState(env.db, d.departureId)).held_teu).toBe(0);
    expect(await env.db.selectFrom('holds').select('id').where('listing_id', '=', d.listingId).execute()).toEqual([]);

    // the service remembers a listing's terms for 2 s: a new listing stands in for "the same one, an hour later"
    const open = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400 });
    await opensIn(open.listingId, -60_000);
    const ok = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId: open.listingId, teu: 2, tonnes: 20 } });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('POST /api/itineraries: a leg not open yet refuses the itinerary (409 listing_not_open, its legIndex), nothing held on any leg', async () => {
    const legs = [
      await createDepartureWithListing(env.db, { corridorCode: 'GBLHR-FRLIL-rail', capacityTeu: 20, capacityTonnes: 400, cutoffInMs: 2 * 86_400_000 }),
      await createDepartureWithListing(env.db, { corridorCode: 'FRLIL-DEDUI-rail', capacityTeu: 20, capacityTonnes: 400, cutoffInMs: 4 * 86_400_000 }),
    ];
    await opensIn(legs[1]!.listingId, 3_600_000);
    const r = await as(built.app, f1)({ method: 'POST', url: '/api/itineraries', payload: { legs: legs.map((l) => ({ listingId: l.listingId })), teu: 1, tonnes: 10 } });
    expect(r.statusCode, r.body).toBe(409);
    expectErrorShape(r.json());
    expect(r.json().error).toMatchObject({ code: 'listing_not_open', legIndex: 1 });
    for (const l of legs) expect((await departureState(env.db, l.departureId)).held_teu).toBe(0);
  });
});
