import type { Db } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { compactRollups } from '../adapters/db/stats-repo.ts';
import { insertListingsReturning, insertRunDepartures, servicesWithMode, vacuumHolds, type NewListing } from '../adapters/db/history-repo.ts';
import { userForSignIn } from '../adapters/db/users-repo.ts';
import { prng } from '../core/rng.ts';
import { validateFallingSchedule } from '../core/pricing.ts';
import { AppError } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import type { BookingsService } from '../services/bookings.ts';
import type { HoldsService } from '../services/holds.ts';
import type { LedgerService } from '../services/ledger/index.ts';
import { expandHistory, planDeparture, type DeparturePlan, type HistoryRun, type HistoryService } from './history-plan.ts';
import { demoUsers, forwarders } from './network.ts';
import type { Progress } from './seed.ts';

/** What the history needs of a context (server/context.ts builds it; the seed may not import it). */
export interface HistoryContext {
  db: Db;
  services: { holds: HoldsService; bookings: BookingsService; ledger: LedgerService };
}

export interface HistoryOptions {
  /** Departures of [now − days, now): the past window (1..3660). */
  days: number;
  /** PRNG seed: the same seed on the same network plans the same history. */
  seed?: number;
  /**
   * Multiplies the number of past departures (default 1, the demo timetable: ≈ 6,250 departures a year with
   * ≈ 9 bookings each). Each timetabled service day gets floor(scale) runs, and one more with probability
   * frac(scale); run k departs k × 24 h / ceil(scale) after the timetabled time (same service, asset "… (k+1)").
   * 3.2 gives ≈ 20,000 departures a year; below 1 it thins the timetable (0.25: a quarter of the departures).
   */
  scale?: number;
  /**
   * Multiplies the size of each booking (default 1: 2–10 TEU by rail, 8–30 by barge; ≈ 9 bookings a departure).
   * 0.6 gives ≈ 15 bookings a departure: with scale 3.2, ≈ 20,000 departures and ≈ 300,000 bookings a year.
   */
  lotSize?: number;
  /** Length of one step of the simulated clock, hours (default 24: a day; 1..24, a divisor of 24). */
  tickHours?: number;
}

