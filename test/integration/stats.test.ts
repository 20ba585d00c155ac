import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setRollupsEnabled } from '../../server/adapters/db/stats-repo.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

const DAY = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const run = promisify(execFile);
/** The figures a utilisation row carries only with detail=full (API.md's row has the rest). */
const DETAIL_FIELDS = ['freeTeu', 'bookings', 'cancellations', 'cancelledTeu', 'cancellationFeesCents', 'byFormat', 'auction'];
const withoutDetail = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).filter(([k]) => !DETAIL_FIELDS.includes(k)));

/**
 * Issue 11, statistics: the rollups (maintained by triggers in the transaction of every write) equal a
 * recomputation from the raw rows after random sequences of holds, confirms, releases, cancels, auctions
 * (bids, closes) and settlements / refunds, driven through the real HTTP API and services against a real
 * database; the API's figures agree with the raw rows (checked here in plain code, independently of the
 * repository's recomputation); a corrupted rollup is found and repaired (service and CLI).
 */
describe('statistics: rollups are true (DESIGN invariant 10)', () => {
  let env: TestEnv;
  let built: App;
  const S = {} as Record<'f1' | 'f2' | 'op1' | 'op2' | 'sched', Session>;
  const deps: { departureId: string; listingId: string; operator: 'op1' | 'op2' }[] = [];
  let range = { from: '', to: '' };

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    for (const [k, email] of [
      ['f1', 'forwarder1@demo.test'], ['f2', 'forwarder2@demo.test'], ['op1', 'operator1@demo.test'], ['op2', 'operator2@demo.test'], ['sched', 'scheduler@demo.test'],
    ] as const) S[k] = await signIn(built.app, email);
    const specs = [
      { corridorCode: 'DEDUI-ITBLQ-rail', operator: 'op1', cutoffInMs: 2 * DAY, price: 41_000, format: 'fixed' },
      { corridorCode: 'ESZAZ-FRLIL-rail', operator: 'op2', cutoffInMs: 3 * DAY, price: 37_500, format: 'falling' },
      { corridorCode: 'DEDUI-NLRTM-barge', operator: 'op1', cutoffInMs: 3 * DAY + 3_600_000, price: 22_900, format: 'fixed' },
    ] as const;
    for (const s of specs) {
      const d = await createDepartureWithListing(env.db, {
        capacityTeu: 200, capacityTonnes: 4000, listedTeu: 80, unitPriceCents: s.price, corridorCode: s.corridorCode, cutoffInMs: s.cutoffInMs, format: s.format,
      });
      await env.db.updateTable('departures').set({ operator_org_id: S[s.operator].me.org.id }).where('id', '=', d.departureId).execute();
      deps.push({ departureId: d.departureId, listingId: d.listingId, operator: s.operator });
    }
    range = { from: day(Date.now()), to: day(Date.now() + 6 * DAY) };
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const get = (s: Session, url: string) => as(built.app, s)({ method: 'GET', url });

  /** The figures of the test departures computed in plain code from the raw rows. */
  async function rawFigures() {
    const ids = deps.map((d) => d.departureId);
    const bookings = await env.db
      .selectFrom('bookings as b')
      .innerJoin('listings as l', 'l.id', 'b.listing_id')
      .select(['b.departure_id', 'b.forwarder_org_id', 'b.status', 'b.teu', 'b.total_cents', 'b.co2e_kg', 'b.road_co2e_kg', 'b.cancellation_fee_cents', 'l.format'])
      .where('b.departure_id', 'in', ids)
      .execute();
    const auctions = await env.db.selectFrom('listings').selectAll().where('departure_id', 'in', ids).where('status', '=', 'closed').execute();
    const departures = await env.db.selectFrom('departures').select(['id', 'booked_teu', 'held_teu', 'capacity_teu']).where('id', 'in', ids).execute();
    const per = new Map<string, { bookedTeu: number; revenueCents: number; bookings: number; cancellations: number; cancelledTeu: number; fees: number; co2: number; road: number; fmt: Record<string, number>; awarded: number; clearing: number; reserve: number }>();
    for (const id of ids) per.set(id, { bookedTeu: 0, revenueCents: 0, bookings: 0, cancellations: 0, cancelledTeu: 0, fees: 0, co2: 0, road: 0, fmt: { fixed: 0, falling: 0, ascending: 0, sealed: 0 }, awarded: 0, clearing: 0, reserve: 0 });
    for (const b of bookings) {
      const p = per.get(b.departure_id)!;
      if (b.status === 'cancelled') {
        p.cancellations++;
        p.cancelledTeu += b.teu;
        p.fees += b.cancellation_fee_cents ?? 0;
      } else {
        p.bookings++;
        p.bookedTeu += b.teu;
        p.revenueCents += b.total_cents;
        p.co2 += b.co2e_kg;
        p.road += b.road_co2e_kg;
        p.fmt[b.format]! += b.teu;
      }
    }
    for (const l of auctions) {
      if (l.format !== 'ascending' && l.format !== 'sealed') continue;
      const p = per.get(l.departure_id)!;
      p.awarded += l.awarded_teu ?? 0;
      p.clearing += (l.clearing_price_cents ?? 0) * (l.awarded_teu ?? 0);
      p.reserve += (l.reserve_price_cents ?? 0) * (l.awarded_teu ?? 0);
    }
    return { per, departures, bookings };
  }

  /** The API (scheduler, per departure; each forwarder's totals) against rawFigures(), and the repository's own verification. */
  async function expectTrue() {
    const verdict = await built.ctx.services.stats.verify();
    expect(verdict.differences, 'rollups vs recomputation').toEqual([]);
    const { per, departures, bookings } = await rawFigures();
    const r = await get(S.sched, `/api/stats/utilisation?groupBy=departure&from=${range.from}&to=${range.to}&detail=full`);
    expect(r.statusCode, r.body).toBe(200);
    const rows = new Map((r.json().rows as { departureId: string; [k: string]: unknown }[]).map((x) => [x.departureId, x as Record<string, any>]));
    // without detail (the default, read by its own statement): the same rows less the detail figures, the same totals
    const slim = await get(S.sched, `/api/stats/utilisation?groupBy=departure&from=${range.from}&to=${range.to}`);
    expect(slim.statusCode, slim.body).toBe(200);
    expect(slim.json()).toEqual({ ...r.json(), asOf: slim.json().asOf, rows: (r.json().rows as Record<string, unknown>[]).map(withoutDetail) });
    for (const d of departures) {
      const row = rows.get(d.id)!;
      const p = per.get(d.id)!;
      expect(row, `departure ${d.id} in the answer`).toBeDefined();
      expect(row.bookedTeu).toBe(d.booked_teu); // the capacity path's own counter agrees with the booking rollup
      expect(row.heldTeu).toBe(d.held_teu);
      expect(row.capacityTeu).toBe(d.capacity_teu);
      expect({
        bookedTeu: row.bookedTeu, revenueCents: row.revenueCents, bookings: row.bookings, cancellations: row.cancellations, cancelledTeu: row.cancelledTeu,
        fees: row.cancellationFeesCents, co2: row.co2eKg, road: row.roadCo2eKg, saved: row.co2eSavedKg, trucks: row.trucksAvoided,
        fmt: Object.fromEntries(Object.entries(row.byFormat).map(([k, v]) => [k, (v as { teu: number }).teu])),
        awarded: row.auction.awardedTeu, clearing: row.auction.clearingCents, reserve: row.auction.reserveCents,
      }).toEqual({
        bookedTeu: p.bookedTeu, revenueCents: p.revenueCents, bookings: p.bookings, cancellations: p.cancellations, cancelledTeu: p.cancelledTeu,
        fees: p.fees, co2: p.co2, road: p.road, saved: p.road - p.co2, trucks: Math.round(p.bookedTeu / 2), fmt: p.fmt,
        awarded: p.awarded, clearing: p.clearing, reserve: p.reserve,
      });
    }
    // every other grouping reads the corridor × day rollup (folded rows + pending deltas): same totals as the
    // departures, before and after the fold
    const perDeparture = r.json().totals as Record<string, unknown>;
    const pick = (t: Record<string, unknown>) => ({
      departures: t.departures, capacityTeu: t.capacityTeu, heldTeu: t.heldTeu, bookedTeu: t.bookedTeu, revenueCents: t.revenueCents,
      cancellations: t.cancellations, cancellationFeesCents: t.cancellationFeesCents, co2eKg: t.co2eKg, byFormat: t.byFormat, auction: t.auction,
    });
    for (const fold of [false, true]) {
      if (fold) await built.ctx.services.stats.fold();
      const byDay = await get(S.sched, `/api/stats/utilisation?groupBy=corridor-day&from=${range.from}&to=${range.to}`);
      expect(byDay.statusCode, byDay.body).toBe(200);
      expect(pick(byDay.json().totals), `corridor-day totals (folded: ${fold})`).toEqual(pick(perDeparture));
      const full = await get(S.sched, `/api/stats/utilisation?groupBy=corridor-day&from=${range.from}&to=${range.to}&detail=full`);
      expect(byDay.json(), `corridor-day without and with detail (folded: ${fold})`).toEqual({ ...full.json(), asOf: byDay.json().asOf, rows: (full.json().rows as Record<string, unknown>[]).map(withoutDetail) });
      expect((await built.ctx.services.stats.verify()).differences, `after the fold: ${fold}`).toEqual([]);
    }
    for (const f of ['f1', 'f2'] as const) {
      const mine = bookings.filter((b) => b.forwarder_org_id === S[f].me.org.id);
      const live = mine.filter((b) => b.status !== 'cancelled');
      const t = await get(S[f], `/api/stats/kpis?from=${range.from}&to=${range.to}`);
      expect(t.statusCode, t.body).toBe(200);
      expect(t.json().scope).toBe('forwarder');
      expect(t.json().current).toMatchObject({
        bookedTeu: live.reduce((a, b) => a + b.teu, 0),
        revenueCents: live.reduce((a, b) => a + b.total_cents, 0),
        cancellations: mine.length - live.length,
        co2eSavedKg: live.reduce((a, b) => a + b.road_co2e_kg - b.co2e_kg, 0),
        capacityTeu: null,
        loadFactor: null,
      });
    }
  }

  type Op =
    | { k: 'hold'; f: 0 | 1; dep: number; teu: number; confirm: boolean }
    | { k: 'confirm' | 'release'; i: number }
    | { k: 'cancel' | 'settle' | 'refund'; i: number }
    | { k: 'auction'; dep: number; format: 'sealed' | 'ascending'; teu: number; reserve: number }
    | { k: 'bid'; f: 0 | 1; i: number; teu: number; price: number }
    | { k: 'close'; i: number };

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ k: fc.constant('hold' as const), f: fc.constantFrom(0 as const, 1 as const), dep: fc.nat(2), teu: fc.integer({ min: 1, max: 6 }), confirm: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('confirm' as const), i: fc.nat(50) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('release' as const), i: fc.nat(50) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('cancel' as const), i: fc.nat(50) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('settle' as const), i: fc.nat(50) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('refund' as const), i: fc.nat(50) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('auction' as const), dep: fc.nat(2), format: fc.constantFrom('sealed' as const, 'ascending' as const), teu: fc.integer({ min: 2, max: 8 }), reserve: fc.integer({ min: 1_000, max: 30_000 }) }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('bid' as const), f: fc.constantFrom(0 as const, 1 as const), i: fc.nat(20), teu: fc.integer({ min: 1, max: 5 }), price: fc.integer({ min: 500, max: 60_000 }) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('close' as const), i: fc.nat(20) }) },
  );

  it('equal the recomputation — and the API the raw rows — after random sequences of holds, confirms, cancels, auction closes and settlements', async () => {
    const holds: { id: string; f: 'f1' | 'f2' }[] = [];
    const bookings: { id: string; f: 'f1' | 'f2' }[] = [];
    const auctions: string[] = [];
    const served: number[] = [];
    const did = { confirmed: 0, cancelled: 0, settled: 0, refunded: 0, closed: 0, awarded: 0 };
    const pick = <T>(xs: T[], i: number) => (xs.length ? xs[i % xs.length] : undefined);
    const ok = (status: number, body: string) => {
      expect(status, body).toBeLessThan(500); // refusals (capacity, share cap, closed listing…) are fine; crashes are not
      return status < 300;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 30 }), async (ops) => {
        for (const op of ops) {
          switch (op.k) {
            case 'hold': {
              const f = op.f ? 'f2' : 'f1';
              const r = await as(built.app, S[f])({ method: 'POST', url: '/api/holds', payload: { listingId: deps[op.dep]!.listingId, teu: op.teu, tonnes: op.teu * 10 } });
              if (!ok(r.statusCode, r.body)) break;
              if (op.confirm) {
                const c = await as(built.app, S[f])({ method: 'POST', url: `/api/holds/${r.json().id}/confirm`, payload: { reference: 'prop' } });
                if (ok(c.statusCode, c.body)) {
                  bookings.push({ id: c.json().id, f });
                  did.confirmed++;
                }
              } else holds.push({ id: r.json().id, f });
              break;
            }
            case 'confirm':
            case 'release': {
              const h = pick(holds, op.i);
              if (!h) break;
              holds.splice(holds.indexOf(h), 1);
              const r = op.k === 'confirm'
                ? await as(built.app, S[h.f])({ method: 'POST', url: `/api/holds/${h.id}/confirm`, payload: {} })
                : await as(built.app, S[h.f])({ method: 'DELETE', url: `/api/holds/${h.id}` });
              if (ok(r.statusCode, r.body) && op.k === 'confirm') {
                bookings.push({ id: r.json().id, f: h.f });
                did.confirmed++;
              }
              break;
            }
            case 'cancel': {
              const b = pick(bookings, op.i);
              if (b && ok((await as(built.app, S[b.f])({ method: 'DELETE', url: `/api/bookings/${b.id}` })).statusCode, 'cancel')) did.cancelled++;
              break;
            }
            case 'settle': {
              const b = pick(bookings, op.i);
              if (b && !(await built.ctx.services.ledger.settleBooking(b.id)).already) did.settled++;
              break;
            }
            case 'refund': {
              const b = pick(bookings, op.i);
              if (b && (await built.ctx.services.ledger.refundBooking(b.id)).transactionId) did.refunded++;
              break;
            }
            case 'auction': {
              const d = deps[op.dep]!;
              const r = await as(built.app, S[d.operator])({
                method: 'POST', url: '/api/listings',
                payload: {
                  departureId: d.departureId, format: op.format, teu: op.teu, reservePriceCents: op.reserve,
                  ...(op.format === 'ascending' ? { minIncrementCents: 100 } : {}), closesAt: new Date(Date.now() + 3_600_000).toISOString(),
                },
              });
              if (ok(r.statusCode, r.body)) auctions.push(r.json().id);
              break;
            }
            case 'bid': {
              const l = pick(auctions, op.i);
              const f = op.f ? 'f2' : 'f1';
              if (l) ok((await as(built.app, S[f])({ method: 'POST', url: `/api/listings/${l}/bids`, payload: { teu: op.teu, unitPriceCents: op.price } })).statusCode, 'bid');
              break;
            }
            case 'close': {
              const l = pick(auctions, op.i);
              if (!l) break;
              auctions.splice(auctions.indexOf(l), 1);
              // the close is decided by the database clock: move this auction's close into the past, then run the close job
              await sql`update listings set closes_at = now() - interval '1 second', max_close_at = now() - interval '1 second' where id = ${l}`.execute(env.db);
              const out = await built.ctx.services.auctions.close(l);
              expect(out.done, JSON.stringify(out)).toBe(true);
              did.closed++;
              for (const id of (out as { bookings?: string[] }).bookings ?? []) {
                const b = await env.db.selectFrom('bookings').select('forwarder_org_id').where('id', '=', id).executeTakeFirstOrThrow();
                bookings.push({ id, f: b.forwarder_org_id === S.f1.me.org.id ? 'f1' : 'f2' });
                did.awarded++;
              }
              break;
            }
          }
        }
        served.push(ops.length);
        await expectTrue();
      }),
      { numRuns: 15, seed: Number(process.env.STATS_SEED ?? 11_2026), endOnFailure: true },
    );
    // what was exercised: the sequences did move the figures
    const { bookings: all } = await rawFigures();
    for (const what of ['confirmed', 'cancelled', 'settled', 'closed', 'awarded'] as const) expect(did[what], `operations that took effect: ${what}`).toBeGreaterThan(0);
    // settle and refund whatever is left, as the worker's sweep would (settlement is a write path too), and check again
    await built.ctx.services.ledger.sweep(0, 10_000);
    await expectTrue();
    console.log(`stats property: ${served.length} sequences, ${served.reduce((a, b) => a + b, 0)} operations, ${all.length} bookings; took effect: ${JSON.stringify(did)}`);
  }, 120_000);

  it('finds a corrupted rollup (table of differences) and rebuilds it, through the service and the stats:rebuild CLI', async () => {
    const target = deps[0]!.departureId;
    await sql`insert into stats_departure (departure_id, booked_teu) values (${target}, 7)
      on conflict (departure_id) do update set booked_teu = stats_departure.booked_teu + 7, revenue_cents = stats_departure.revenue_cents - 1`.execute(env.db);
    const bad = await built.ctx.services.stats.verify();
    expect(bad.ok).toBe(false);
    expect(bad.differences).toContainEqual(expect.objectContaining({ table: 'stats_departure', departureId: target, column: 'booked_teu' }));

    const tsx = path.resolve('node_modules/.bin/tsx');
    const cli = (...args: string[]) => run(tsx, ['server/cli/stats-rebuild.ts', ...args], { env: { ...process.env, DATABASE_URL: env.databaseUrl } }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    const check = await cli();
    expect(check.code, check.out).toBe(1);
    expect(check.out).toMatch(/booked_teu/);
    expect(check.out).toMatch(/DIFFERENCES FOUND/);
    const fixed = await cli('--fix');
    expect(fixed.code, fixed.out).toBe(0);
    expect(fixed.out).toMatch(/after the rebuild the rollups equal the recomputation/);
    expect((await cli()).code).toBe(0);
    await expectTrue();

    // a forwarder row with a wrong copy of its departure's day is found too
    await sql`update stats_forwarder set day = day - 1 where departure_id = ${target}`.execute(env.db);
    const v = await built.ctx.services.stats.verify();
    if ((await env.db.selectFrom('stats_forwarder').select('departure_id').where('departure_id', '=', target).execute()).length > 0) {
      expect(v.differences.some((d) => d.table === 'stats_forwarder' && d.column === 'day')).toBe(true);
    }
    await built.ctx.services.stats.rebuild();
    expect((await built.ctx.services.stats.verify()).ok).toBe(true);
  }, 60_000);

  it('with the triggers off the rollups fall behind (and verify says so); rebuild catches them up', async () => {
    await setRollupsEnabled(env.db, false);
    try {
      const h = await as(built.app, S.f1)({ method: 'POST', url: '/api/holds', payload: { listingId: deps[2]!.listingId, teu: 1, tonnes: 10 } });
      expect(h.statusCode, h.body).toBe(201);
      const c = await as(built.app, S.f1)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} });
      expect(c.statusCode, c.body).toBe(201);
      expect((await built.ctx.services.stats.verify()).ok).toBe(false);
    } finally {
      await setRollupsEnabled(env.db, true);
    }
    await built.ctx.services.stats.rebuild();
    await expectTrue();
  });

  it('known figures: one fixed booking and one sealed auction on a fresh departure', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 3000, listedTeu: 40, unitPriceCents: 50_000, corridorCode: 'ESZAZ-FRLIL-rail', cutoffInMs: 4 * DAY });
    await env.db.updateTable('departures').set({ operator_org_id: S.op2.me.org.id }).where('id', '=', d.departureId).execute();
    deps.push({ departureId: d.departureId, listingId: d.listingId, operator: 'op2' }); // expectTrue() checks it too
    const h = await as(built.app, S.f1)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 10, tonnes: 200 } });
    const b = await as(built.app, S.f1)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} });
    expect(b.statusCode, b.body).toBe(201);
    const l = await as(built.app, S.op2)({
      method: 'POST', url: '/api/listings',
      payload: { departureId: d.departureId, format: 'sealed', teu: 6, reservePriceCents: 20_000, closesAt: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect(l.statusCode, l.body).toBe(201);
    for (const [f, teu, price] of [['f1', 4, 30_000], ['f2', 4, 25_000]] as const) {
      const r = await as(built.app, S[f])({ method: 'POST', url: `/api/listings/${l.json().id}/bids`, payload: { teu, unitPriceCents: price } });
      expect(r.statusCode, r.body).toBe(201);
    }
    await sql`update listings set closes_at = now() - interval '1 second', max_close_at = now() - interval '1 second' where id = ${l.json().id}`.execute(env.db);
    const closed = await built.ctx.services.auctions.close(l.json().id);
    expect(closed.done).toBe(true);
    const listing = await env.db.selectFrom('listings').selectAll().where('id', '=', l.json().id).executeTakeFirstOrThrow();
    const clearing = listing.clearing_price_cents!;
    expect(listing.awarded_teu).toBe(6);

    const dep = day(Date.now() + 4 * DAY + 4 * 3_600_000);
    const r = await get(S.sched, `/api/stats/utilisation?groupBy=departure&from=${dep}&to=${dep}&corridorId=${d.corridorId}&detail=full`);
    expect(r.statusCode, r.body).toBe(200);
    const row = (r.json().rows as Record<string, any>[]).find((x) => x.departureId === d.departureId)!;
    const raw = await env.db
      .selectFrom('bookings')
      .select([
        sql<number>`sum(co2e_kg)::int`.as('co2'), sql<number>`sum(road_co2e_kg)::int`.as('road'),
        sql<number>`(sum(total_cents) filter (where bid_id is not null))::int`.as('auctionRevenue'),
      ])
      .where('departure_id', '=', d.departureId)
      .executeTakeFirstOrThrow();
    const revenue = 10 * 50_000 + raw.auctionRevenue;
    expect(row).toMatchObject({
      departures: 1, capacityTeu: 100, bookedTeu: 16, heldTeu: 0, freeTeu: 84, loadFactor: 0.16, bookings: 3,
      revenueCents: revenue, avgUnitPriceCents: Math.round(revenue / 16),
      co2eKg: raw.co2, roadCo2eKg: raw.road, co2eSavedKg: raw.road - raw.co2, trucksAvoided: 8, minLoadTeu: 40, status: 'scheduled',
      byFormat: {
        fixed: { teu: 10, revenueCents: 500_000, avgUnitPriceCents: 50_000 },
        sealed: { teu: 6, revenueCents: raw.auctionRevenue, avgUnitPriceCents: Math.round(raw.auctionRevenue / 6) },
        ascending: { teu: 0, revenueCents: 0, avgUnitPriceCents: null },
      },
      auction: { awardedTeu: 6, clearingCents: 6 * clearing, reserveCents: 120_000, clearingVsReservePct: Math.round(((clearing - 20_000) / 20_000) * 1000) / 10 },
    });
    expect(raw.road).toBeGreaterThan(raw.co2);
    // the winners' own view: each sees its awarded TEU (at the clearing price) and no departure figures
    let awarded = 0;
    for (const f of ['f1', 'f2'] as const) {
      const fr = await get(S[f], `/api/stats/utilisation?groupBy=departure&from=${dep}&to=${dep}&detail=full`);
      expect(fr.statusCode, fr.body).toBe(200);
      const mine = (fr.json().rows as Record<string, any>[]).find((x) => x.departureId === d.departureId)!;
      expect(mine).toMatchObject({ capacityTeu: null, loadFactor: null, departures: null, heldTeu: null });
      expect(mine.auction.clearingCents).toBe(mine.auction.awardedTeu * clearing);
      awarded += mine.auction.awardedTeu;
      // without detail: the same row less the detail figures; the totals (one departure) still have them all
      const slim = (await get(S[f], `/api/stats/utilisation?groupBy=departure&from=${dep}&to=${dep}`)).json();
      expect(slim.rows.find((x: { departureId: string }) => x.departureId === d.departureId)).toEqual(withoutDetail(mine));
      expect(slim.totals).toEqual(fr.json().totals);
    }
    expect(awarded).toBe(6);
    // the answer's shapes: API.md's row by default (key fields first, then the figures), every figure with
    // detail=full, in the totals and in the CSV
    const keys = ['departureId', 'corridorId', 'corridorCode', 'departsAt', 'cutoffAt', 'assetName', 'operatorOrgId', 'minLoadTeu', 'status'];
    const slimFigures = ['departures', 'capacityTeu', 'bookedTeu', 'heldTeu', 'loadFactor', 'revenueCents', 'avgUnitPriceCents', 'co2eKg', 'roadCo2eKg', 'co2eSavedKg', 'trucksAvoided'];
    const plain = (await get(S.sched, `/api/stats/utilisation?groupBy=departure&from=${dep}&to=${dep}&corridorId=${d.corridorId}`)).json();
    const slimRow = (plain.rows as Record<string, any>[]).find((x) => x.departureId === d.departureId)!;
    expect(Object.keys(slimRow)).toEqual([...keys, ...slimFigures]);
    expect(slimRow).toEqual(withoutDetail(row));
    expect(Object.keys(row)).toEqual(expect.arrayContaining(DETAIL_FIELDS));
    expect(plain.totals).toEqual(r.json().totals);
    expect(plain.totals.byFormat.sealed.teu).toBeGreaterThanOrEqual(6);
    const csv = await get(S.sched, `/api/stats/utilisation?groupBy=departure&from=${dep}&to=${dep}&corridorId=${d.corridorId}&format=csv`);
    const [head, ...lines] = csv.body.trim().split('\r\n');
    expect(head!.split(',')).toEqual(expect.arrayContaining(['fixedTeu', 'sealedRevenueCents', 'auctionClearingCents', 'cancellations', 'freeTeu']));
    expect(lines.find((l) => l.startsWith(d.departureId))!.split(',')[head!.split(',').indexOf('auctionAwardedTeu')]).toBe('6');
    // per corridor and day, a forwarder's too
    for (const s of [S.sched, S.f1]) {
      const a = (await get(s, `/api/stats/utilisation?groupBy=corridor-day&from=${dep}&to=${dep}`)).json();
      const b = (await get(s, `/api/stats/utilisation?groupBy=corridor-day&from=${dep}&to=${dep}&detail=full`)).json();
      expect(a).toEqual({ ...b, asOf: a.asOf, rows: (b.rows as Record<string, unknown>[]).map(withoutDetail) });
      expect(a.rows.length).toBeGreaterThan(0);
    }
    await expectTrue();
  });
});

