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

  it('route search: a listing not open yet is no leg; it becomes one at the first refresh after its opensAt', async () => {
    const t0 = Date.now();
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, cutoffInMs: 2 * 86_400_000 });
    await opensIn(d.listingId, 3_600_000);
    const routes = built.ctx.services.routes;
    const query = { from: 'DEDUI', to: 'ITBLQ', teu: 2, tonnes: 20, maxLegs: 1, readyAt: new Date(t0).toISOString(), deliverBy: new Date(t0 + 12 * 86_400_000).toISOString() };
    const isLeg = () => routes.legs().some((l) => l.listingId === d.listingId);
    // the first answer loads the whole timetable; the periodic pick-up of new listings does not take it either
    await routes.answer(query, new Date(t0));
    expect(isLeg()).toBe(false);
    await routes.reload('new', new Date(t0 + 1000));
    expect(isLeg()).toBe(false);
    const opened = new Date(t0 + 3_600_000 + 5_000);
    await routes.reload('new', opened);
    expect(isLeg()).toBe(true);
    // and a full reload after the opening has it, one before does not
    await routes.reload('full', new Date(t0 + 2000));
    expect(isLeg()).toBe(false);
    await routes.reload('full', opened);
    expect(isLeg()).toBe(true);
  });

  it('watches: a listing that opens later is news at its opensAt — also to a watch saved after the listing — and to nobody before', async () => {
    const op1 = await signIn(built.app, 'operator1@demo.test');
    const corridor = await env.db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
    const cutoff = Date.now() + 3 * 86_400_000;
    const dep = await as(built.app, op1)({
      method: 'POST', url: '/api/departures',
      payload: { corridorId: corridor.id, cutoffAt: new Date(cutoff).toISOString(), departsAt: new Date(cutoff + 3_600_000).toISOString(), arrivesAt: new Date(cutoff + 30 * 3_600_000).toISOString(), capacityTeu: 40, capacityTonnes: 800, assetName: 'Opens later' },
    });
    expect(dep.statusCode, dep.body).toBe(201);
    // no watch is active yet: the match job is asked for all the same, since it is due later
    expect(await env.db.selectFrom('watches').select('id').where('status', '=', 'active').execute()).toEqual([]);
    const opensAt = new Date(Date.now() + 2 * 3_600_000);
    const listing = await as(built.app, op1)({ method: 'POST', url: '/api/listings', payload: { departureId: dep.json().id, format: 'fixed', teu: 10, unitPriceCents: 25_000, opensAt: opensAt.toISOString() } });
    expect(listing.statusCode, listing.body).toBe(201);
    const listingId = listing.json().id as string;
    const job = await env.db.selectFrom('outbox').select('run_at').where('job_id', '=', `watches.match-listing-${listingId}`).executeTakeFirstOrThrow();
    expect(new Date(job.run_at).getTime()).toBe(opensAt.getTime());
    const watch = await as(built.app, f1)({ method: 'POST', url: '/api/watches', payload: { from: 'DEDUI', to: 'ITBLQ', minTeu: 1 } });
    expect(watch.statusCode, watch.body).toBe(201);

    // a sale opening at or after the cut-off would never sell: refused
    const late = await as(built.app, op1)({ method: 'POST', url: '/api/listings', payload: { departureId: dep.json().id, format: 'fixed', teu: 5, unitPriceCents: 25_000, opensAt: new Date(cutoff + 1000).toISOString() } });
    expect(late.statusCode, late.body).toBe(400);
    expectErrorShape(late.json());
    expect(late.json().error.message).toMatch(/cut-off/);

    const data = { departureId: dep.json().id as string, listingId, trigger: 'listing' as const };
    const watches = built.ctx.services.watches;
    expect(await watches.match(data, new Date())).toEqual({ told: 0 });
    // a change of capacity on the departure before the opening tells nobody of it either
    expect(await watches.match({ departureId: data.departureId, trigger: 'freed' }, new Date())).toEqual({ told: 0 });
    // the job ran a second early by this host's clock (the database's says it is due): it fails, to be tried again
    await expect(watches.match(data, new Date(opensAt.getTime() - 1000))).rejects.toThrow(/retried/);
    expect(await watches.match(data, new Date(opensAt.getTime() + 1000))).toEqual({ told: 1 });
    const told = await env.db.selectFrom('watch_matches').select(['listing_id', 'watch_id']).where('listing_id', '=', listingId).execute();
    expect(told).toEqual([{ listing_id: listingId, watch_id: watch.json().id }]);
  });
});