export interface HistorySummary {
  /** True when every departure of the window existed already: nothing was done (history runs once per window). */
  skipped: boolean;
  from: string;
  to: string;
  days: number;
  scale: number;
  lotSize: number;
  departures: number;
  listings: number;
  fallingListings: number;
  bookings: number;
  /** TEU booked and not cancelled. */
  bookedTeu: number;
  cancellations: number;
  cancellationFeesCents: number;
  /** Bookings charged by their settlement (invoice issued); cancelled-free ones are recorded, not charged. */
  settled: number;
  invoices: number;
  /** Holds, confirmations or cancellations the services refused (0 when the plan fits the rules). */
  refused: number;
  averageLoadPct: number;
  /** Average load factor of the departures by weekday of departure (Mon … Sun), %. */
  loadByWeekday: Record<string, number>;
  /** Average load factor of the departures by month of departure (YYYY-MM), %. */
  loadByMonth: Record<string, number>;
  seconds: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Holds placed between two VACUUMs of the holds table (see vacuumHolds). */
const VACUUM_EVERY_HOLDS = 2000;
/** Bookings of departed departures settled in one ledger batch. */
const SETTLE_BATCH = 500;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The principal of a demo user, built as a sign-in builds it (no session: the seed acts in-process). */
async function principalOf(db: Db, email: string): Promise<Principal | null> {
  const row = await userForSignIn(db, email);
  if (!row) return null;
  return { kind: 'session', userId: row.id, email: row.email, name: row.name, orgId: row.org_id, orgName: row.org_name, orgKind: row.org_kind, role: row.role };
}

/** A past departure of the history with its plan, its listings and what became of its bookings. */
interface Dep {
  id: string;
  operatorOrgId: string;
  run: HistoryRun;
  plan: DeparturePlan;
  capacityTeu: number;
  fixedId: string;
  fallingId: string | null;
  /** Booking id per planned booking (undefined: refused). */
  bookingIds: (string | undefined)[];
  /** Planned bookings that were cancelled, with their fee. */
  cancelled: Map<number, number>;
}

type Event = { t: number; kind: 'book' | 'cancel' | 'settle'; dep: Dep; b: number };

/**
 * The demo network's past, through the services: `days` of departures before `now` with their bookings,
 * cancellations and settled invoices, following a weekly and a seasonal pattern (server/seed/history-plan.ts).
 *
 * The past is played on a simulated clock, in steps of `tickHours`: the timetable's departures of the window
 * are created with their fixed listing (and, for some, a falling one) the way the timetable roll creates them
 * (rollDepartures: rows of the services' runs, listings promise-checked at commit by listings_promise_guard);
 * then step by step, the forwarders' holds go through HoldsService.placeMany (cx_place_holds_multi: capacity,
 * cut-off, held share, at the step's time), are confirmed by BookingsService.confirmMany (each at its own time;
 * CO2e, audit), some are cancelled later by BookingsService.cancelMany (the listing's fee rule at that time),
 * and after each departure its bookings are settled by the ledger (settleBookings, in batches: charge,
 * release, invoice dated at the batch's step, within days of the departure). Operators work in parallel (one
 * lane each): their departures, listings and invoice counters never meet. Auctions are not replayed: their
 * bids and close follow the database's clock (invariant 4), which cannot be set back.
 * No booking, hold or ledger row is inserted around the services' rules.
 *
 * Runs once per window: only departures that do not exist yet are created and traded, so a second run over
 * the same window does nothing (`skipped`). No worker should run meanwhile (its settlement sweep would settle
 * history's bookings itself, dated today — exactly once all the same).
 */
export async function seedHistory(ctx: HistoryContext, now: Date, progress: Progress = () => {}, opts: HistoryOptions): Promise<HistorySummary> {
  const started = performance.now();
  const { db, services } = ctx;
  const days = opts.days;
  const scale = opts.scale ?? 1;
  const tick = (opts.tickHours ?? 24) * HOUR;
  if (!Number.isInteger(days) || days < 1 || days > 3660) throw new RangeError('days must be a whole number 1..3660');
  if (!(scale > 0 && scale <= 24)) throw new RangeError('scale must be > 0 and ≤ 24');
  if (!((opts.lotSize ?? 1) >= 0.1 && (opts.lotSize ?? 1) <= 10)) throw new RangeError('lotSize must be 0.1..10');
  if (!(tick >= HOUR && tick <= DAY && DAY % tick === 0)) throw new RangeError('tickHours must divide 24');
  const rng = prng(opts.seed ?? 20_261_104);
  const end = now.getTime();
  const from = new Date(end - days * DAY);
  const summary: HistorySummary = {
    skipped: false, from: from.toISOString(), to: now.toISOString(), days, scale, lotSize: opts.lotSize ?? 1, departures: 0, listings: 0, fallingListings: 0, bookings: 0,
    bookedTeu: 0, cancellations: 0, cancellationFeesCents: 0, settled: 0, invoices: 0, refused: 0, averageLoadPct: 0, loadByWeekday: {},
    loadByMonth: {}, seconds: 0,
  };

  const fwd = (await Promise.all(demoUsers.filter((u) => forwarders.some((f) => f.slug === u.orgSlug)).map((u) => principalOf(db, u.email)))).filter(
    (p): p is Principal => p !== null,
  );
  if (fwd.length === 0) throw new Error('the demo forwarders are missing: seed the demo network first');
  const ops = new Map(
    (await Promise.all(demoUsers.filter((u) => u.email.startsWith('operator')).map((u) => principalOf(db, u.email))))
      .filter((p): p is Principal => p !== null)
      .map((p) => [p.orgId, p]),
  );

  // 1. The plan (pure, deterministic): the runs of the window and what happens to each.
  progress('history plan', 0, 1);
  const rows = await servicesWithMode(db);
  const svc = new Map(rows.map((r) => [r.code, r]));
  const planned: HistoryService[] = rows.map((r) => ({
    code: r.code, operatorSlug: r.operator_slug, corridorCode: r.corridor_code, assetName: r.asset_name, weekdays: r.weekdays.map(Number),
    departTimeUtc: r.depart_time_utc, transitMinutes: r.transit_minutes, cutoffMinutesBefore: r.cutoff_minutes_before, capacityTeu: r.capacity_teu,
    capacityTonnes: r.capacity_tonnes, listedTeu: r.listed_teu, unitPriceCents: r.unit_price_cents, mode: r.mode,
  }));
  const runs = expandHistory(planned, from, now, scale, rng).map((run) => {
    const s = svc.get(run.serviceCode)!;
    const plan = planDeparture(
      { departsAt: run.departsAt.getTime(), cutoffAt: run.cutoffAt.getTime(), capacityTeu: run.capacityTeu, capacityTonnes: run.capacityTonnes, mode: s.mode, unitPriceCents: s.unit_price_cents, listedTeu: s.listed_teu },
      rng,
      { forwarders: fwd.length, end, lotSize: opts.lotSize ?? 1 },
    );
    return { run, plan, s };
  });

  // 2. The departures and their listings, as the timetable roll creates them (500 a transaction); only
  //    departures that did not exist yet are ours.
  const floorTick = (t: number) => Math.floor(t / tick) * tick;
  const deps: Dep[] = [];
  for (let i = 0; i < runs.length; i += 500) {
    const chunk = runs.slice(i, i + 500);
    const { mine, made } = await inTransaction(db, async (tx) => {
      const inserted = await insertRunDepartures(
        tx,
        chunk.map(({ run, plan, s }) => {
          const created = new Date(Math.min(floorTick(plan.listedAt), run.departsAt.getTime() - 14 * DAY));
          return {
            corridor_id: s.corridor_id, operator_org_id: s.operator_org_id, service_id: s.id, asset_name: run.assetName, departs_at: run.departsAt,
            arrives_at: run.arrivesAt, cutoff_at: run.cutoffAt, capacity_teu: run.capacityTeu, capacity_tonnes: run.capacityTonnes,
            created_at: created, updated_at: created,
          };
        }),
      );
      const key = (serviceId: string | null, at: Date) => `${serviceId}|${at.getTime()}`;
      const idOf = new Map(inserted.map((d) => [key(d.service_id, d.departs_at), d.id]));
      const mine = chunk.flatMap((c) => {
        const id = idOf.get(key(c.s.id, c.run.departsAt));
        return id ? [{ ...c, id }] : [];
      });
      const listings = mine.flatMap(({ id, plan, s, run }) => {
        const by = ops.get(s.operator_org_id)?.userId ?? null;
        const fixedAt = new Date(floorTick(plan.listedAt));
        const out: NewListing[] = [{
          departure_id: id, format: 'fixed', teu: plan.fixedTeu, remaining_teu: plan.fixedTeu, unit_price_cents: plan.fixedPriceCents,
          created_by: by, created_at: fixedAt, updated_at: fixedAt,
        }];
        if (plan.falling) out.push(fallingListing(id, plan.falling, run.cutoffAt, by, floorTick));
        return out;
      });
      const made = await insertListingsReturning(tx, listings);
      if (mine.length > 0) await audit(tx, null, 'timetable.roll', { type: 'departures' }, { created: mine.length, history: { from: from.toISOString(), to: now.toISOString(), scale } });
      return { mine, made };
    });
    // after the commit (a retried transaction must not count twice)
    let n = 0;
    for (const m of mine) {
      const fixed = made[n++]!;
      const falling = m.plan.falling ? made[n++]! : null;
      deps.push({ id: m.id, operatorOrgId: m.s.operator_org_id, run: m.run, plan: m.plan, capacityTeu: m.run.capacityTeu, fixedId: fixed.id, fallingId: falling?.id ?? null, bookingIds: [], cancelled: new Map() });
    }
    summary.listings += made.length;
    summary.fallingListings += made.filter((l) => l.format === 'falling').length;
    progress('history departures', Math.min(runs.length, i + 500), runs.length);
  }
  summary.departures = deps.length;
  if (deps.length === 0) return { ...summary, skipped: true, seconds: secs(started) };

  // 3. Trading on the simulated clock, one lane per operator.
  const lanes = new Map<string, Event[]>();
  for (const d of deps) {
    const ev = lanes.get(d.operatorOrgId) ?? [];
    d.plan.bookings.forEach((b, i) => {
      ev.push({ t: b.at, kind: 'book', dep: d, b: i });
      if (b.cancelAt !== null) ev.push({ t: b.cancelAt, kind: 'cancel', dep: d, b: i });
    });
    ev.push({ t: d.run.departsAt.getTime(), kind: 'settle', dep: d, b: -1 });
    lanes.set(d.operatorOrgId, ev);
  }
  const ticksOf = (ev: Event[]) => new Set(ev.map((e) => floorTick(e.t))).size;
  const total = [...lanes.values()].reduce((s, ev) => s + ticksOf(ev), 0);
  let done = 0;
  let holdsSinceVacuum = 0;
  let vacuuming = false;
  const vacuums: Promise<void>[] = [];
  const freeLater: string[] = [];
  const refuse = (r: unknown): r is AppError => {
    if (r instanceof AppError) {
      summary.refused++;
      return true;
    }
    return false;
  };

  /**
   * A lane: its steps in time order. Departed departures' bookings are settled in batches of SETTLE_BATCH
   * (invoices dated at the step that sends the batch: within days of the departure), one batch in flight
   * beside the trading of later steps (other rows; this operator's invoice counter is its lane's alone).
   */
  const runLane = async (events: Event[]) => {
    events.sort((a, b) => a.t - b.t);
    let queue: string[] = [];
    let settling: Promise<void> = Promise.resolve();
    const flush = async (at: Date) => {
      const ids = queue;
      queue = [];
      await settling;
      settling = settleAll(ids, at);
      settling.catch(() => {}); // awaited (and thrown) by the next flush or the lane's end
    };
    let at = new Date(end);
    for (let i = 0; i < events.length; ) {
      const start = floorTick(events[i]!.t);
      const step: Event[] = [];
      while (i < events.length && floorTick(events[i]!.t) === start) step.push(events[i++]!);
      queue.push(...(await playStep(start, step)));
      at = new Date(Math.min(end, start + tick));
      if (queue.length >= SETTLE_BATCH) await flush(at);
      progress('history', ++done, total);
    }
    await flush(at);
    await settling;
  };

  /**
   * One step of the clock: holds at its start, each confirmed at its own time, then cancellations; answers the
   * bookings of the departures that left in this step (to settle).
   */
  const playStep = async (start: number, step: Event[]): Promise<string[]> => {
    const books = step.filter((e) => e.kind === 'book');
    if (books.length) {
      const holds = await services.holds.placeMany(
        books.map((e) => {
          const b = e.dep.plan.bookings[e.b]!;
          return { p: fwd[b.forwarder]!, listingId: b.listing === 'falling' ? e.dep.fallingId! : e.dep.fixedId, teu: b.teu, tonnes: b.tonnes };
        }),
        new Date(start),
      );
      holdsSinceVacuum += books.length;
      if (holdsSinceVacuum >= VACUUM_EVERY_HOLDS && !vacuuming) {
        holdsSinceVacuum = 0;
        vacuuming = true;
        vacuums.push(vacuumHolds(db).finally(() => (vacuuming = false)));
      }
      const placed = books.flatMap((e, n) => (refuse(holds[n]) ? [] : [{ e, holdId: (holds[n] as { id: string }).id }]));
      const booked = await services.bookings.confirmMany(
        placed.map(({ e, holdId }) => ({ p: fwd[e.dep.plan.bookings[e.b]!.forwarder]!, holdId, now: new Date(e.t), reference: `HIST-${e.dep.id.slice(0, 6).toUpperCase()}-${e.b + 1}` })),
      );
      placed.forEach(({ e }, n) => {
        const r = booked[n];
        if (refuse(r) || !r) return;
        e.dep.bookingIds[e.b] = r.id;
        summary.bookings++;
      });
    }
    const cancels = step.filter((e) => e.kind === 'cancel' && e.dep.bookingIds[e.b]);
    if (cancels.length) {
      const res = await services.bookings.cancelMany(
        cancels.map((e) => ({ p: fwd[e.dep.plan.bookings[e.b]!.forwarder]!, bookingId: e.dep.bookingIds[e.b]!, now: new Date(e.t) })),
      );
      cancels.forEach((e, n) => {
        const r = res[n];
        if (refuse(r) || !r) return;
        e.dep.cancelled.set(e.b, r.cancellationFeeCents ?? 0);
        summary.cancellations++;
        summary.cancellationFeesCents += r.cancellationFeeCents ?? 0;
      });
    }
    const ids: string[] = [];
    for (const { dep } of step.filter((e) => e.kind === 'settle')) {
      dep.bookingIds.forEach((id, b) => {
        if (!id) return;
        // a booking cancelled free of charge has nothing to post: recorded once, at the end (one look-up)
        if (dep.cancelled.get(b) === 0) freeLater.push(id);
        else ids.push(id);
      });
    }
    return ids;
  };

  const settleAll = async (ids: string[], at: Date) => {
    for (let i = 0; i < ids.length; i += 2 * SETTLE_BATCH) {
      for (const r of await services.ledger.settleBookings(ids.slice(i, i + 2 * SETTLE_BATCH), at)) {
        if (r instanceof Error) throw r;
        if (r.invoiceId) summary.invoices++;
        if (r.amountCents > 0 && !r.already) summary.settled++;
      }
    }
  };

  await Promise.all([...lanes.values()].map(runLane));
  await Promise.all(vacuums);
  await settleAll(freeLater, now);
  await compactRollups(ctx.db); // the statistics: deltas folded, tables vacuumed (stats-repo.ts)

  // 4. What it came to.
  const loads = deps.map((d) => {
    const teu = d.plan.bookings.reduce((s, b, i) => s + (d.bookingIds[i] && !d.cancelled.has(i) ? b.teu : 0), 0);
    summary.bookedTeu += teu;
    return { t: d.run.departsAt, lf: teu / d.capacityTeu };
  });
  const avg = (xs: number[]) => (xs.length ? Math.round((100 * xs.reduce((a, b) => a + b, 0)) / xs.length) : 0);
  summary.averageLoadPct = avg(loads.map((l) => l.lf));
  for (const [k, i] of [1, 2, 3, 4, 5, 6, 0].map((d) => [WEEKDAYS[d]!, d] as const)) {
    summary.loadByWeekday[k] = avg(loads.filter((l) => l.t.getUTCDay() === i).map((l) => l.lf));
  }
  const months = [...new Set(loads.map((l) => l.t.toISOString().slice(0, 7)))].sort();
  for (const m of months) summary.loadByMonth[m] = avg(loads.filter((l) => l.t.toISOString().startsWith(m)).map((l) => l.lf));
  summary.seconds = secs(started);
  return summary;
}

const secs = (t0: number) => Math.round((performance.now() - t0) / 100) / 10;

/**
 * A falling listing as ListingsService would make it with the defaults (a step an hour reaching the floor at
 * the cut-off), validated by the same core rule; opened at the step of the clock it falls in.
 */
function fallingListing(departureId: string, f: NonNullable<DeparturePlan['falling']>, cutoffAt: Date, by: string | null, floorTick: (t: number) => number) {
  const opensAt = new Date(floorTick(f.opensAt));
  const steps = Math.max(1, Math.floor((cutoffAt.getTime() - opensAt.getTime()) / HOUR));
  const step = Math.max(1, Math.ceil((f.startCents - f.floorCents) / steps));
  const v = validateFallingSchedule({ startPriceCents: f.startCents, floorPriceCents: f.floorCents, stepCents: step, stepEveryMinutes: 60, startsAt: opensAt });
  if (!v.ok) throw new Error(v.message);
  return {
    departure_id: departureId, format: 'falling' as const, teu: f.teu, remaining_teu: f.teu, unit_price_cents: f.startCents, floor_price_cents: f.floorCents,
    step_cents: step, step_every_minutes: 60, opens_at: opensAt, created_by: by, created_at: opensAt, updated_at: opensAt,
  };
}
