import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../server/domain/principal.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

const DAY = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/**
 * Issue 11, the settled days kept in memory (server/core/stats-cache.ts, migration 20261203T1600): every
 * answer with the cache equals the answer without it (STATS_CACHE=0), before and after a change to a day
 * of the settled past — a booking cancelled on a departure of 5 days ago, a rebuilt rollup —, which the
 * next answer shows.
 */
describe('statistics: the settled days kept in memory', () => {
  let env: TestEnv;
  let on: App;
  let off: App;
  const S = {} as Record<'onF' | 'onS' | 'offS' | 'offF', Session>;
  let corridorId = '';
  let corridorCode = '';
  let clusterCode = '';
  let bookingId = '';
  let departureId = '';
  const past = day(Date.now() - 5 * DAY);

  beforeAll(async () => {
    env = await createTestEnv();
    on = await buildApp(env.cfg);
    off = await buildApp({ ...env.cfg, statsCache: false });
    S.onF = await signIn(on.app, 'forwarder1@demo.test');
    S.onS = await signIn(on.app, 'scheduler@demo.test');
    S.offS = await signIn(off.app, 'scheduler@demo.test');
    S.offF = await signIn(off.app, 'forwarder1@demo.test');
    const d = await createDepartureWithListing(env.db, {
      capacityTeu: 200, capacityTonnes: 4000, listedTeu: 80, unitPriceCents: 41_000, corridorCode: 'DEDUI-ITBLQ-rail', cutoffInMs: 4 * DAY,
    });
    corridorId = d.corridorId;
    departureId = d.departureId;
    const c = await env.db.selectFrom('corridors as c').innerJoin('clusters as o', 'o.id', 'c.from_cluster_id')
      .select(['c.code', 'o.code as cluster']).where('c.id', '=', corridorId).executeTakeFirstOrThrow();
    corridorCode = c.code;
    clusterCode = c.cluster;
    const h = await as(on.app, S.onF)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 10, tonnes: 200 } });
    const b = await as(on.app, S.onF)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} });
    expect(b.statusCode, b.body).toBe(201);
    bookingId = b.json().id;
    // the departure left 5 days ago (its figures move to that day: a change of the settled past)
    await sql`update departures set departs_at = now() - interval '5 days', cutoff_at = now() - interval '5 days 6 hours',
      arrives_at = now() - interval '4 days' where id = ${d.departureId}`.execute(env.db);
  });
  afterAll(async () => {
    await on?.app.close();
    await off?.app.close();
    await env?.cleanup();
  });

  const from = day(Date.now() - 20 * DAY);
  const to = day(Date.now() + 3 * DAY);
  const shapes = () => [
    `/api/stats/utilisation?groupBy=corridor-day&from=${from}&to=${to}`,
    `/api/stats/utilisation?groupBy=corridor-day&from=${from}&to=${to}&corridorId=${corridorId}&detail=full`,
    `/api/stats/utilisation?groupBy=corridor-day&from=${from}&to=${to}&format=csv`,
    `/api/stats/utilisation?groupBy=cluster-day&from=${from}&to=${to}&cluster=${clusterCode}`,
    `/api/stats/utilisation?groupBy=day&from=${from}&to=${to}&mode=rail`,
    `/api/stats/utilisation?groupBy=day&from=${from}&to=${past}`,
    `/api/stats/utilisation?groupBy=departure&from=${from}&to=${to}`,
    `/api/stats/utilisation?groupBy=departure&from=${from}&to=${to}&corridorId=${corridorId}&detail=full`,
    `/api/stats/price-index?from=${from}&to=${to}&bucket=day`,
    `/api/stats/price-index?from=${from}&to=${to}&bucket=week&cluster=${clusterCode}`,
  ];
  /** The forwarder's shapes (its own bookings' figures, from stats_forwarder), prefixed 'F ' in the list. */
  const forwarderShapes = () => [
    `F /api/stats/utilisation?groupBy=day&from=${from}&to=${to}`,
    `F /api/stats/utilisation?groupBy=corridor-day&from=${from}&to=${to}&detail=full`,
    `F /api/stats/price-index?from=${from}&to=${to}&bucket=day`,
  ];
  /** The answer with the cache, checked equal to the one without (asOf aside); 'F …': as forwarder 1. */
  async function both(shape: string): Promise<any> {
    const forwarder = shape.startsWith('F ');
    const url = forwarder ? shape.slice(2) : shape;
    const a = await as(on.app, forwarder ? S.onF : S.onS)({ method: 'GET', url });
    const b = await as(off.app, forwarder ? S.offF : S.offS)({ method: 'GET', url });
    expect(a.statusCode, a.body).toBe(200);
    expect(b.statusCode, b.body).toBe(200);
    const strip = (s: string) => s.replace(/"asOf":"[^"]*"/, '');
    expect(strip(a.body), url).toBe(strip(b.body));
    return url.includes('format=csv') ? a.body : a.json();
  }
  const pastRow = (a: { rows: { corridorCode?: string; day?: string; bookedTeu: number }[] }) =>
    a.rows.find((r) => r.corridorCode === corridorCode && r.day === past)!;

  it('answers as without it, from memory the second time; a booking cancelled on a departure of 5 days ago shows at once', async () => {
    for (const url of [...shapes(), ...forwarderShapes()]) await both(url);
    const fBefore = await both(forwarderShapes()[0]!);
    const hits = on.ctx.services.stats.cacheCounts()!.hits;
    const before = await both(shapes()[1]!);
    for (const url of shapes()) await both(url);
    expect(on.ctx.services.stats.cacheCounts()!.hits).toBeGreaterThan(hits + shapes().length - 1);
    expect(pastRow(before).bookedTeu).toBeGreaterThanOrEqual(10);

    // A departure that has left takes no cancellation through the API (409 departed): the change of the settled past
    // is the service's cancel as of an instant before that departure (6 days ago), as a late-recorded cancellation
    const me = S.onF.me;
    const p = { kind: 'session', userId: me.user.id, email: me.user.email, name: 'F1', orgId: me.org.id, orgName: me.org.name, orgKind: 'forwarder', role: 'admin' } as Principal;
    const refused = await as(on.app, S.onF)({ method: 'DELETE', url: `/api/bookings/${bookingId}` });
    expect(refused.statusCode, refused.body).toBe(409);
    await on.ctx.services.bookings.cancel(p, bookingId, undefined, new Date(Date.now() - 6 * DAY));
    const after = await both(shapes()[1]!);
    expect(pastRow(after).bookedTeu).toBe(pastRow(before).bookedTeu - 10);
    expect(after.totals.cancellations).toBe(before.totals.cancellations + 1);
    for (const url of [...shapes(), ...forwarderShapes()]) await both(url);
    // the forwarder's own figures of that day moved too (its cached settled days were dropped with the token)
    const fAfter = await both(forwarderShapes()[0]!);
    const fDay = (a: { rows: { day: string; bookedTeu: number }[] }) => a.rows.find((r) => r.day === past)?.bookedTeu ?? 0;
    expect(fDay(fAfter)).toBe(fDay(fBefore) - 10);
  });

  it("a change to a departure of the settled past (its minimum load, asset, status) shows in the next per-departure answer", async () => {
    const url = `/api/stats/utilisation?groupBy=departure&from=${from}&to=${to}&corridorId=${corridorId}`;
    const row = (a: { rows: { departureId: string; minLoadTeu: number; assetName: string }[] }) => a.rows.find((r) => r.departureId === departureId)!;
    const before = await both(url);
    await both(url); // from memory
    const hits = on.ctx.services.stats.cacheCounts()!.hits;
    await sql`update departures set min_load_teu = min_load_teu + 3, asset_name = 'Renamed after departure' where id = ${departureId}`.execute(env.db);
    const after = await both(url);
    expect(on.ctx.services.stats.cacheCounts()!.hits).toBe(hits); // a new token: read again, not from memory
    expect(row(after).minLoadTeu).toBe(row(before).minLoadTeu + 3);
    expect(row(after).assetName).toBe('Renamed after departure');
    await both(url);
    expect(on.ctx.services.stats.cacheCounts()!.hits).toBe(hits + 1);
  });

  it('a rebuilt rollup shows in the next answer', async () => {
    await on.ctx.services.stats.fold();
    const url = `/api/stats/utilisation?groupBy=corridor-day&from=${day(Date.now() - 9 * DAY)}&to=${to}&corridorId=${corridorId}`;
    const truth = await both(url);
    // a rollup row corrupted behind the triggers' back (no new token), then read into memory by a new shape
    await sql`update stats_corridor_day set booked_teu = booked_teu + 7 where day = ${past}::date and corridor_id = ${corridorId}`.execute(env.db);
    const wrongUrl = `${url}&mode=rail`;
    const wrong = await both(wrongUrl);
    expect(pastRow(wrong).bookedTeu).toBe(pastRow(truth).bookedTeu + 7);
    expect((await on.ctx.services.stats.verify()).ok).toBe(false);
    await on.ctx.services.stats.rebuild();
    const fixed = await both(wrongUrl);
    expect(pastRow(fixed).bookedTeu).toBe(pastRow(truth).bookedTeu);
  });
});
