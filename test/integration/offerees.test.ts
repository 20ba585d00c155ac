import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, createForwarders, departureState } from '../helpers/fixtures.ts';
import { as, bookVia, buildApp, signIn, type Session } from '../helpers/http.ts';
import { offerInvariantViolations } from '../helpers/offers.ts';

/**
 * Issue 14 — who is offered freed capacity besides watches, against the real Postgres and Redis:
 *  - a shipment waiting in the pool is offered a lot it can take, in the published order with watches (its maximum
 *    unit price ⌊max total / TEU⌋); accepting holds its own quantity and takes it out of the pool;
 *  - a forwarder whose booking low water moved off its barge gets first refusal on a rail alternative: the lot is
 *    reserved for it alone (invisible to others), at once, once; declined, it goes straight back on the open board;
 *  - capacity that comes back when the water rises goes back on the barge's listing and is offered first.
 */

const H = 3_600_000;

interface OfferJson {
  id: string;
  departureId: string;
  listingId: string;
  watchId: string | null;
  shipmentId: string | null;
  movedBookingId: string | null;
  teu: number;
  tonnes: number;
  unitPriceCents: number;
  reason: string;
}

describe('offerees: pooled shipments, moved bookings, capacity back with the water', () => {
  let env: TestEnv;
  let built: App;
  const F: Session[] = [];
  let seller: Session;
  let sched: Session;

  const api = (s: Session) => as(built.app, s);
  const offersOf = async (s: Session) => (await api(s)({ method: 'GET', url: '/api/offers' })).json() as OfferJson[];
  const watch = async (s: Session, body: Record<string, unknown>) => {
    const r = await api(s)({ method: 'POST', url: '/api/watches', payload: body });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string };
  };
  const remaining = async (listingId: string) => (await env.db.selectFrom('listings').select('remaining_teu').where('id', '=', listingId).executeTakeFirstOrThrow()).remaining_teu;
  let measured = Date.now() - 50 * 60_000;
  /** A reading measured a little after the previous one (the latest applies). */
  const level = (gauge: string, levelCm: number) => {
    measured += 60_000;
    return api(sched)({ method: 'POST', url: '/api/water-levels', payload: { gauge, levelCm, measuredAt: new Date(measured).toISOString() } });
  };

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000, holdMaxSharePct: 100 } });
    built = await buildApp(env.cfg);
    for (const f of await createForwarders(env.db, 3, 'offerees')) F.push(await signIn(built.app, f.email));
    seller = await signIn(built.app, 'forwarder1@demo.test');
    sched = await signIn(built.app, 'scheduler@demo.test');
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });
  beforeEach(async () => {
    // each test offers afresh: no watch, no demo shipment waiting in the pool
    await env.db.updateTable('watches').set({ status: 'deleted' }).execute();
    await env.db.updateTable('shipments').set({ status: 'withdrawn' }).where('status', 'in', ['pooled', 'unplaced']).execute();
    for (const s of F) for (const o of await offersOf(s)) await api(s)({ method: 'POST', url: `/api/offers/${o.id}/decline` }); // and no offer left open
  });

  it('a pooled shipment is offered freed capacity in the published order; accepting holds its quantity and takes it out of the pool', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, unitPriceCents: 40_000 });
    const pool = async (s: Session, teu: number, tonnes: number, maxTotalCents: number) => {
      const r = await api(s)({
        method: 'POST', url: '/api/shipments',
        payload: { from: 'DEDUI', to: 'ITBLQ', teu, tonnes, readyAt: new Date(Date.now() + H).toISOString(), deliverBy: new Date(Date.now() + 6 * 24 * H).toISOString(), maxTotalCents, modes: ['rail'] },
      });
      expect(r.statusCode, r.body).toBe(201);
      return r.json() as { id: string };
    };
    const s0 = await pool(F[0]!, 3, 30, 150_000); // at most 50,000 per TEU
    await watch(F[1]!, { corridorId: d.corridorId, minTeu: 1, maxUnitPriceCents: 45_000 }); // a lower maximum: after the shipment
    await pool(F[2]!, 5, 50, 1_000_000); // more TEU than the lot: never offered

    const b = await bookVia(built.app, seller, d.listingId, 4, 40);
    expect((await api(seller)({ method: 'DELETE', url: `/api/bookings/${b}` })).statusCode).toBe(200);
    const [o] = await offersOf(F[0]!);
    expect(o).toMatchObject({ teu: 4, tonnes: 40, unitPriceCents: 40_000, reason: 'cancellation', shipmentId: s0.id, watchId: null, movedBookingId: null });
    expect(await offersOf(F[1]!)).toEqual([]);
    expect(await offersOf(F[2]!)).toEqual([]);

    // accepted without quantities: the shipment's own 3 TEU / 30 t; the 4th TEU back on the board; out of the pool
    const h = await api(F[0]!)({ method: 'POST', url: `/api/offers/${o!.id}/accept`, payload: {} });
    expect(h.statusCode, h.body).toBe(201);
    expect(h.json()).toMatchObject({ teu: 3, tonnes: 30, unitPriceCents: 40_000 });
    expect(await remaining(d.listingId)).toBe(17);
    expect((await api(F[0]!)({ method: 'GET', url: `/api/shipments/${s0.id}` })).json().status).toBe('withdrawn');

    // the next freed lot: the shipment is no longer waiting, so the watch is first
    const b2 = await bookVia(built.app, seller, d.listingId, 2, 20);
    expect((await api(seller)({ method: 'DELETE', url: `/api/bookings/${b2}` })).statusCode).toBe(200);
    expect(await offersOf(F[0]!)).toEqual([]);
    const [w] = await offersOf(F[1]!);
    expect(w).toMatchObject({ teu: 2, shipmentId: null, reason: 'cancellation' });
    expect(w!.watchId).toBeTruthy();
    expect(await offerInvariantViolations(env.db, [d.departureId])).toEqual([]);
  });

  it('a moved booking gets first refusal on a rail alternative: reserved for it alone, once; the ledger refunds the barge', async () => {
    const barge = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, corridorCode: 'DEDUI-NLRTM-barge', cutoffInMs: 30 * H, unitPriceCents: 30_000 });
    const rail = await createDepartureWithListing(env.db, { capacityTeu: 60, capacityTonnes: 1200, corridorCode: 'DEDUI-NLRTM-rail', cutoffInMs: 34 * H, unitPriceCents: 35_000 });
    // the only direct train with room for the moved 20 TEU (the demo's are left out so the test knows where it goes)
    await env.db.updateTable('listings').set({ status: 'cancelled' })
      .where('departure_id', 'in', (eb) => eb.selectFrom('departures as x').innerJoin('corridors as c', 'c.id', 'x.corridor_id').select('x.id').where('c.code', '=', 'DEDUI-NLRTM-rail').where('x.id', '<>', rail.departureId))
      .execute();
    await built.ctx.services.routes.reload('full');
    await watch(F[1]!, { corridorId: rail.corridorId, minTeu: 1 }); // watches the train: never offered a relocation's lot

    const t1 = await bookVia(built.app, F[0]!, barge.listingId, 30, 300);
    const t2 = await bookVia(built.app, F[2]!, barge.listingId, 20, 200); // booked later: moves first
    for (const id of [t1, t2]) await built.ctx.services.ledger.settleBooking(id);

    // Ruhrort 100 cm: 30 % of the nominal → 30 TEU; t2 moves
    const r = await level('RUHRORT', 100);
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().departures.find((x: { departureId: string }) => x.departureId === barge.departureId)).toMatchObject({ capacityAfterTeu: 30, movedBookings: [t2] });
    const [o] = await offersOf(F[2]!);
    expect(o).toMatchObject({ departureId: rail.departureId, listingId: rail.listingId, teu: 20, tonnes: 200, unitPriceCents: 35_000, reason: 'derating', movedBookingId: t2, watchId: null });
    // reserved for it alone: off the listing, counted as held, offered to nobody else
    expect(await remaining(rail.listingId)).toBe(40);
    expect(await departureState(env.db, rail.departureId)).toMatchObject({ held_teu: 20, held_tonnes: 200 });
    expect((await api(F[1]!)({ method: 'GET', url: `/api/departures/${rail.departureId}` })).json().freeTeu).toBe(40);
    expect(await offersOf(F[1]!)).toEqual([]);
    // once: the job (or a second call) finds it made
    expect(await built.ctx.services.offers.relocate(t2)).toBeNull();
    expect(await env.db.selectFrom('offer_chains').select('id').where('source_id', '=', t2).execute()).toHaveLength(1);

    const h = await api(F[2]!)({ method: 'POST', url: `/api/offers/${o!.id}/accept`, payload: {} });
    expect(h.statusCode, h.body).toBe(201);
    expect(h.json()).toMatchObject({ departureId: rail.departureId, teu: 20, tonnes: 200, unitPriceCents: 35_000 });
    expect((await api(F[2]!)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} })).statusCode).toBe(201);

    // the barge booking refunded once, the ledger balanced; nothing overbooked anywhere
    const a = await built.ctx.services.ledger.refundBooking(t2);
    expect('transactionId' in a && a.transactionId).toBeTruthy();
    expect(await built.ctx.services.ledger.refundBooking(t2)).toMatchObject({ already: true });
    const v = await verifyLedger(env.db);
    expect(v.ok, JSON.stringify(v.checks)).toBe(true);
    expect(await offerInvariantViolations(env.db, [barge.departureId, rail.departureId])).toEqual([]);
    await level('RUHRORT', 400); // back to normal for the next test
  });

  it('a declined first refusal goes straight back on the open board, to nobody else', async () => {
    const barge = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, corridorCode: 'DEDUI-BEANR-barge', cutoffInMs: 30 * H });
    const rail = await createDepartureWithListing(env.db, { capacityTeu: 50, capacityTonnes: 1000, corridorCode: 'DEDUI-BEANR-rail', cutoffInMs: 34 * H, unitPriceCents: 36_000 });
    await env.db.updateTable('listings').set({ status: 'cancelled' })
      .where('departure_id', 'in', (eb) => eb.selectFrom('departures as x').innerJoin('corridors as c', 'c.id', 'x.corridor_id').select('x.id').where('c.code', '=', 'DEDUI-BEANR-rail').where('x.id', '<>', rail.departureId))
      .execute();
    await built.ctx.services.routes.reload('full');
    await watch(F[1]!, { corridorId: rail.corridorId, minTeu: 1 });
    await bookVia(built.app, F[0]!, barge.listingId, 25, 250); // stays: 25 + 10 > 30, the latest moves
    const moved = await bookVia(built.app, F[2]!, barge.listingId, 10, 100);

    expect((await level('RUHRORT', 100)).statusCode).toBe(201);
    const [o] = await offersOf(F[2]!);
    expect(o).toMatchObject({ departureId: rail.departureId, teu: 10, movedBookingId: moved });
    expect(await remaining(rail.listingId)).toBe(40);
    expect((await api(F[2]!)({ method: 'POST', url: `/api/offers/${o!.id}/decline` })).statusCode).toBe(204);
    expect(await remaining(rail.listingId)).toBe(50);
    expect(await offersOf(F[1]!)).toEqual([]); // not cascaded to the train's watchers: it was on the board already
    expect(await departureState(env.db, rail.departureId)).toMatchObject({ held_teu: 0 });
    expect(await offerInvariantViolations(env.db, [rail.departureId])).toEqual([]);
    await level('RUHRORT', 400);
  });

  it('capacity back with the water goes back on the listing and is offered first', async () => {
    const barge = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, corridorCode: 'DEDUI-CHBSL-barge', cutoffInMs: 40 * H, unitPriceCents: 28_000 });
    await bookVia(built.app, F[0]!, barge.listingId, 10, 100);
    expect((await level('KAUB', 80)).statusCode).toBe(201); // 40 % → 40 TEU: the listing is cut to 30
    expect(await remaining(barge.listingId)).toBe(30);
    const w = await watch(F[1]!, { corridorId: barge.corridorId, minTeu: 5 });

    expect((await level('KAUB', 250)).statusCode).toBe(201); // full capacity again: 60 TEU back
    const [o] = await offersOf(F[1]!);
    expect(o).toMatchObject({ departureId: barge.departureId, listingId: barge.listingId, teu: 60, unitPriceCents: 28_000, reason: 'derating', watchId: w.id });
    expect(await remaining(barge.listingId)).toBe(30); // reserved for the offeree meanwhile
    expect(await departureState(env.db, barge.departureId)).toMatchObject({ capacity_teu: 100, held_teu: 60, booked_teu: 10 });
    expect((await api(F[1]!)({ method: 'POST', url: `/api/offers/${o!.id}/decline` })).statusCode).toBe(204);
    expect(await remaining(barge.listingId)).toBe(90); // nobody else: on the open board
    expect(await offerInvariantViolations(env.db, [barge.departureId])).toEqual([]);
  });
});
