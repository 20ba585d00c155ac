import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, createForwarders, departureState } from '../helpers/fixtures.ts';
import { as, bookVia, buildApp, signIn, type Session } from '../helpers/http.ts';
import { waitUntil } from '../helpers/procs.ts';

/**
 * Hostile review of low-water derating (issue 14 part 3): interleavings of readings with each other and with
 * holds / confirms / offers, itinerary legs on a derated barge, odd bodies, and the money afterwards.
 * Interleavings are forced deterministically by wrapping the service's (private) rail-alternatives step, which runs
 * between the derating's hold release and its transaction — the window another request has in production.
 */

const DAY = 86_400_000;
const KAUB_CORRIDOR = 'DEDUI-CHBSL-barge';

describe('low-water derating, hostile', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let sched: Session;
  let watcher: Session;
  let lastMeasured = 0;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000, holdMaxSharePct: 100 } });
    built = await buildApp(env.cfg);
    [f1, f2, sched] = (await Promise.all(['forwarder1', 'forwarder2', 'scheduler'].map((u) => signIn(built.app, `${u}@demo.test`)))) as [Session, Session, Session];
    const [w] = await createForwarders(env.db, 1, 'wlh');
    watcher = await signIn(built.app, w!.email);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const api = (s: Session | null) => as(built.app, s);
  /** Every reading is measured after the previous one (the latest measurement derates). */
  const measured = () => {
    lastMeasured = Math.max(Date.now() - 1_000, lastMeasured + 1);
    return new Date(lastMeasured).toISOString();
  };
  const level = (levelCm: number, gauge = 'KAUB', s: Session = sched) => api(s)({ method: 'POST', url: '/api/water-levels', payload: { gauge, levelCm, measuredAt: measured() } });
  const book = (s: Session, listingId: string, teu: number, tonnes: number) => bookVia(built.app, s, listingId, teu, tonnes);
  const bookingStatus = async (id: string) => (await env.db.selectFrom('bookings').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
  const barge = () => createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, corridorCode: KAUB_CORRIDOR, cutoffInMs: 30 * 3_600_000 });
  type Svc = { railAlternatives: (d: { id: string }, now: Date) => Promise<unknown> };
  /** Runs `during` once, when the derating of `departureId` reaches its rail-alternatives step. */
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
  const lockWaiters = async () =>
    (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(env.db)).rows[0]!.n;

  it('two readings interleaved: a newer, higher reading arriving while an older, lower one derates leaves the departure at the OLDER level', async () => {
    expect((await level(260)).statusCode).toBe(201); // full water everywhere
    const d = await barge();
    const t1 = await book(f1, d.listingId, 30, 450);
    const t2 = await book(f2, d.listingId, 20, 300);
    const t3 = await book(f1, d.listingId, 10, 150);
    let newer: { statusCode: number; json(): { applied: boolean } } | undefined;
    // 80 cm is reported; while it derates this departure, 260 cm (measured later) arrives and is applied in full
    const older = await withHook(d.departureId, async () => { newer = await level(260); }, () => level(80));
    expect(older.statusCode, older.body).toBe(201);
    expect(newer!.statusCode).toBe(201);
    expect(newer!.json().applied).toBe(true);
    const latest = (await api(sched)({ method: 'GET', url: '/api/water-levels' })).json().gauges.find((g: { gauge: string }) => g.gauge === 'KAUB');
    expect(latest.levelCm).toBe(260);
    // the latest level at Kaub is 260 cm (full loading): the departure should have its full capacity and its bookings
    const dep = await departureState(env.db, d.departureId);
    expect({ capacity: dep.capacity_teu, t1: await bookingStatus(t1), t2: await bookingStatus(t2), t3: await bookingStatus(t3) })
      .toEqual({ capacity: 100, t1: 'confirmed', t2: 'confirmed', t3: 'confirmed' });
  });

  it('a hold confirmed between the derating locking the bookings and locking the departure: the departure is not derated at all', async () => {
    expect((await level(260)).statusCode).toBe(201);
    const d = await barge();
    await book(f1, d.listingId, 30, 450);
    await book(f2, d.listingId, 20, 300);
    await book(f1, d.listingId, 10, 150);
    let confirm: Promise<{ statusCode: number; body: string }> | undefined;
    let release!: () => void;
    let blocker: Promise<unknown> | undefined;
    let poller: Promise<void> | undefined;
    const r = await withHook(
      d.departureId,
      async () => {
        // a forwarder holds 15 TEU (the departure still has its old capacity) and confirms; its confirm takes the
        // departure's lock and (held up here on the listing) commits while the derating waits for that lock
        const h = await api(f2)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 15, tonnes: 150 } });
        expect(h.statusCode, h.body).toBe(201);
        let locked!: () => void;
        const isLocked = new Promise<void>((res) => (locked = res));
        const released = new Promise<void>((res) => (release = res));
        blocker = env.db.transaction().execute(async (trx) => {
          await sql`select id from listings where id = ${d.listingId} for update`.execute(trx);
          locked();
          await released;
        });
        await isLocked;
        confirm = api(f2)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} });
        await waitUntil(async () => ((await lockWaiters()) >= 1 ? true : undefined), 'the confirm to wait on the listing', 200, 20);
        poller = (async () => {
          await waitUntil(async () => ((await lockWaiters()) >= 2 ? true : undefined), 'the derating to wait on the departure', 200, 20);
          release();
        })();
      },
      () => level(80),
    );
    await poller;
    await blocker;
    expect((await confirm!).statusCode).toBe(201);
    expect(r.statusCode, r.body).toBe(201);
    const dep = await departureState(env.db, d.departureId);
    expect(dep.held_teu + dep.booked_teu).toBeLessThanOrEqual(dep.capacity_teu); // the database guard holds…
    // …but at 80 cm the departure may carry 40 TEU: it must have been derated (and 35 TEU moved off)
    expect(dep.capacity_teu).toBe(40);
  });

  it('an open re-offer (capacity reserved as held for a watch) on the departure: a drop below it does not derate the departure', async () => {
    expect((await level(260)).statusCode).toBe(201);
    const d = await barge();
    const w = await api(watcher)({ method: 'POST', url: '/api/watches', payload: { corridorId: d.corridorId, minTeu: 2 } });
    expect(w.statusCode, w.body).toBe(201);
    const stays = await book(f2, d.listingId, 10, 100);
    const freed = await book(f1, d.listingId, 30, 300);
    expect((await api(f1)({ method: 'DELETE', url: `/api/bookings/${freed}` })).statusCode).toBe(200);
    const offers = (await api(watcher)({ method: 'GET', url: '/api/offers' })).json() as { teu: number }[];
    expect(offers.some((o) => o.teu === 30), 'the freed 30 TEU are offered to the watch').toBe(true);
    expect((await departureState(env.db, d.departureId)).held_teu).toBe(30);
    // 40 cm at Kaub: 15 % → 15 TEU / 300 t may sail
    const r = await level(40);
    expect(r.statusCode, r.body).toBe(201);
    const dep = await departureState(env.db, d.departureId);
    expect({ capacity: dep.capacity_teu, stays: await bookingStatus(stays) }).toEqual({ capacity: 15, stays: expect.any(String) });
  });

  it('a barge leg of a confirmed itinerary moved off by a derating: the itinerary is left half-cancelled and cannot be cancelled', async () => {
    expect((await level(260)).statusCode).toBe(201);
    const rail = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, corridorCode: 'FRLIL-DEDUI-rail', cutoffInMs: 2 * DAY });
    const bargeLeg = await createDepartureWithListing(env.db, { capacityTeu: 30, capacityTonnes: 600, corridorCode: KAUB_CORRIDOR, cutoffInMs: 4 * DAY });
    const first = await book(f2, bargeLeg.listingId, 10, 100); // booked first: stays
    const it0 = await api(f1)({ method: 'POST', url: '/api/itineraries', payload: { legs: [{ listingId: rail.listingId }, { listingId: bargeLeg.listingId }], teu: 20, tonnes: 200 } });
    expect(it0.statusCode, it0.body).toBe(201);
    const itId = it0.json().id as string;
    const c = await api(f1)({ method: 'POST', url: `/api/itineraries/${itId}/confirm`, payload: {} });
    expect(c.statusCode, c.body).toBe(201);
    const legs = await env.db.selectFrom('bookings').select(['id', 'departure_id', 'status']).where('itinerary_id', '=', itId).execute();
    expect(legs).toHaveLength(2);
    // 100 cm: 55 % → 16 TEU; the itinerary's 20 TEU (booked last) move off the barge
    const r = await level(100);
    expect(r.statusCode, r.body).toBe(201);
    const moved = r.json().departures.find((x: { departureId: string }) => x.departureId === bargeLeg.departureId);
    // a moved leg takes its whole itinerary with it: both legs are named
    expect([...(moved?.movedBookings ?? [])].sort()).toEqual(legs.map((l) => l.id).sort());
    expect(await bookingStatus(first)).toBe('confirmed');
    const after = await env.db.selectFrom('bookings').select(['departure_id', 'status']).where('itinerary_id', '=', itId).execute();
    const itRow = await env.db.selectFrom('itineraries').select('status').where('id', '=', itId).executeTakeFirstOrThrow();
    const states = { itinerary: itRow.status, legs: after.map((l) => (l.departure_id === rail.departureId ? `rail:${l.status}` : `barge:${l.status}`)).sort() };
    // either consistent (the whole itinerary cancelled and refunded) or at least cancellable by its forwarder
    const del = await api(f1)({ method: 'DELETE', url: `/api/itineraries/${itId}` });
    expect({ ...states, deleteStatus: del.statusCode }, del.body).toEqual({ itinerary: 'cancelled', legs: ['barge:cancelled', 'rail:cancelled'], deleteStatus: 409 });
  });

  it('concurrent holds, confirms and cancels while the water drops: no 5xx, guards hold, nothing promised beyond capacity', async () => {
    expect((await level(260)).statusCode).toBe(201);
    const d = await barge();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await book(i % 2 ? f1 : f2, d.listingId, 8, 80));
    const statuses: number[] = [];
    const work: Promise<unknown>[] = [
      level(80).then((r) => statuses.push(r.statusCode)),
      ...ids.slice(0, 3).map((id, i) => api(i % 2 ? f2 : f1)({ method: 'DELETE', url: `/api/bookings/${id}` }).then((r) => statuses.push(r.statusCode))),
      ...[f1, f2, f1, f2].map(async (s) => {
        const h = await api(s)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 5, tonnes: 50 } });
        statuses.push(h.statusCode);
        if (h.statusCode === 201) statuses.push((await api(s)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} })).statusCode);
      }),
    ];
    await Promise.all(work);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    const dep = await departureState(env.db, d.departureId);
    expect(dep.held_teu + dep.booked_teu).toBeLessThanOrEqual(dep.capacity_teu);
    const ls = await env.db.selectFrom('listings').select('remaining_teu').where('departure_id', '=', d.departureId).where('status', '=', 'open').execute();
    expect(dep.held_teu + dep.booked_teu + ls.reduce((s, l) => s + l.remaining_teu, 0)).toBeLessThanOrEqual(dep.capacity_teu);
  });

  it('an auction shrunk by a derating still awards its original TEU at close: the departure then promises more than its capacity', async () => {
    expect((await level(260)).statusCode).toBe(201);
    await env.db.updateTable('watches').set({ status: 'deleted' }).execute(); // no re-offer: a cancellation goes straight back to its listing
    const d = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, listedTeu: 40, corridorCode: KAUB_CORRIDOR, cutoffInMs: 30 * 3_600_000 });
    const now = Date.now();
    const auction = await env.db
      .insertInto('listings')
      .values({
        departure_id: d.departureId, format: 'ascending', teu: 60, remaining_teu: 60, reserve_price_cents: 20_000, min_increment_cents: 500,
        opens_at: new Date(now - 1000), closes_at: new Date(now + 3_600_000), max_close_at: new Date(now + 20 * 3_600_000), unsold_action: 'return',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const bid = await api(f2)({ method: 'POST', url: `/api/listings/${auction.id}/bids`, payload: { teu: 60, unitPriceCents: 30_000 } });
    expect(bid.statusCode, bid.body).toBe(201);
    const b = await book(f1, d.listingId, 10, 100);
    // 80 cm → 40 TEU: the fixed listing's 30 TEU come off first, then 30 of the auction's 60
    expect((await level(80)).statusCode).toBe(201);
    const promised = async () => {
      const dep = await departureState(env.db, d.departureId);
      const ls = await env.db.selectFrom('listings').select('remaining_teu').where('departure_id', '=', d.departureId).where('status', '=', 'open').execute();
      return { capacity: dep.capacity_teu, promised: dep.held_teu + dep.booked_teu + ls.reduce((s, l) => s + l.remaining_teu, 0) };
    };
    expect(await promised()).toEqual({ capacity: 40, promised: 40 });
    // the forwarder cancels its fixed booking: its 10 TEU go back to the fixed listing (still 40 promised)
    expect((await api(f1)({ method: 'DELETE', url: `/api/bookings/${b}` })).statusCode).toBe(200);
    expect(await promised()).toEqual({ capacity: 40, promised: 40 });
    // the auction closes: it may award only what it still offers (30 TEU)
    await env.db.updateTable('listings').set({ closes_at: new Date(Date.now() - 60_000) }).where('id', '=', auction.id).execute();
    const closed = await built.ctx.services.auctions.close(auction.id);
    expect(closed.done).toBe(true);
    const awarded = await env.db.selectFrom('bookings').select(sql<number>`coalesce(sum(teu),0)::int`.as('teu')).where('listing_id', '=', auction.id).executeTakeFirstOrThrow();
    expect({ awarded: awarded.teu, ...(await promised()) }).toEqual({ awarded: 30, capacity: 40, promised: 40 });
  });

  it('money: every booking cancelled by a derating refunded exactly once with fee 0, ledger verified, rollups equal', async () => {
    const cancelled = await env.db.selectFrom('bookings').select(['id', 'cancellation_fee_cents']).where('cancel_reason', '=', 'derating').execute();
    expect(cancelled.length).toBeGreaterThan(0);
    const ledger = built.ctx.services.ledger;
    for (const b of cancelled) {
      expect(b.cancellation_fee_cents).toBe(0);
      await ledger.settleBooking(b.id).catch(() => null); // a settle job arriving late changes nothing
      const a = await ledger.refundBooking(b.id);
      const again = await ledger.refundBooking(b.id);
      // charged: refunded once, then `already`; never charged (confirmed, not yet settled): nothing to give back
      if ('transactionId' in a) expect(again).toMatchObject({ already: true });
      else expect(a).toMatchObject({ skipped: 'not_charged' });
    }
    const over = await env.db.selectFrom('departures').select('id').where((eb) => eb(eb('booked_teu', '+', eb.ref('held_teu')), '>', eb.ref('capacity_teu'))).execute();
    expect(over).toEqual([]);
    const v = await verifyLedger(env.db);
    expect(v.ok, JSON.stringify(v.checks)).toBe(true);
    expect((await built.ctx.services.stats.verify()).differences).toEqual([]);
  });

  it('permissions: forwarders and operators cannot report; a scheduler API key can; a forwarder sees no other forwarder\'s moved bookings', async () => {
    const op = await signIn(built.app, 'operator1@demo.test');
    for (const s of [f1, op]) expect((await api(s)({ method: 'POST', url: '/api/water-levels', payload: { gauge: 'RUHRORT', levelCm: 500, measuredAt: measured() } })).statusCode).toBe(403);
    const key = await api(sched)({ method: 'POST', url: '/api/api-keys', payload: { name: 'gauge feed', role: 'member' } });
    expect(key.statusCode, key.body).toBe(201);
    const viaKey = await built.app.inject({ method: 'POST', url: '/api/water-levels', headers: { authorization: `Bearer ${key.json().key}` }, payload: { gauge: 'RUHRORT', levelCm: 500, measuredAt: measured() } });
    expect(viaKey.statusCode, viaKey.body).toBe(201);
    const fkey = await api(f1)({ method: 'POST', url: '/api/api-keys', payload: { name: 'fwd', role: 'admin' } });
    const viaFKey = await built.app.inject({ method: 'POST', url: '/api/water-levels', headers: { authorization: `Bearer ${fkey.json().key}` }, payload: { gauge: 'RUHRORT', levelCm: 500, measuredAt: measured() } });
    expect(viaFKey.statusCode).toBe(403);
    const f2moved = (await env.db.selectFrom('derating_moves').select('booking_id').where('forwarder_org_id', '=', f2.me.org.id).execute()).map((m) => m.booking_id);
    const seenByF1 = (await api(f1)({ method: 'GET', url: '/api/water-levels' })).body;
    for (const id of f2moved) expect(seenByF1.includes(id), `f1 sees f2's moved booking ${id}`).toBe(false);
  });

  it('hostile bodies answer 4xx, never 5xx (a leap second, odd types, odd dates)', async () => {
    const bodies: unknown[] = [
      { gauge: 'KAUB', levelCm: 200, measuredAt: '2016-12-31T23:59:60Z' },
      { gauge: 'KAUB', levelCm: 200, measuredAt: new Date(Date.now() - 60_000).toISOString().replace(/:\d\d\.\d+Z$/, ':60Z') },
      { gauge: 'KAUB', levelCm: '200', measuredAt: measured() },
      { gauge: 'KAUB', levelCm: null, measuredAt: measured() },
      { gauge: 'KAUB', levelCm: 2001, measuredAt: measured() },
      { gauge: 'KAUB', levelCm: 1e308, measuredAt: measured() },
      { gauge: 'KAUB', levelCm: 200, measuredAt: '275760-09-13T00:00:00.001Z' },
      { gauge: 'KAUB', levelCm: 200, measuredAt: '0000-01-01T00:00:00Z' },
      { gauge: 'KAUB', levelCm: 200, measuredAt: 12345 },
      { gauge: 'KAUB', levelCm: 200 },
      { gauge: 'kaub', levelCm: 200, measuredAt: measured() },
      { gauge: 'K'.repeat(500), levelCm: 200, measuredAt: measured() },
      { gauge: 'KAUB', levelCm: 200, measuredAt: measured(), extra: 1 },
      [],
      'x',
      null,
    ];
    const out: { body: unknown; status: number }[] = [];
    for (const body of bodies) {
      const r = await api(sched)({ method: 'POST', url: '/api/water-levels', payload: body as object, headers: { 'content-type': 'application/json' } });
      out.push({ body, status: r.statusCode });
    }
    expect(out.filter((o) => o.status >= 500)).toEqual([]);
  });

  it('a reading measured a few minutes ahead (within the skew) locks out every true reading until then', async () => {
    const ahead = await api(sched)({ method: 'POST', url: '/api/water-levels', payload: { gauge: 'RUHRORT', levelCm: 400, measuredAt: new Date(Date.now() + 4 * 60_000).toISOString() } });
    expect(ahead.statusCode, ahead.body).toBe(201);
    const now = await api(sched)({ method: 'POST', url: '/api/water-levels', payload: { gauge: 'RUHRORT', levelCm: 90, measuredAt: new Date(Date.now() - 1000).toISOString() } });
    expect(now.statusCode).toBe(201);
    expect(now.json().applied, 'the true, current reading is applied').toBe(true);
  });
});
