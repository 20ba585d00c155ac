import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import type { Context } from '../../server/context.ts';
import { handlers } from '../../workers/handlers.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, createForwarders, departureState } from '../helpers/fixtures.ts';
import { as, bookVia, buildApp, signIn, type Session } from '../helpers/http.ts';
import { offerInvariantViolations } from '../helpers/offers.ts';

/**
 * Hostile review of issue 14's offerees (commit a91287f): pooled shipments offered freed capacity, first refusal on a
 * rail alternative for a booking moved by low water, capacity back with the water re-listed and offered first.
 * Each test states the correct behaviour: it fails while the defect it names is present.
 */

const H = 3_600_000;
const DAY = 24 * H;
const OPEN_POOL = ['pooled', 'unplaced', 'proposed']; // what the optimiser plans with (openPoolRequests)

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

describe('offerees, hostile', () => {
  let env: TestEnv;
  let built: App;
  const F: Session[] = [];
  let seller: Session;
  let sched: Session;
  let lastMeasured = 0;

  const api = (s: Session) => as(built.app, s);
  const offersOf = async (s: Session) => (await api(s)({ method: 'GET', url: '/api/offers' })).json() as OfferJson[];
  const watch = async (s: Session, body: Record<string, unknown>) => {
    const r = await api(s)({ method: 'POST', url: '/api/watches', payload: body });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string };
  };
  const pool = async (s: Session, teu: number, tonnes: number, maxTotalCents: number, extra: Record<string, unknown> = {}) => {
    const r = await api(s)({
      method: 'POST', url: '/api/shipments',
      payload: { from: 'DEDUI', to: 'ITBLQ', teu, tonnes, readyAt: new Date(Date.now() + H).toISOString(), deliverBy: new Date(Date.now() + 6 * DAY).toISOString(), maxTotalCents, modes: ['rail'], ...extra },
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string; version: number };
  };
  const shipmentStatus = async (id: string) => (await env.db.selectFrom('shipments').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
  const remaining = async (listingId: string) => (await env.db.selectFrom('listings').select('remaining_teu').where('id', '=', listingId).executeTakeFirstOrThrow()).remaining_teu;
  /** Frees `teu` on a listing as a cancellation by the demo seller (its org is never offered it back). */
  const freeByCancel = async (listingId: string, teu: number) => {
    const b = await bookVia(built.app, seller, listingId, teu, teu * 10);
    const r = await api(seller)({ method: 'DELETE', url: `/api/bookings/${b}` });
    expect(r.statusCode, r.body).toBe(200);
  };
  /** Invariant 8 with listings: held + booked + what open listings still offer ≤ capacity. */
  const promised = async (departureId: string) => {
    const d = await departureState(env.db, departureId);
    const l = await env.db.selectFrom('listings').select(sql<number>`coalesce(sum(remaining_teu), 0)::int`.as('n')).where('departure_id', '=', departureId).where('status', '=', 'open').executeTakeFirstOrThrow();
    return { promised: d.held_teu + d.booked_teu + l.n, capacity: d.capacity_teu };
  };
  /** Every reading is measured after the previous one (the latest measurement derates). */
  const level = (gauge: string, levelCm: number) => {
    lastMeasured = Math.max(Date.now() - 1_000, lastMeasured + 1);
    return api(sched)({ method: 'POST', url: '/api/water-levels', payload: { gauge, levelCm, measuredAt: new Date(lastMeasured).toISOString() } });
  };
  const lockWaiters = async () =>
    (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(env.db)).rows[0]!.n;

  type Svc = { railAlternatives: (d: { id: string }, now: Date) => Promise<unknown> };
  /** Runs `during` once, when the derating of `departureId` reaches its rail-alternatives step (before its transaction). */
  async function withHook<T>(departureId: string, during: () => Promise<void>, body: () => Promise<T>): Promise<T> {
    const svc = built.ctx.services.waterLevels as unknown as Svc;
    const orig = svc.railAlternatives;
    let fired = false;
    svc.railAlternatives = async function (this: unknown, d, now) {
      if (!fired && d.id === departureId) {
        fired = true;
        await during();
      }
      return orig.call(svc, d, now);
    };
    try {
      return await body();
    } finally {
      svc.railAlternatives = orig;
      expect(fired, 'the interleaving was exercised').toBe(true);
    }
  }

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000, holdMaxSharePct: 100 } });
    built = await buildApp(env.cfg);
    for (const f of await createForwarders(env.db, 3, 'offhost')) F.push(await signIn(built.app, f.email));
    seller = await signIn(built.app, 'forwarder1@demo.test');
    sched = await signIn(built.app, 'scheduler@demo.test');
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });
  beforeEach(async () => {
    await env.db.updateTable('watches').set({ status: 'deleted' }).execute();
    await env.db.updateTable('shipments').set({ status: 'withdrawn' }).where('status', 'in', ['pooled', 'unplaced', 'proposed']).execute();
    for (const s of F) for (const o of await offersOf(s)) await api(s)({ method: 'POST', url: `/api/offers/${o.id}/decline` });
  });

  // ---- pooled shipments ---------------------------------------------------------------------------------------

  it('one pooled shipment is offered one lot at a time: two freed lots are not both reserved for the same 3 TEU', async () => {
    const d1 = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, unitPriceCents: 40_000 });
    const d2 = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, unitPriceCents: 40_000 });
    const s = await pool(F[0]!, 3, 30, 150_000);
    await freeByCancel(d1.listingId, 4);
    await freeByCancel(d2.listingId, 4);
    const forShipment = (await offersOf(F[0]!)).filter((o) => o.shipmentId === s.id);
    expect(forShipment.length, 'open offers reserving capacity for one 3-TEU shipment').toBeLessThanOrEqual(1);
    // accepting one: the shipment is out of the pool, and no other lot stays reserved for it
    const h = await api(F[0]!)({ method: 'POST', url: `/api/offers/${forShipment[0]!.id}/accept`, payload: {} });
    expect(h.statusCode, h.body).toBe(201);
    expect((await offersOf(F[0]!)).filter((o) => o.shipmentId === s.id)).toEqual([]);
    expect(await offerInvariantViolations(env.db, [d1.departureId, d2.departureId])).toEqual([]);
  });

  it('an accept while another transaction references the shipment never leaves the shipment held AND in the pool', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, unitPriceCents: 40_000 });
    const s = await pool(F[0]!, 3, 30, 150_000);
    await freeByCancel(d.listingId, 4);
    const [o] = await offersOf(F[0]!);
    expect(o).toMatchObject({ shipmentId: s.id });

    // another transaction references the shipment (KEY SHARE: what inserting a row naming it takes through its foreign
    // key — a proposal of the optimiser's plan, an offer of another cascade naming the same shipment)
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((res) => (locked = res));
    const released = new Promise<void>((res) => (release = res));
    const blocker = env.db.transaction().execute(async (trx) => {
      await sql`select id from shipments where id = ${s.id} for key share`.execute(trx);
      locked();
      await released;
    });
    await isLocked;
    let settled = false;
    const accept = api(F[0]!)({ method: 'POST', url: `/api/offers/${o!.id}/accept`, payload: {} }).finally(() => (settled = true));
    for (let i = 0; i < 100 && !settled && (await lockWaiters()) < 1; i++) await new Promise((r) => setTimeout(r, 20));
    release();
    await blocker;
    const r = await accept;
    expect(r.statusCode, r.body).toBeLessThan(500);
    const status = await shipmentStatus(s.id);
    expect({ accepted: r.statusCode === 201, stillInPool: OPEN_POOL.includes(status) }, 'a hold for the shipment and the shipment still planned by the optimiser').not.toEqual({ accepted: true, stillInPool: true });
    expect(await offerInvariantViolations(env.db, [d.departureId])).toEqual([]);
  });

  it('an accept does not deadlock with the optimiser writing its plan (shipments locked, then proposals naming departures)', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, unitPriceCents: 40_000 });
    const s = await pool(F[0]!, 3, 30, 150_000);
    await freeByCancel(d.listingId, 4);
    const [o] = await offersOf(F[0]!);
    expect(o).toMatchObject({ shipmentId: s.id });
    const gate = () => {
      let open!: () => void;
      const p = new Promise<void>((res) => (open = res));
      return { p, open };
    };
    const waitLocks = async (n: number) => {
      for (let i = 0; i < 200 && (await lockWaiters()) < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    // C: someone holds the listing a moment (any hold or booking on it), so the accept stops after locking the departure
    const cLocked = gate();
    const cRelease = gate();
    const c = env.db.transaction().execute(async (trx) => {
      await sql`select id from listings where id = ${d.listingId} for update`.execute(trx);
      cLocked.open();
      await cRelease.p;
    });
    await cLocked.p;
    // A: the optimiser's writePlan — lockShipments (FOR UPDATE, the pool's shipments), then inserting the plan's
    // departure proposals, whose foreign key to departures takes KEY SHARE on each departure named
    const aLocked = gate();
    const aGo = gate();
    const a = env.db.transaction().execute(async (trx) => {
      await sql`select id from shipments where id = ${s.id} for update`.execute(trx);
      aLocked.open();
      await aGo.p;
      await sql`select id from departures where id = ${d.departureId} for key share`.execute(trx);
    }).then(() => null, (err: { code?: string }) => err);
    await aLocked.p;
    // B: the forwarder accepts (departure locked, then the listing — waits for C)
    const b = api(F[0]!)({ method: 'POST', url: `/api/offers/${o!.id}/accept`, payload: {} });
    await waitLocks(1);
    aGo.open(); // A now waits for B's departure lock
    await waitLocks(2);
    cRelease.open(); // B goes on: its offer row update checks the foreign key to the shipment A holds
    await c;
    const aErr = await a;
    const r = await b;
    expect(r.statusCode, r.body).toBeLessThan(500);
    expect(aErr?.code, 'the plan\'s transaction was aborted as a deadlock victim').not.toBe('40P01');
    expect(await offerInvariantViolations(env.db, [d.departureId])).toEqual([]);
  });

  it('an accept after the optimiser proposed the shipment never leaves it held AND proposed (placed twice)', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, unitPriceCents: 40_000 });
    const s = await pool(F[0]!, 3, 30, 150_000);
    await freeByCancel(d.listingId, 4);
    const [o] = await offersOf(F[0]!);
    expect(o).toMatchObject({ shipmentId: s.id });
    // the next optimisation run proposes it (setShipmentStatuses) while the offer is open
    await env.db.updateTable('shipments').set({ status: 'proposed', version: sql`version + 1` }).where('id', '=', s.id).execute();
    const r = await api(F[0]!)({ method: 'POST', url: `/api/offers/${o!.id}/accept`, payload: {} });
    expect(r.statusCode, r.body).toBeLessThan(500);
    const status = await shipmentStatus(s.id);
    expect({ accepted: r.statusCode === 201, stillInPool: OPEN_POOL.includes(status) }, 'a hold for the shipment and its proposal still open').not.toEqual({ accepted: true, stillInPool: true });
  });

  it('an offer made for a shipment\'s old terms does not withdraw the shipment its forwarder changed since', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, unitPriceCents: 40_000 });
    const s = await pool(F[0]!, 3, 30, 150_000);
    await freeByCancel(d.listingId, 4);
    const [o] = await offersOf(F[0]!);
    expect(o).toMatchObject({ shipmentId: s.id, teu: 4 });
    // the forwarder now needs 10 TEU to a different destination: the 4-TEU lot to ITBLQ no longer places it
    const ch = await api(F[0]!)({ method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { teu: 10, tonnes: 100, to: 'NLRTM', maxTotalCents: 600_000 } });
    expect(ch.statusCode, ch.body).toBe(200);
    const r = await api(F[0]!)({ method: 'POST', url: `/api/offers/${o!.id}/accept`, payload: {} });
    expect(r.statusCode, r.body).toBeLessThan(500);
    const status = await shipmentStatus(s.id);
    expect({ accepted: r.statusCode === 201, withdrawn: status === 'withdrawn' }, 'a 10-TEU DEDUI→NLRTM shipment silently withdrawn by a 4-TEU hold to ITBLQ').not.toEqual({ accepted: true, withdrawn: true });
  });

  it('another organisation cannot accept, decline or see an offer made for a shipment; its shipment stays pooled', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, unitPriceCents: 40_000 });
    const s = await pool(F[0]!, 3, 30, 150_000);
    await freeByCancel(d.listingId, 4);
    const [o] = await offersOf(F[0]!);
    expect(o).toMatchObject({ shipmentId: s.id });
    expect(await offersOf(F[1]!)).toEqual([]);
    expect((await api(F[1]!)({ method: 'POST', url: `/api/offers/${o!.id}/accept`, payload: {} })).statusCode).toBe(404);
    expect((await api(F[1]!)({ method: 'POST', url: `/api/offers/${o!.id}/decline` })).statusCode).toBe(404);
    expect((await api(F[1]!)({ method: 'POST', url: `/api/offers/${o!.id}/accept`, payload: { teu: 99999999999 } })).statusCode).toBeLessThan(500);
    expect(await shipmentStatus(s.id)).toBe('pooled');
    // odd quantities from the offeree: 4xx, never 5xx, nothing changed
    for (const payload of [{ teu: 0 }, { teu: 5 }, { tonnes: 1 }, { teu: 2, tonnes: 1 }, { tonnes: 10_000 }]) {
      const r = await api(F[0]!)({ method: 'POST', url: `/api/offers/${o!.id}/accept`, payload });
      expect(r.statusCode, JSON.stringify(payload) + r.body).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, JSON.stringify(payload) + r.body).toBeLessThan(500);
    }
    expect(await shipmentStatus(s.id)).toBe('pooled');
    expect(await offerInvariantViolations(env.db, [d.departureId])).toEqual([]);
  });

  // ---- capacity back with the water ------------------------------------------------------------------------------

  it('a rise re-lists what the derating cut, not the TEU already sold from the listing (nor the operator\'s unlisted room)', async () => {
    expect((await level('KAUB', 250)).statusCode).toBe(201);
    // 100 TEU, the operator lists 50 and keeps 50 for itself; 30 of the 50 are sold
    const barge = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, listedTeu: 50, corridorCode: 'DEDUI-CHBSL-barge', cutoffInMs: 40 * H, unitPriceCents: 28_000 });
    await bookVia(built.app, F[0]!, barge.listingId, 30, 300);
    expect(await remaining(barge.listingId)).toBe(20);
    expect((await level('KAUB', 80)).statusCode).toBe(201); // 40 %: 30 booked + 20 listed > 40 → the listing is cut by 10
    expect(await remaining(barge.listingId)).toBe(10);
    expect((await level('KAUB', 250)).statusCode).toBe(201); // full again
    // back to what the listing had before it was cut (20), not to its original 50 (30 of which were sold)
    expect(await remaining(barge.listingId)).toBe(20);
    const p = await promised(barge.departureId);
    expect(p.promised).toBeLessThanOrEqual(p.capacity);
    expect(await offerInvariantViolations(env.db, [barge.departureId])).toEqual([]);
  });

  it('a rise offered first: the lot reserved is never more than the listing gave back; the board and the offer add up', async () => {
    expect((await level('KAUB', 250)).statusCode).toBe(201);
    const barge = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, corridorCode: 'DEDUI-CHBSL-barge', cutoffInMs: 40 * H, unitPriceCents: 28_000, format: 'falling' });
    await bookVia(built.app, F[0]!, barge.listingId, 10, 100);
    await watch(F[1]!, { corridorId: barge.corridorId, minTeu: 5 });
    expect((await level('KAUB', 120)).statusCode).toBe(201); // 65 %
    expect((await level('KAUB', 80)).statusCode).toBe(201); // 40 %
    const before = await remaining(barge.listingId);
    expect(before).toBe(30);
    expect((await level('KAUB', 250)).statusCode).toBe(201);
    const [o] = (await offersOf(F[1]!)).filter((x) => x.departureId === barge.departureId);
    expect(o).toMatchObject({ departureId: barge.departureId, reason: 'derating', teu: 60 });
    const p = await promised(barge.departureId);
    expect(p).toEqual({ promised: 100, capacity: 100 });
    expect(await offerInvariantViolations(env.db, [barge.departureId])).toEqual([]);
    // the water falls to nothing while the rise's offer is open: cancelled, nothing left reserved or offered
    expect((await level('KAUB', 20)).statusCode).toBe(201);
    const open = await env.db.selectFrom('offers').select('id').where('departure_id', '=', barge.departureId).where('status', '=', 'open').execute();
    expect(open).toEqual([]);
    expect(await departureState(env.db, barge.departureId)).toMatchObject({ held_teu: 0, booked_teu: 0 });
    expect(await offerInvariantViolations(env.db, [barge.departureId])).toEqual([]);
    expect((await level('KAUB', 250)).statusCode).toBe(201);
  });

  it('factor 0 while a re-offer starts on the barge: the cancelled departure keeps no open offer and no reserved TEU', async () => {
    expect((await level('KAUB', 250)).statusCode).toBe(201);
    const barge = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, corridorCode: 'DEDUI-CHBSL-barge', cutoffInMs: 40 * H, unitPriceCents: 28_000 });
    await watch(F[1]!, { corridorId: barge.corridorId, minTeu: 1 });
    await bookVia(built.app, F[0]!, barge.listingId, 20, 200);
    const b = await bookVia(built.app, seller, barge.listingId, 10, 100);
    // between the derating's release of holds / re-offers and its transaction, a booking is cancelled: its 10 TEU
    // are offered to the watcher (reserved as held)
    const r = await withHook(barge.departureId, async () => {
      expect((await api(seller)({ method: 'DELETE', url: `/api/bookings/${b}` })).statusCode).toBe(200);
      expect((await offersOf(F[1]!)).filter((o) => o.departureId === barge.departureId)).toHaveLength(1);
    }, () => level('KAUB', 20));
    expect(r.statusCode, r.body).toBe(201);
    const dep = await env.db.selectFrom('departures').select(['status', 'held_teu']).where('id', '=', barge.departureId).executeTakeFirstOrThrow();
    expect(dep.status).toBe('cancelled');
    const open = await env.db.selectFrom('offers').select('id').where('departure_id', '=', barge.departureId).where('status', '=', 'open').execute();
    expect({ openOffers: open.length, held: dep.held_teu }).toEqual({ openOffers: 0, held: 0 });
    // whatever is left: the watcher's accept on a cancelled departure is refused, not a 5xx and not a hold
    for (const o of (await offersOf(F[1]!)).filter((x) => x.departureId === barge.departureId)) {
      const a = await api(F[1]!)({ method: 'POST', url: `/api/offers/${o.id}/accept`, payload: {} });
      expect(a.statusCode, a.body).toBeGreaterThanOrEqual(400);
      expect(a.statusCode, a.body).toBeLessThan(500);
    }
    expect((await level('KAUB', 250)).statusCode).toBe(201);
  });

  // ---- first refusal on a rail alternative -------------------------------------------------------------------

  /** A Ruhrort barge DEDUI→NLRTM and the only direct train with room (the demo's trains are taken off the board). */
  async function bargeAndTrain(corridor: 'NLRTM' | 'BEANR') {
    expect((await level('RUHRORT', 400)).statusCode).toBe(201);
    const barge = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, corridorCode: `DEDUI-${corridor}-barge`, cutoffInMs: 30 * H, unitPriceCents: 30_000 });
    const rail = await createDepartureWithListing(env.db, { capacityTeu: 60, capacityTonnes: 1200, corridorCode: `DEDUI-${corridor}-rail`, cutoffInMs: 34 * H, unitPriceCents: 35_000 });
    await env.db.updateTable('listings').set({ status: 'cancelled' })
      .where('departure_id', 'in', (eb) => eb.selectFrom('departures as x').innerJoin('corridors as c', 'c.id', 'x.corridor_id').select('x.id').where('c.code', '=', `DEDUI-${corridor}-rail`).where('x.id', '<>', rail.departureId))
      .execute();
    await built.ctx.services.routes.reload('full');
    return { barge, rail };
  }

  it('the derating.relocate job is the net: the relocation is made once, even when the job and a retry race', async () => {
    const { barge, rail } = await bargeAndTrain('NLRTM');
    await bookVia(built.app, F[0]!, barge.listingId, 30, 300);
    const t2 = await bookVia(built.app, F[2]!, barge.listingId, 20, 200);
    // the process "dies" right after the derating's commit: its at-once relocation never happens
    const offers = built.ctx.services.offers;
    const orig = offers.relocate.bind(offers);
    offers.relocate = async () => null;
    try {
      expect((await level('RUHRORT', 100)).statusCode).toBe(201);
    } finally {
      offers.relocate = orig;
    }
    expect(await offersOf(F[2]!)).toEqual([]);
    const job = await env.db.selectFrom('outbox').select(['job_name', 'data']).where('job_id', '=', `derating.relocate-${t2}`).execute();
    expect(job).toHaveLength(1);
    // the job delivered twice at once (a retry, a second worker): one chain, one offer, the other finds it made
    const ctx = { services: built.ctx.services, db: env.db, cfg: env.cfg } as unknown as Context;
    const run = () => handlers['derating.relocate']({ bookingId: t2 }, ctx, {} as never) as Promise<{ offered: boolean }>;
    const rs = await Promise.all([run(), run()]);
    expect(rs.map((x) => x.offered).sort()).toEqual([false, true]);
    expect((await run()).offered).toBe(false);
    const mine = await offersOf(F[2]!);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ departureId: rail.departureId, teu: 20, movedBookingId: t2, reason: 'derating' });
    expect(await env.db.selectFrom('offer_chains').select('id').where('source_id', '=', t2).execute()).toHaveLength(1);
    // nobody else sees or takes the reserved lot; the offeree's decline returns it to the board once
    expect((await api(F[0]!)({ method: 'POST', url: `/api/offers/${mine[0]!.id}/accept`, payload: {} })).statusCode).toBe(404);
    expect((await api(F[2]!)({ method: 'POST', url: `/api/offers/${mine[0]!.id}/decline` })).statusCode).toBe(204);
    expect(await remaining(rail.listingId)).toBe(60);
    expect((await run()).offered).toBe(false); // never a second first refusal for the same booking
    expect(await offerInvariantViolations(env.db, [barge.departureId, rail.departureId])).toEqual([]);
    expect((await level('RUHRORT', 400)).statusCode).toBe(201);
  });

  it('a first refusal never promises the train beyond its capacity, and a partial accept gives the rest back', async () => {
    const { barge, rail } = await bargeAndTrain('BEANR');
    await bookVia(built.app, F[1]!, barge.listingId, 25, 250);
    const moved = await bookVia(built.app, F[2]!, barge.listingId, 10, 100);
    expect((await level('RUHRORT', 100)).statusCode).toBe(201);
    const [o] = (await offersOf(F[2]!)).filter((x) => x.movedBookingId === moved);
    expect(o).toMatchObject({ departureId: rail.departureId, teu: 10 });
    const h = await api(F[2]!)({ method: 'POST', url: `/api/offers/${o!.id}/accept`, payload: { teu: 4 } });
    expect(h.statusCode, h.body).toBe(201);
    expect(await remaining(rail.listingId)).toBe(56);
    const p = await promised(rail.departureId);
    expect(p.promised).toBeLessThanOrEqual(p.capacity);
    expect(await offerInvariantViolations(env.db, [barge.departureId, rail.departureId])).toEqual([]);
    expect((await level('RUHRORT', 400)).statusCode).toBe(201);
  });
});
