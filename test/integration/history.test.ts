import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRollups } from '../../server/adapters/db/stats-repo.ts';
import { StreamEventSink } from '../../server/adapters/realtime/events.ts';
import { createContext, type Context } from '../../server/context.ts';
import { cancellationFee, DEFAULT_FEE_RULE } from '../../server/core/fees.ts';
import { seedHistory, type HistorySummary } from '../../server/seed/history.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';

/**
 * Issue 11, item 1: the demo network's history (npm run seed -- --history DAYS), through the services — past
 * departures with bookings, cancellations and settled invoices, a weekly and a seasonal pattern, once.
 * A summer window (mid-May to the end of August) on a thinned timetable (scale 0.25) keeps it quick.
 */
describe('history of the demo network (npm run seed -- --history DAYS)', () => {
  let env: TestEnv;
  let ctx: Context;
  let summary: HistorySummary;
  const now = new Date('2026-09-01T00:00:00Z');
  const days = 112;
  const from = new Date(now.getTime() - days * 86_400_000);

  /** The departures of the window with their load factor. */
  const windowDepartures = () =>
    env.db
      .selectFrom('departures')
      .select(['id', 'departs_at', 'cutoff_at', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'booked_teu', 'booked_tonnes'])
      .where('departs_at', '>=', from)
      .where('departs_at', '<', now)
      .execute();

  beforeAll(async () => {
    env = await createTestEnv({ template: 'demo' });
    // built as the seed CLI builds it: the schema owner's URL
    ctx = createContext({ ...env.cfg, databaseUrl: env.ownerDatabaseUrl }, (redis) => new StreamEventSink(redis, env.cfg.redisPrefix));
    await ctx.ready();
    summary = await seedHistory(ctx, now, () => {}, { days, scale: 0.25, seed: 7 });
    console.log('seedHistory', summary);
  });
  afterAll(async () => {
    await ctx?.close();
    await env?.cleanup();
  });

  it('creates the past departures of the window with bookings, cancellations and settled invoices', async () => {
    expect(summary.skipped).toBe(false);
    expect(summary.refused).toBe(0);
    const deps = await windowDepartures();
    expect(deps.length).toBe(summary.departures);
    expect(deps.length).toBeGreaterThan(300);
    const ids = deps.map((d) => d.id);
    const bookings = await env.db
      .selectFrom('bookings as b')
      .innerJoin('departures as d', 'd.id', 'b.departure_id')
      .select(['b.id', 'b.status', 'b.hold_id', 'b.created_at', 'b.cancelled_at', 'b.total_cents', 'b.cancellation_fee_cents', 'b.co2e_kg', 'b.road_co2e_kg', 'd.departs_at', 'd.cutoff_at'])
      .where('b.departure_id', 'in', ids)
      .execute();
    expect(bookings.length).toBe(summary.bookings);
    const cancelled = bookings.filter((b) => b.status === 'cancelled');
    expect(cancelled.length).toBe(summary.cancellations);
    expect(cancelled.length).toBeGreaterThan(0);
    // every live booking was settled after its departure; booked before the cut-off; CO2e of the corridor
    for (const b of bookings) {
      expect(b.created_at.getTime()).toBeLessThan(b.cutoff_at.getTime());
      expect(b.co2e_kg).toBeGreaterThan(0);
      expect(b.road_co2e_kg).toBeGreaterThan(b.co2e_kg);
      if (b.status !== 'cancelled') expect(b.status).toBe('settled');
    }
    // cancellation fees per the listing's (default) rule at the time of the cancellation: some free, some not
    for (const b of cancelled) {
      const fee = cancellationFee(DEFAULT_FEE_RULE, b.total_cents, { departsAt: b.departs_at, cutoffAt: b.cutoff_at }, b.cancelled_at!);
      expect(b.cancellation_fee_cents).toBe(fee.feeCents);
      expect(b.cancelled_at!.getTime()).toBeLessThan(b.departs_at.getTime());
    }
    expect(cancelled.some((b) => b.cancellation_fee_cents === 0)).toBe(true);
    expect(cancelled.some((b) => (b.cancellation_fee_cents ?? 0) > 0)).toBe(true);

    // one invoice per charge (the live bookings and the cancellations with a fee), issued after the departure
    const invoices = await env.db
      .selectFrom('invoices as i')
      .innerJoin('invoice_lines as l', 'l.invoice_id', 'i.id')
      .innerJoin('bookings as b', 'b.id', 'l.booking_id')
      .innerJoin('departures as d', 'd.id', 'b.departure_id')
      .select(['i.issued_at', 'd.departs_at', 'i.kind'])
      .where('b.departure_id', 'in', ids)
      .execute();
    const charged = bookings.filter((b) => b.status === 'settled' || (b.cancellation_fee_cents ?? 0) > 0).length;
    expect(invoices.length).toBe(charged);
    expect(summary.invoices).toBe(charged);
    for (const i of invoices) {
      expect(i.kind).toBe('invoice');
      expect(i.issued_at.getTime()).toBeGreaterThanOrEqual(i.departs_at.getTime());
      expect(i.issued_at.getTime()).toBeLessThanOrEqual(now.getTime());
    }
  });

  it('went through the services: holds confirmed, audited, capacity never exceeded, ledger and rollups true', async () => {
    const deps = await windowDepartures();
    for (const d of deps) {
      expect(d.held_teu).toBe(0);
      expect(d.booked_teu).toBeLessThanOrEqual(d.capacity_teu);
      expect(d.booked_tonnes).toBeLessThanOrEqual(d.capacity_tonnes);
    }
    const ids = deps.map((d) => d.id);
    const holds = await env.db
      .selectFrom('holds')
      .select(['status', sql<number>`count(*)::int`.as('n')])
      .where('departure_id', 'in', ids)
      .groupBy('status')
      .execute();
    expect(holds).toEqual([{ status: 'confirmed', n: summary.bookings }]);
    const withoutHold = await env.db.selectFrom('bookings').select('id').where('departure_id', 'in', ids).where('hold_id', 'is', null).execute();
    expect(withoutHold).toEqual([]);
    const audits = await env.db
      .selectFrom('audit_log')
      .select(['action', sql<number>`count(*)::int`.as('n')])
      .where('action', 'in', ['hold.create', 'booking.confirm', 'booking.cancel', 'ledger.settle'])
      .groupBy('action')
      .execute();
    const n = Object.fromEntries(audits.map((a) => [a.action, a.n]));
    expect(n).toEqual({ 'hold.create': summary.bookings, 'booking.confirm': summary.bookings, 'booking.cancel': summary.cancellations, 'ledger.settle': summary.bookings });

    const ledger = await verifyLedger(env.db);
    expect(ledger.ok, JSON.stringify(ledger.checks, null, 2)).toBe(true);
    const rollups = await verifyRollups(env.db);
    expect(rollups.ok, JSON.stringify(rollups.differences.slice(0, 5))).toBe(true);
  });

  it('shows a weekly pattern (Monday and Friday busy, the weekend quiet) and a summer dip', async () => {
    const deps = await windowDepartures();
    const avg = (pred: (d: Date) => boolean) => {
      const xs = deps.filter((d) => pred(d.departs_at)).map((d) => d.booked_teu / d.capacity_teu);
      expect(xs.length).toBeGreaterThan(20);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const weekday = (...days: number[]) => (d: Date) => days.includes(d.getUTCDay());
    const monFri = avg(weekday(1, 5));
    const weekend = avg(weekday(0, 6));
    expect(monFri).toBeGreaterThan(weekend * 1.25);
    const between = (a: string, b: string) => (d: Date) => d >= new Date(a) && d < new Date(b);
    const spring = avg(between('2026-05-15', '2026-07-01'));
    const summer = avg(between('2026-07-25', '2026-08-22'));
    expect(summer).toBeLessThan(spring * 0.9);
    // the summary says the same
    expect(summary.loadByWeekday.Fri!).toBeGreaterThan(summary.loadByWeekday.Sun!);
    expect(summary.loadByMonth['2026-08']!).toBeLessThan(summary.loadByMonth['2026-06']!);
  });

  it('runs once per window: a second run changes nothing', async () => {
    const before = await tableCounts(env.db);
    const again = await seedHistory(ctx, now, () => {}, { days, scale: 0.25, seed: 7 });
    expect(again.skipped).toBe(true);
    expect(again.departures).toBe(0);
    const after = await tableCounts(env.db);
    // the only change a skipped run may make: none (not even an audit entry)
    expect(after).toEqual(before);
  });

  it("the batch paths keep the one-by-one paths' rules: cut-off, capacity, share, ownership, status", async () => {
    const { holds, bookings } = ctx.services;
    const principal = async (email: string) => {
      const u = await env.db
        .selectFrom('users as u')
        .innerJoin('memberships as m', 'm.user_id', 'u.id')
        .innerJoin('organisations as o', 'o.id', 'm.org_id')
        .select(['u.id', 'u.email', 'u.name', 'o.id as org_id', 'o.name as org_name', 'o.kind', 'm.role'])
        .where('u.email', '=', email)
        .executeTakeFirstOrThrow();
      return { kind: 'session' as const, userId: u.id, email: u.email, name: u.name, orgId: u.org_id, orgName: u.org_name, orgKind: u.kind, role: u.role };
    };
    const [f1, f2, op] = await Promise.all(['forwarder1@demo.test', 'forwarder2@demo.test', 'operator1@demo.test'].map(principal));
    // an upcoming departure of the demo timetable with its fixed listing
    const l = await env.db
      .selectFrom('listings as l')
      .innerJoin('departures as d', 'd.id', 'l.departure_id')
      .select(['l.id', 'l.remaining_teu', 'd.capacity_teu', 'd.cutoff_at'])
      .where('d.cutoff_at', '>', new Date(Date.now() + 3_600_000))
      .where('l.format', '=', 'fixed')
      .orderBy('d.departs_at')
      .executeTakeFirstOrThrow();
    const at = new Date();
    const share = Math.floor(l.capacity_teu / 2); // HOLD_MAX_SHARE_PCT 50
    const r = await holds.placeMany(
      [
        { p: f1!, listingId: l.id, teu: 1, tonnes: 10 },
        { p: op!, listingId: l.id, teu: 1, tonnes: 10 },
        { p: f1!, listingId: l.id, teu: l.remaining_teu + 1, tonnes: 10 * (l.remaining_teu + 1) },
        { p: f2!, listingId: l.id, teu: 1, tonnes: 10 },
        { p: f2!, listingId: l.id, teu: share + 1, tonnes: 10 * (share + 1) },
      ],
      at,
    );
    const code = (x: unknown) => (x instanceof Error ? (x as { code?: string }).code : 'ok');
    // (the departure has room for all of it: the listing refuses the third, the held share the fifth)
    expect(r.map(code)).toEqual(['ok', 'forbidden', 'insufficient_capacity', 'ok', 'hold_share_exceeded']);
    const late = await holds.placeMany([{ p: f1!, listingId: l.id, teu: 1, tonnes: 10 }], new Date(l.cutoff_at.getTime() + 1));
    expect(late.map(code)).toEqual(['past_cutoff']);

    const [h1, , , h2] = r as { id: string }[];
    const c = await bookings.confirmMany([
      { p: f2!, holdId: h1!.id, now: at }, // not f2's hold
      { p: f1!, holdId: h1!.id, now: at },
      { p: f2!, holdId: h2!.id, now: new Date(at.getTime() + 3_600_000 * 24) }, // expired by then
    ]);
    expect(c.map(code)).toEqual(['not_found', 'ok', 'hold_not_active']);
    const booking = c[1] as { id: string };
    const x = await bookings.cancelMany([
      { p: f2!, bookingId: booking.id, now: at },
      { p: f1!, bookingId: booking.id, now: at },
      { p: f1!, bookingId: booking.id, now: at },
    ]);
    expect(x.map(code)).toEqual(['not_found', 'ok', 'booking_not_active']);
    await ctx.services.ledger.settleBookings([booking.id]);
  });
});
