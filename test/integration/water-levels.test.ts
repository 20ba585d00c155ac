import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, departureState } from '../helpers/fixtures.ts';
import { as, bookVia, buildApp, signIn, type Session } from '../helpers/http.ts';

/**
 * Issue 14 — low-water derating: a Kaub reading derates the Duisburg ↔ Basel barges; the bookings that no longer fit
 * move (the latest booked first), each cancelled without fee and refunded exactly once (ledger verified), their
 * forwarders given rail alternatives; nothing is left overbooked, nothing promised beyond the new capacity; the
 * capacity comes back when the water rises; a level at which the barge cannot sail cancels it with every booking.
 */

const H = 3_600_000;

describe('low-water derating of barge capacity', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let sched: Session;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000, holdMaxSharePct: 100 } });
    built = await buildApp(env.cfg);
    [f1, f2, sched] = (await Promise.all(['forwarder1', 'forwarder2', 'scheduler'].map((u) => signIn(built.app, `${u}@demo.test`)))) as [Session, Session, Session];
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const book = (s: Session, listingId: string, teu: number, tonnes: number) => bookVia(built.app, s, listingId, teu, tonnes);
  const level = (levelCm: number, measuredAt = new Date(Date.now() - 60_000).toISOString(), s: Session = sched, gauge = 'KAUB') =>
    as(built.app, s)({ method: 'POST', url: '/api/water-levels', payload: { gauge, levelCm, measuredAt } });
  const bookingRow = (id: string) =>
    env.db.selectFrom('bookings').select(['status', 'cancellation_fee_cents', 'cancel_reason', 'departure_id']).where('id', '=', id).executeTakeFirstOrThrow();
  const promised = async (depId: string) => {
    const d = await departureState(env.db, depId);
    const ls = await env.db.selectFrom('listings').select('remaining_teu').where('departure_id', '=', depId).where('status', '=', 'open').execute();
    return d.held_teu + d.booked_teu + ls.reduce((s, l) => s + l.remaining_teu, 0);
  };

  it('bad readings are refused and change nothing; only schedulers and the platform report levels', async () => {
    const before = await tableCounts(env.db);
    for (const [r, code] of [
      [await level(-5), 'invalid_input'],
      [await level(120, new Date(Date.now() + 2 * H).toISOString()), 'measured_in_future'],
      [await level(120, new Date(Date.now() - 40 * 24 * H).toISOString()), 'measurement_too_old'],
      [await level(120, undefined, sched, 'NOWHERE'), 'unknown_gauge'],
    ] as const) {
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().error.code).toBe(code);
    }
    expect((await level(120, undefined, f1)).statusCode).toBe(403);
    expect(await tableCounts(env.db)).toEqual(before);
  });

  it('a drop at Kaub moves the latest bookings off, refunds each once, keeps every guard; the rise gives the capacity back', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, corridorCode: 'DEDUI-CHBSL-barge', cutoffInMs: 30 * H });
    const t1 = await book(f1, d.listingId, 30, 450);
    const t2 = await book(f2, d.listingId, 20, 300);
    const t3 = await book(f1, d.listingId, 10, 150);
    for (const id of [t1, t2, t3]) await built.ctx.services.ledger.settleBooking(id);

    // 80 cm at Kaub: 40 % of the nominal capacity → 40 TEU / 800 t; 60 TEU on board → t3 then t2 move (latest first)
    const r = await level(80);
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().applied).toBe(true);
    const mine = (r.json().departures as { departureId: string; capacityAfterTeu: number; movedBookings: string[] }[]).find((x) => x.departureId === d.departureId);
    expect(mine).toMatchObject({ capacityAfterTeu: 40 });
    expect([...mine!.movedBookings].sort()).toEqual([t2, t3].sort());
    const dep = await departureState(env.db, d.departureId);
    expect(dep).toMatchObject({ capacity_teu: 40, capacity_tonnes: 800, booked_teu: 30, booked_tonnes: 450 });
    expect(await promised(d.departureId)).toBeLessThanOrEqual(40); // nothing promised beyond the new capacity
    expect(await bookingRow(t1)).toMatchObject({ status: 'settled', cancel_reason: null });
    for (const id of [t2, t3]) expect(await bookingRow(id)).toMatchObject({ status: 'cancelled', cancellation_fee_cents: 0, cancel_reason: 'derating' });

    // refunded exactly once (the job may run again: nothing more)
    for (const id of [t2, t3]) {
      const a = await built.ctx.services.ledger.refundBooking(id);
      const b = await built.ctx.services.ledger.refundBooking(id);
      expect('transactionId' in a && a.transactionId).toBeTruthy();
      expect(b).toMatchObject({ already: true });
    }
    const v = await verifyLedger(env.db);
    expect(v.ok, JSON.stringify(v.checks)).toBe(true);
    expect((await built.ctx.services.stats.verify()).differences).toEqual([]);

    // what each sees
    const s = (await as(built.app, sched)({ method: 'GET', url: '/api/water-levels' })).json();
    expect(s.gauges.find((g: { gauge: string }) => g.gauge === 'KAUB')).toMatchObject({ levelCm: 80 });
    expect(s.derated.find((x: { departureId: string }) => x.departureId === d.departureId)).toMatchObject({ capacityBeforeTeu: 100, capacityAfterTeu: 40, movedCount: 2 });
    const w2 = (await as(built.app, f2)({ method: 'GET', url: '/api/water-levels' })).json();
    const moved = w2.myMovedBookings.find((m: { bookingId: string }) => m.bookingId === t2);
    // what a new search for that cargo needs: the corridor's ends and the booking's size
    expect(moved).toMatchObject({ departureId: d.departureId, from: 'DEDUI', to: 'CHBSL', teu: 20, tonnes: 300 });
    expect(Array.isArray(moved.alternatives)).toBe(true);
    expect(w2.derated.find((x: { departureId: string }) => x.departureId === d.departureId).movedBookings).toEqual([]); // not whose

    // a little higher (100 cm): some capacity back, nothing moved by it — the list still reads from the nominal capacity
    // and counts the bookings moved at 80 cm (a walkthrough saw "40 → 50 TEU, moved 0")
    expect((await level(100)).statusCode).toBe(201);
    const now = (await departureState(env.db, d.departureId)).capacity_teu;
    expect(now).toBeGreaterThan(40);
    expect(now).toBeLessThan(100);
    const s2 = (await as(built.app, sched)({ method: 'GET', url: '/api/water-levels' })).json();
    const row = s2.derated.find((x: { departureId: string }) => x.departureId === d.departureId);
    expect(row).toMatchObject({ capacityBeforeTeu: 100, capacityAfterTeu: now, movedCount: 2, levelCm: 100 });
    expect([...row.movedBookings].sort()).toEqual([t2, t3].sort());

    // the water rises: the nominal capacity comes back, the bookings that stayed stay
    expect((await level(260)).statusCode).toBe(201);
    const back = await env.db.selectFrom('departures').select(['capacity_teu', 'capacity_tonnes', 'nominal_capacity_teu', 'booked_teu']).where('id', '=', d.departureId).executeTakeFirstOrThrow();
    expect(back).toEqual({ capacity_teu: 100, capacity_tonnes: 2000, nominal_capacity_teu: null, booked_teu: 30 });

    // an older measurement arriving late changes nothing
    const late = await level(40, new Date(Date.now() - 2 * H).toISOString());
    expect(late.json().applied).toBe(false);
    expect((await departureState(env.db, d.departureId)).capacity_teu).toBe(100);

    // 20 cm: the barge cannot sail — cancelled with every booking, each refunded
    expect((await level(20)).statusCode).toBe(201);
    const gone = await env.db.selectFrom('departures').select(['status', 'booked_teu']).where('id', '=', d.departureId).executeTakeFirstOrThrow();
    expect(gone).toEqual({ status: 'cancelled', booked_teu: 0 });
    expect(await bookingRow(t1)).toMatchObject({ status: 'cancelled', cancellation_fee_cents: 0, cancel_reason: 'derating' });
    expect((await built.ctx.services.ledger.refundBooking(t1)) as object).toHaveProperty('transactionId');
    const v2 = await verifyLedger(env.db);
    expect(v2.ok, JSON.stringify(v2.checks)).toBe(true);
    expect((await built.ctx.services.stats.verify()).differences).toEqual([]);
    // every booking either still on a barge that carries it, or cancelled with its refund: none lost
    const over = await env.db.selectFrom('departures').select('id').where((eb) => eb('booked_teu', '>', eb.ref('capacity_teu'))).execute();
    expect(over).toEqual([]);
  });
});
