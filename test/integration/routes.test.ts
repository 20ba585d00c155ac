import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLegs } from '../../server/adapters/db/routes-repo.ts';
import { enumerateRoutes, type RouteQuery } from '../../server/core/routing.ts';
import { routingParams } from '../../server/data/routing-params.ts';
import type { RouteItinerary, RoutesAnswer } from '../../server/domain/schemas/routes.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (iso: string) => Date.parse(iso);

/** Polls `check` until it answers true (at most `timeoutMs`); the last answer. */
async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await sleep(100);
  }
}

/** The criteria vector of the contract: (total, arrival, CO2e, needs a bid). */
const vector = (i: { totalCents: number; arrivesAt: number; co2e: number; bookable: boolean }) => [i.totalCents, i.arrivesAt, i.co2e, i.bookable ? 0 : 1];
const dominates = (a: number[], b: number[]) => a.every((x, k) => x <= b[k]!) && a.some((x, k) => x < b[k]!);

/**
 * Issue 12, route search (GET /api/routes) against the real stack: Postgres, Redis, the live event stream and
 * the relay that feeds the in-memory timetable. The reference for correctness is the core's exhaustive
 * enumeration over the same legs read from the database.
 */
describe('route search: GET /api/routes', () => {
  let env: TestEnv;
  let built: App;
  const S = {} as Record<'f1' | 'op1' | 'sched', Session>;
  const t0 = Date.now();
  const window = { readyAt: new Date(t0).toISOString(), deliverBy: new Date(t0 + 12 * DAY).toISOString() };

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    S.f1 = await signIn(built.app, 'forwarder1@demo.test');
    S.op1 = await signIn(built.app, 'operator1@demo.test');
    S.sched = await signIn(built.app, 'scheduler@demo.test');
    // No periodic refresh: what changes below must reach the search through the live events alone (or an
    // explicit pick-up of new listings, called where the timer would).
    await built.ctx.services.routes.start();
    built.ctx.services.routes.stop();
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const search = (s: Session | null, query: Record<string, string | number>) =>
    as(built.app, s)({ method: 'GET', url: `/api/routes?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString()}` });

  async function ok(query: Record<string, string | number>): Promise<RoutesAnswer> {
    const res = await search(S.f1, query);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as RoutesAnswer;
  }

  /** The core's exhaustive answer over the legs in Postgres right now, for the same query. */
  async function reference(query: { from: string; to: string; teu: number; tonnes: number; maxLegs?: number; modes?: string; readyAt: string; deliverBy: string }) {
    const now = Date.now();
    const legs = (await loadLegs(env.db, new Date(now))).map((l) => l.leg);
    const q: RouteQuery = {
      from: query.from, to: query.to, teu: query.teu, tonnes: query.tonnes, readyAt: ms(query.readyAt), deliverBy: ms(query.deliverBy), now,
      modes: (query.modes ?? 'rail,barge').split(',') as RouteQuery['modes'], maxLegs: query.maxLegs ?? 3,
    };
    return enumerateRoutes(legs, q, routingParams);
  }

  /** The API's answer equals the reference: the same itineraries (keys) with the same totals, times and CO2e. */
  async function expectSameAsReference(query: Parameters<typeof reference>[0], answer: RoutesAnswer) {
    const ref = await reference(query);
    const mine = answer.itineraries.map((i) => ({ key: i.key, totalCents: i.totalCents, arrivesAt: ms(i.arrivesAt), co2eKg: i.co2eKg, bookable: i.bookable }));
    const theirs = ref.map((p) => ({
      key: p.legs.map((l) => l.listingId).join(','), totalCents: p.totalCents, arrivesAt: p.arrivesAt, co2eKg: Math.round(p.co2eGrams / 100) / 10, bookable: p.bookable,
    }));
    const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : 1);
    expect(mine.sort(byKey)).toEqual(theirs.sort(byKey));
  }

  /** Every rule of a valid chain, checked in plain code against the rows in Postgres. */
  async function expectValid(it: RouteItinerary, q: { from: string; to: string; teu: number; tonnes: number; readyAt: string; deliverBy: string }) {
    const legs = it.legs;
    expect(legs.length).toBeGreaterThan(0);
    expect(legs[0]!.origin).toBe(q.from);
    expect(legs.at(-1)!.destination).toBe(q.to);
    expect(ms(q.readyAt)).toBeLessThanOrEqual(ms(legs[0]!.cutoffAt));
    expect(ms(legs.at(-1)!.arrivesAt)).toBeLessThanOrEqual(ms(q.deliverBy));
    const visited = new Set([legs[0]!.origin]);
    let handling = 0;
    let co2 = 0;
    for (const [k, l] of legs.entries()) {
      const row = await env.db
        .selectFrom('listings as l')
        .innerJoin('departures as d', 'd.id', 'l.departure_id')
        .select(['l.status', 'l.format', 'l.remaining_teu', 'd.capacity_teu', 'd.held_teu', 'd.booked_teu', 'd.capacity_tonnes', 'd.held_tonnes', 'd.booked_tonnes', 'd.cutoff_at', 'd.departs_at', 'd.arrives_at'])
        .where('l.id', '=', l.listingId)
        .executeTakeFirstOrThrow();
      expect(row.status).toBe('open');
      expect(row.cutoff_at.getTime()).toBe(ms(l.cutoffAt));
      expect(row.cutoff_at.getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(Math.min(row.capacity_teu - row.held_teu - row.booked_teu, row.remaining_teu)).toBeGreaterThanOrEqual(q.teu);
      expect(row.capacity_tonnes - row.held_tonnes - row.booked_tonnes).toBeGreaterThanOrEqual(q.tonnes);
      expect(l.bookable).toBe(row.format === 'fixed' || row.format === 'falling');
      expect(visited.has(l.destination)).toBe(false);
      visited.add(l.destination);
      co2 += Math.round(q.tonnes * l.distanceKm * routingParams.gramsPerTonneKm[l.mode]);
      if (k === 0) continue;
      const prev = legs[k - 1]!;
      const rule = routingParams.transfer(prev.destination);
      expect(l.origin).toBe(prev.destination);
      expect(ms(prev.arrivesAt)).toBeLessThanOrEqual(ms(l.cutoffAt));
      expect(ms(prev.arrivesAt) + rule.minConnectionMinutes[`${prev.mode}-${l.mode}`] * 60_000).toBeLessThanOrEqual(ms(l.departsAt));
      const t = it.transfers[k - 1]!;
      expect(t).toEqual({ at: l.origin, waitMinutes: Math.round((ms(l.departsAt) - ms(prev.arrivesAt)) / 60_000), handlingCents: rule.handlingCentsPerTeu * q.teu });
      handling += t.handlingCents;
      co2 += rule.handlingCo2eGramsPerTeu * q.teu;
    }
    expect(it.transfers).toHaveLength(legs.length - 1);
    expect(it.totalCents).toBe(legs.reduce((s, l) => s + l.unitPriceCents * q.teu, 0) + handling);
    expect(it.co2eKg).toBe(Math.round(co2 / 100) / 10);
    expect(it.key).toBe(legs.map((l) => l.listingId).join(','));
    expect(it.bookable).toBe(legs.every((l) => l.bookable));
  }

  const LHR_BLQ = { from: 'GBLHR', to: 'ITBLQ', teu: 2, tonnes: 24, ...window };

  it('London → Bologna on the demo network: multi-leg itineraries, every rule kept, a Pareto set, the road beside it', async () => {
    const a = await ok(LHR_BLQ);
    expect(a.itineraries.length).toBeGreaterThan(0);
    expect(a.itineraries.every((i) => i.legs.length >= 2)).toBe(true); // no direct service
    for (const i of a.itineraries) await expectValid(i, LHR_BLQ);
    const vs = a.itineraries.map((i) => vector({ totalCents: i.totalCents, arrivesAt: ms(i.arrivesAt), co2e: i.co2eKg, bookable: i.bookable }));
    for (const [x, v] of vs.entries()) for (const [y, w] of vs.entries()) if (x !== y) expect(dominates(w, v), `${y} dominates ${x}`).toBe(false);
    const sorted = [...a.itineraries].sort((p, q) => ms(p.arrivesAt) - ms(q.arrivesAt) || p.totalCents - q.totalCents || p.co2eKg - q.co2eKg);
    expect(a.itineraries.map((i) => i.key)).toEqual(sorted.map((i) => i.key));
    expect(a.road.distanceKm).toBeGreaterThan(1000);
    expect(a.road.costCents).toBeGreaterThan(0);
    for (const i of a.itineraries) {
      expect(i.roadCo2eKg).toBe(a.road.co2eKg);
      expect(i.co2eKg).toBeLessThan(i.roadCo2eKg);
    }
  });

  it('equals the exhaustive enumeration over the same legs read from Postgres (all modes, rail only, up to 4 legs)', async () => {
    for (const q of [LHR_BLQ, { ...LHR_BLQ, modes: 'rail' }, { ...LHR_BLQ, maxLegs: 4 }, { from: 'NLRTM', to: 'ITBLQ', teu: 10, tonnes: 120, ...window }, { from: 'ESZAZ', to: 'DEDUI', teu: 4, tonnes: 40, maxLegs: 2, ...window }]) {
      await expectSameAsReference(q, await ok(q));
    }
  });

  it('a hold that sells out a leg: its itineraries leave the answer after the live event, with no reload', async () => {
    const before = await ok(LHR_BLQ);
    const target = before.itineraries.find((i) => i.bookable)!.legs.find((l) => l.bookable)!;
    const loads = built.ctx.services.routes.stats().fullLoads;
    const listing = await env.db.selectFrom('listings').select('remaining_teu').where('id', '=', target.listingId).executeTakeFirstOrThrow();
    const hold = await as(built.app, S.f1)({ method: 'POST', url: '/api/holds', payload: { listingId: target.listingId, teu: listing.remaining_teu, tonnes: listing.remaining_teu * 10 } });
    expect(hold.statusCode, hold.body).toBe(201);
    const gone = await until(async () => !(await ok(LHR_BLQ)).itineraries.some((i) => i.legs.some((l) => l.listingId === target.listingId)));
    expect(gone).toBe(true);
    expect(built.ctx.services.routes.stats().fullLoads).toBe(loads);
    const after = await ok(LHR_BLQ);
    expect(after.itineraries.length).toBeGreaterThan(0);
    await expectSameAsReference(LHR_BLQ, after);
    // released: the leg can be searched again
    expect((await as(built.app, S.f1)({ method: 'DELETE', url: `/api/holds/${hold.json().id}` })).statusCode).toBe(204);
    expect(await until(async () => (await ok(LHR_BLQ)).itineraries.some((i) => i.legs.some((l) => l.listingId === target.listingId)))).toBe(true);
  });

  it('a new falling listing is picked up, and its price step shows up in the answer after the live event', async () => {
    const corridor = await env.db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
    const cutoff = t0 + 3 * DAY;
    const dep = await as(built.app, S.op1)({
      method: 'POST', url: '/api/departures',
      payload: { corridorId: corridor.id, cutoffAt: new Date(cutoff).toISOString(), departsAt: new Date(cutoff + 4 * HOUR).toISOString(), arrivesAt: new Date(cutoff + 40 * HOUR).toISOString(), capacityTeu: 80, capacityTonnes: 1600, assetName: 'Route test falling' },
    });
    expect(dep.statusCode, dep.body).toBe(201);
    // the first step is due 10 s from now (time enough to see the start price first, even on a busy machine)
    const opensAt = Date.now() - 60 * 60_000 + 10_000;
    const created = await as(built.app, S.op1)({
      method: 'POST', url: '/api/listings',
      payload: { departureId: dep.json().id, format: 'falling', teu: 20, unitPriceCents: 30_000, floorPriceCents: 10_000, stepCents: 5_000, stepEveryMinutes: 60, opensAt: new Date(opensAt).toISOString() },
    });
    expect(created.statusCode, created.body).toBe(201);
    // API.md's Listing names the lowest price reservePriceCents, whichever name it was sent under
    expect(created.json()).toMatchObject({ unitPriceCents: 30_000, floorPriceCents: 10_000, reservePriceCents: 10_000 });
    const listingId = created.json().id as string;
    const direct = { from: 'DEDUI', to: 'ITBLQ', teu: 2, tonnes: 24, maxLegs: 1, ...window };
    const priceOf = async () => (await ok(direct)).itineraries.find((i) => i.key === listingId)?.legs[0]!.unitPriceCents;
    expect(await priceOf()).toBeUndefined();
    await built.ctx.services.routes.reload('new'); // what the refresh timer does every few seconds
    expect(await priceOf()).toBe(30_000);
    while (Date.now() < opensAt + 60 * 60_000 + 50) await sleep(100);
    await built.ctx.services.listings.priceStep(listingId); // the price-step job: pushes listing:update with the new price
    expect(await until(async () => (await priceOf()) === 25_000)).toBe(true);
    await expectSameAsReference(direct, await ok(direct));
  });

  it('auction legs are "bid" legs priced at the lowest bid accepted now, following the live ladder', async () => {
    const corridor = await env.db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
    const cutoff = t0 + 2 * DAY;
    const dep = await as(built.app, S.op1)({
      method: 'POST', url: '/api/departures',
      payload: { corridorId: corridor.id, cutoffAt: new Date(cutoff).toISOString(), departsAt: new Date(cutoff + 4 * HOUR).toISOString(), arrivesAt: new Date(cutoff + 34 * HOUR).toISOString(), capacityTeu: 80, capacityTonnes: 1600, assetName: 'Route test auction' },
    });
    const created = await as(built.app, S.op1)({
      method: 'POST', url: '/api/listings',
      payload: { departureId: dep.json().id, format: 'ascending', teu: 10, reservePriceCents: 20_000, minIncrementCents: 1_000, closesAt: new Date(cutoff - HOUR).toISOString() },
    });
    expect(created.statusCode, created.body).toBe(201);
    const listingId = created.json().id as string;
    await built.ctx.services.routes.reload('new');
    const direct = { from: 'DEDUI', to: 'ITBLQ', teu: 2, tonnes: 24, maxLegs: 1, ...window };
    const legOf = async () => (await ok(direct)).itineraries.find((i) => i.key === listingId);
    const first = await legOf();
    expect(first).toMatchObject({ bookable: false, totalCents: 40_000, legs: [{ format: 'ascending', bookable: false, unitPriceCents: 20_000 }] });
    const bid = await as(built.app, S.f1)({ method: 'POST', url: `/api/listings/${listingId}/bids`, payload: { teu: 10, unitPriceCents: 25_000 } });
    expect(bid.statusCode, bid.body).toBe(201);
    // every TEU is allocated: the next bid must beat 25,000 by the increment
    expect(await until(async () => (await legOf())?.legs[0]!.unitPriceCents === 26_000)).toBe(true);
    await expectSameAsReference(direct, await ok(direct));
  });

  it('forwarders and their API keys search; operators and schedulers get 403, anonymous callers 401', async () => {
    const q = { from: 'GBLHR', to: 'ITBLQ', teu: 1, tonnes: 10, ...window };
    for (const [who, status] of [[S.op1, 403], [S.sched, 403], [null, 401]] as const) {
      const res = await search(who, q);
      expect(res.statusCode).toBe(status);
      expectErrorShape(res.json());
    }
    const key = await as(built.app, S.f1)({ method: 'POST', url: '/api/api-keys', payload: { name: 'route search' } });
    const res = await built.app.inject({ method: 'GET', url: `/api/routes?${new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]))}`, headers: { authorization: `Bearer ${key.json().key}` } });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('bad input: 400 in the API shape, never a 5xx', async () => {
    const base = { from: 'GBLHR', to: 'ITBLQ', teu: 2, tonnes: 24, ...window };
    const cases: [Record<string, string | number>, string][] = [
      [{ ...base, from: 'XXXXX' }, 'unknown_cluster'],
      [{ ...base, to: 'ZZZZZ' }, 'unknown_cluster'],
      [{ ...base, to: 'GBLHR' }, 'same_cluster'],
      [{ ...base, from: 'london' }, 'invalid_input'],
      [{ ...base, readyAt: window.deliverBy, deliverBy: window.readyAt }, 'invalid_window'],
      [{ ...base, deliverBy: window.readyAt }, 'invalid_window'],
      [{ ...base, deliverBy: new Date(t0 + 40 * DAY).toISOString() }, 'window_too_long'],
      [{ ...base, teu: 0 }, 'invalid_input'],
      [{ ...base, teu: 1.5 }, 'invalid_input'],
      [{ ...base, tonnes: 1 }, 'invalid_quantity'],
      [{ ...base, maxLegs: 50 }, 'invalid_input'],
      [{ ...base, maxLegs: 0 }, 'invalid_input'],
      [{ ...base, modes: 'truck' }, 'invalid_input'],
      [{ ...base, readyAt: 'yesterday' }, 'invalid_input'],
      [{ ...base, maxTotalCents: -5 }, 'invalid_input'],
      [{ ...base, teu: 'Infinity' }, 'invalid_input'],
      [{ ...base, extra: 1 }, 'invalid_input'],
      [{ from: 'GBLHR' }, 'invalid_input'],
    ];
    for (const [query, code] of cases) {
      const res = await search(S.f1, query);
      expect(res.statusCode, `${JSON.stringify(query)} → ${res.body}`).toBe(400);
      expectErrorShape(res.json());
      expect(res.json().error.code, JSON.stringify(query)).toBe(code);
    }
    // a budget below every itinerary is not an error: no itinerary
    expect((await ok({ ...base, maxTotalCents: 1 })).itineraries).toEqual([]);
  });
});