describe('statistics: bad input is a clear 400 or a bounded answer', () => {
  let env: TestEnv;
  let built: App;
  let sched: Session;
  const today = day(Date.now());
  const yearAgo = day(Date.now() - 364 * DAY);
  let someCorridor = '';

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    sched = await signIn(built.app, 'scheduler@demo.test');
    // 5,000 extra corridors between 100 extra clusters, each with three departures in the past year: a
    // year at corridor × day granularity is ~15,000 rows.
    await sql`insert into clusters (code, name, country, lat, lon)
      select 'QQ' || chr(65 + i / 26 / 26 % 26) || chr(65 + i / 26 % 26) || chr(65 + i % 26), 'Cluster ' || i, 'DE', 50 + i / 100.0, 6 + i / 100.0
        from generate_series(0, 99) i`.execute(env.db);
    await sql`insert into corridors (code, from_cluster_id, to_cluster_id, mode, distance_km)
      select a.code || '-' || b.code || '-rail', a.id, b.id, 'rail', 300
        from clusters a join clusters b on a.id <> b.id where a.code like 'QQ%' and b.code like 'QQ%' order by a.code, b.code limit 5000`.execute(env.db);
    const op = await env.db.selectFrom('organisations').select('id').where('kind', '=', 'operator').executeTakeFirstOrThrow();
    await sql`insert into departures (corridor_id, operator_org_id, asset_name, departs_at, arrives_at, cutoff_at, capacity_teu, capacity_tonnes)
      select c.id, ${op.id}, 'Bulk', t, t + interval '1 day', t - interval '2 hours', 60, 1200
        from corridors c cross join lateral (values (now() - interval '10 days'), (now() - interval '100 days'), (now() - interval '200 days')) v(t)
       where c.code like 'QQ%'`.execute(env.db);
    someCorridor = (await env.db.selectFrom('corridors').select('id').where('code', 'like', 'QQ%').executeTakeFirstOrThrow()).id;
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const expect400 = async (url: string, code: string) => {
    const r = await as(built.app, sched)({ method: 'GET', url });
    expect(r.statusCode, `${url}: ${r.body}`).toBe(400);
    const body = r.json();
    expectErrorShape(body);
    expect(body.error.code, url).toBe(code);
    return body.error.message as string;
  };

  it('to before from → invalid_range; more than 366 days → range_too_large; an impossible day → invalid_date', async () => {
    for (const ep of ['utilisation', 'kpis', 'price-index']) {
      await expect400(`/api/stats/${ep}?from=2026-05-02&to=2026-05-01`, 'invalid_range');
      await expect400(`/api/stats/${ep}?from=2025-01-01&to=2026-01-02`, 'range_too_large');
      await expect400(`/api/stats/${ep}?from=2026-02-30&to=2026-03-01`, 'invalid_date');
      await expect400(`/api/stats/${ep}?from=1970-01-01&to=1970-01-02`, 'invalid_date');
    }
    // schema-level junk is a 400 too (Fastify validation)
    for (const url of ['/api/stats/utilisation?groupBy=week', '/api/stats/utilisation?detail=all', '/api/stats/utilisation?from=yesterday', '/api/stats/at-risk?hours=0', '/api/stats/at-risk?hours=337', '/api/stats/kpis?mode=truck', '/api/stats/kpis?nope=1']) {
      const r = await as(built.app, sched)({ method: 'GET', url });
      expect(r.statusCode, url).toBe(400);
      expectErrorShape(r.json());
    }
  });

  it('unknown corridor, cluster or operator → unknown_corridor / unknown_cluster / unknown_operator', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const ep of ['utilisation', 'kpis', 'price-index', 'at-risk']) {
      await expect400(`/api/stats/${ep}?corridorId=${missing}`, 'unknown_corridor');
      await expect400(`/api/stats/${ep}?cluster=ZZZZZ`, 'unknown_cluster');
      await expect400(`/api/stats/${ep}?operatorOrgId=${missing}`, 'unknown_operator');
    }
    // a forwarder's id is no operator
    const fwd = await env.db.selectFrom('organisations').select('id').where('kind', '=', 'forwarder').executeTakeFirstOrThrow();
    await expect400(`/api/stats/utilisation?operatorOrgId=${fwd.id}`, 'unknown_operator');
  });

  it('a year at day granularity over 5,000 corridors → too_many_rows naming the filters to add; narrower asks are answered, bounded', async () => {
    const msg = await expect400(`/api/stats/utilisation?groupBy=corridor-day&from=${yearAgo}&to=${today}`, 'too_many_rows');
    expect(msg).toMatch(/corridorId/);
    await expect400(`/api/stats/utilisation?groupBy=departure&from=${yearAgo}&to=${today}`, 'too_many_rows');
    await expect400(`/api/stats/price-index?bucket=day&from=${yearAgo}&to=${today}`, 'too_many_rows');
    for (const url of [
      `/api/stats/utilisation?groupBy=corridor-day&from=${yearAgo}&to=${today}&corridorId=${someCorridor}`,
      `/api/stats/utilisation?groupBy=corridor&from=${yearAgo}&to=${today}`,
      `/api/stats/utilisation?groupBy=cluster-day&from=${yearAgo}&to=${today}`,
      `/api/stats/kpis?from=${yearAgo}&to=${today}`,
      `/api/stats/utilisation?groupBy=day&from=${yearAgo}&to=${today}&format=csv`,
    ]) {
      const r = await as(built.app, sched)({ method: 'GET', url });
      expect(r.statusCode, `${url}: ${r.body.slice(0, 200)}`).toBe(200);
    }
    const c = await as(built.app, sched)({ method: 'GET', url: `/api/stats/utilisation?groupBy=corridor&from=${yearAgo}&to=${today}` });
    const rows = c.json().rows as { departures: number }[];
    expect(rows.length).toBeGreaterThanOrEqual(5000);
    expect(rows.length).toBeLessThanOrEqual(10_000);
    const one = await as(built.app, sched)({ method: 'GET', url: `/api/stats/utilisation?groupBy=corridor-day&from=${yearAgo}&to=${today}&corridorId=${someCorridor}` });
    expect(one.json().rows.map((r: { departures: number }) => r.departures)).toEqual([1, 1, 1]);
  });
});
