import type { Db, Tx } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { releaseLoad, type DepartureLoad } from '../adapters/db/departures-repo.ts';
import { updateItinerary } from '../adapters/db/itineraries-repo.ts';
import { returnTeuToListing } from '../adapters/db/listings-repo.ts';
import { lockOpenListings, shrinkListing } from '../adapters/db/merges-repo.ts';
import { enqueueInTx, kickOutbox } from '../adapters/db/outbox.ts';
import { queueWatchMatch } from '../adapters/db/watches-repo.ts';
import {
  activeHoldIdsOn, cancelForDerating, cancelOpenListingsOf, currentDeratings, departureNow, derateDeparture, gaugeDepartures, insertDerating, insertLevel,
  insertMoves, latestLevel, latestLevels, listingIdsOf, liveTeuOfListing, lockDepartureForDerating, lockGauge, lockItineraryLegs, lockLiveBookingsOn, markApplied, movesOf, type LiveBooking,
} from '../adapters/db/water-levels-repo.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import { availabilityEvent, listingUpdateEvent, rooms, type EventSink, type LiveEvent } from '../adapters/realtime/events.ts';
import { listingCuts } from '../core/capacity.ts';
import { bookingsToMove, deratedCapacity, levelProblem } from '../core/derating.ts';
import { DERATING_HORIZON_DAYS, factorFor, gaugeCodes, gaugeOf, type Gauge } from '../data/water-levels.ts';
import { badRequest } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import type { RoutesAnswer } from '../domain/schemas/routes.ts';
import type { HoldsService } from './holds.ts';
import type { RouteSearchService } from './routes.ts';
import type { CascadeStep, OfferCascade } from './offers/cascade.ts';
import { tellWebhooks } from './webhook-events.ts';

/**
 * Low-water derating of barge capacity (issue 14). A water level (POST /api/water-levels: schedulers, the platform,
 * their API keys — a feed) turns, through the gauge's table (server/data/water-levels.json), into a new capacity for
 * every scheduled barge departure of the corridors it governs that leaves in the next days. Each departure is derated
 * on its own (one failing is logged and retried by the next reading; the others go on):
 *
 *  1. when the new capacity no longer fits what is on board, the holds on it are released first (their holders are
 *     told, as when a listing is cancelled: they were not bookings yet);
 *  2. rail alternatives are searched for the bookings that may have to move (the route search, rail only, same TEU
 *     and tonnes, ready at the barge's cut-off, delivered within 3 days of its arrival);
 *  3. one transaction — the bookings locked in id order, then the departure, then its listings — picks the bookings
 *     that must move (the latest booked first, until the rest fits: server/core/derating.ts), cancels them without a
 *     fee (their refund job gives the whole charge back, with a credit note), sets the new capacity (the nominal one
 *     kept to come back to when the water rises), takes what its listings promised beyond it off them, records the
 *     derating and each moved booking with its alternatives, and enqueues the refunds;
 *  4. live: `departure:availability` and `departure:derated` to the departure's and corridor's rooms (and the network
 *     dashboard), `booking:moved` with the alternatives to each forwarder concerned.
 *
 *  5. each forwarder whose booking moved off the barge gets first refusal on a direct rail alternative (the cascade's
 *     `relocate`; the `derating.relocate` job is the net).
 *
 * A departure that cannot sail at that level (factor 0) is cancelled with all its bookings. When the level rises,
 * capacity comes back (up to the nominal), back on its first fixed or falling listing and offered first (`relistRise`).
 * No booking is ever left on a departure whose capacity it exceeds: the departures' capacity guards are the last word.
 */

export interface WaterLevelInput {
  gauge: string;
  levelCm: number;
  measuredAt: string;
}

/** Holds were placed on the departure after they were released, beyond its new capacity: release again and retry. */
class HoldsArrived extends Error {}

export interface DeratingOutcome {
  departureId: string;
  capacityBeforeTeu: number;
  capacityAfterTeu: number;
  moved: string[];
  cancelled: boolean;
}

const DAY = 86_400_000;

export class WaterLevelsService {
  constructor(
    private readonly db: Db,
    private readonly routes: RouteSearchService,
    private readonly holds: HoldsService,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
    private readonly queues: Queues,
    /**
     * Re-offers: open ones reserve capacity (withdrawn like holds before a cut); a moved booking's forwarder gets first
     * refusal on a rail alternative (`relocate`); capacity back with the water is offered first (`cascade`).
     */
    private readonly offers?: {
      withdrawAllOfListing(listingId: string, now: Date): Promise<number>;
      relocate(bookingId: string, now: Date): Promise<unknown>;
      afterStep(step: CascadeStep): Promise<void>;
      readonly cascade: OfferCascade;
    },
  ) {}

  private async releaseReserved(departureId: string, now: Date): Promise<void> {
    if (!this.offers) return;
    for (const id of await listingIdsOf(this.db, departureId)) await this.offers.withdrawAllOfListing(id, now).catch(() => 0);
  }

  /** POST /api/water-levels — recorded, then applied when it is the gauge's latest measurement. */
  async record(p: Principal, input: WaterLevelInput, now = new Date()) {
    policy.requireOrgKind(p, 'scheduler', 'platform');
    const gauge = gaugeOf(input.gauge);
    if (!gauge) throw badRequest('unknown_gauge', `unknown gauge ${input.gauge}; known: ${gaugeCodes().join(', ')}`);
    const at = new Date(input.measuredAt);
    const problem = levelProblem(input.levelCm, at.getTime(), now.getTime());
    if (problem) {
      const code = problem.includes('future') ? 'measured_in_future' : problem.includes('old') ? 'measurement_too_old' : problem.includes('valid time') ? 'invalid_date' : 'invalid_level';
      throw badRequest(code, problem);
    }
    // a clock a few minutes ahead is tolerated but distrusted: such a reading counts as measured 5 minutes ago, so it
    // never stays "the latest" and locks out the true readings arriving meanwhile
    const measuredAt = at.getTime() > now.getTime() ? new Date(now.getTime() - 5 * 60_000) : at;
    const row = await insertLevel(this.db, { gauge: gauge.code, levelCm: input.levelCm, measuredAt, orgId: p.orgId, userId: p.userId, apiKeyId: p.apiKeyId ?? null });
    const latest = await latestLevel(this.db, gauge.code);
    const applies = latest?.id === row.id;
    const { changed, failed } = applies ? await this.apply(gauge, row.id, row.level_cm, now) : { changed: [], failed: [] };
    // applied only when every departure was derated (one that failed is derated again by the next reading)
    if (applies && failed.length === 0) await markApplied(this.db, row.id);
    return {
      id: row.id, gauge: row.gauge, levelCm: row.level_cm, measuredAt: row.measured_at.toISOString(), applied: applies && failed.length === 0, failed,
      departures: changed.map((o) => ({ departureId: o.departureId, capacityBeforeTeu: o.capacityBeforeTeu, capacityAfterTeu: o.capacityAfterTeu, movedBookings: o.moved, cancelled: o.cancelled })),
    };
  }

  /**
   * Derates every barge departure the gauge governs in the next days; one failing does not stop the others (it is named
   * in `failed`; the next reading derates it again). Readings of one gauge are serialised (an advisory lock per gauge
   * in each departure's transaction) and each departure's transaction re-checks that this reading is still the
   * gauge's latest: an older reading still at work never overwrites a newer one.
   */
  async apply(gauge: Gauge, levelId: string, levelCm: number, now: Date): Promise<{ changed: DeratingOutcome[]; failed: string[] }> {
    const deps = await gaugeDepartures(this.db, gauge.corridors, now, new Date(now.getTime() + DERATING_HORIZON_DAYS * DAY));
    const changed: DeratingOutcome[] = [];
    const failed: string[] = [];
    for (const d of deps) {
      try {
        const o = await this.derateOne(d.id, d.service_code, { gauge, levelId, levelCm }, now);
        if (o === 'superseded') break;
        if (o) changed.push(o);
      } catch (err) {
        failed.push(d.id);
        console.error(`derating departure ${d.id} failed: ${(err as Error).message}`);
      }
    }
    return { changed, failed };
  }

  /** The capacity a departure gets at this reading (null: it cannot sail), from its nominal one. */
  private target(g: Gauge, serviceCode: string | null, levelCm: number, d: { capacity_teu: number; capacity_tonnes: number; nominal_capacity_teu: number | null; nominal_capacity_tonnes: number | null }) {
    const factor = factorFor(g, serviceCode, levelCm);
    const nominal = { teu: d.nominal_capacity_teu ?? d.capacity_teu, tonnes: d.nominal_capacity_tonnes ?? d.capacity_tonnes };
    return { factor, nominal, cap: deratedCapacity(nominal, factor) };
  }

  private async derateOne(
    departureId: string,
    serviceCode: string | null,
    v: { gauge: Gauge; levelId: string; levelCm: number },
    now: Date,
  ): Promise<DeratingOutcome | 'superseded' | null> {
    for (let attempt = 1; ; attempt++) {
      // 1. what is not booked yet comes off first when what is on board no longer fits: holds (their holders are told)
      const peek = await departureNow(this.db, departureId);
      if (!peek || peek.status !== 'scheduled') return null;
      const pre = this.target(v.gauge, serviceCode, v.levelCm, peek);
      if (pre.cap && pre.cap.teu === peek.capacity_teu && pre.cap.tonnes === peek.capacity_tonnes) return null; // nothing changes
      if (!pre.cap || peek.held_teu + peek.booked_teu > pre.cap.teu || peek.held_tonnes + peek.booked_tonnes > pre.cap.tonnes) {
        for (const id of await activeHoldIdsOn(this.db, departureId)) await this.holds.end(id, 'cancelled', null, now).catch(() => null);
        await this.releaseReserved(departureId, now);
      }
      // 2. rail alternatives for the bookings that may move (outside the transaction: the search is in memory)
      const mayMove = !pre.cap || peek.booked_teu > pre.cap.teu || peek.booked_tonnes > pre.cap.tonnes;
      const alternatives = mayMove ? await this.railAlternatives(peek, now) : null;
      try {
        const done = await this.derateInTx(departureId, serviceCode, v, alternatives, now);
        if (done === 'superseded' || done === null) return done;
        kickOutbox(this.db, this.queues);
        await this.afterCommit(done, v, alternatives);
        return { departureId, capacityBeforeTeu: done.d.capacity_teu, capacityAfterTeu: done.load.capacity_teu, moved: done.moved.map((b) => b.id), cancelled: done.cancel };
      } catch (err) {
        // holds placed meanwhile beyond the new capacity: release them again and retry (a few times)
        if (err instanceof HoldsArrived && attempt < 4) continue;
        throw err;
      }
    }
  }

  /** 3. One transaction: gauge lock, still the latest reading, bookings then departure locked, moves, capacity, listings. */
  private async derateInTx(
    departureId: string,
    serviceCode: string | null,
    v: { gauge: Gauge; levelId: string; levelCm: number },
    alternatives: RoutesAnswer | null,
    now: Date,
  ) {
    return inTransaction(this.db, async (tx) => {
      await lockGauge(tx, v.gauge.code);
      if ((await latestLevel(tx, v.gauge.code))?.id !== v.levelId) return 'superseded' as const;
      await lockLiveBookingsOn(tx, departureId);
      const d = await lockDepartureForDerating(tx, departureId);
      if (!d || d.status !== 'scheduled') return null;
      // locked again now that the departure is: a booking confirmed between the two locks is in the list (a confirm
      // needs the departure's lock, so no other can come now)
      const bookings = await lockLiveBookingsOn(tx, departureId);
      if (bookings.reduce((x, b) => x + b.teu, 0) !== d.booked_teu) throw new Error(`departure ${departureId}: booked TEU and its bookings disagree`);
      const { factor, nominal, cap: target } = this.target(v.gauge, serviceCode, v.levelCm, d);
      if (target && target.teu === d.capacity_teu && target.tonnes === d.capacity_tonnes) return null;
      const held = { teu: d.held_teu, tonnes: d.held_tonnes };
      // holds or lots on offer beyond the new capacity (or any at all when it cannot sail): released again, retried
      if (target ? held.teu > target.teu || held.tonnes > target.tonnes : held.teu > 0 || held.tonnes > 0) throw new HoldsArrived();
      const { move } = bookingsToMove(bookings.map((b) => ({ id: b.id, teu: b.teu, tonnes: b.tonnes, bookedAt: b.created_at.getTime() })), target, held);
      const movedIds = new Set(move.map((m) => m.id));
      const moved = bookings.filter((b) => movedIds.has(b.id));
      return this.writeDerating(tx, d, { ...v, factor, nominal, target, held, moved, alternatives }, now);
    });
  }

  /** The writes of a derating (every check passed): moves, listings, capacity, records, refunds, webhooks. */
  private async writeDerating(
    tx: Tx,
    d: NonNullable<Awaited<ReturnType<typeof lockDepartureForDerating>>>,
    v: {
      gauge: Gauge; levelId: string; levelCm: number; factor: number; nominal: { teu: number; tonnes: number }; target: { teu: number; tonnes: number } | null;
      held: { teu: number; tonnes: number }; moved: LiveBooking[]; alternatives: RoutesAnswer | null;
    },
    now: Date,
  ) {
    const { moved } = v;
    const movedTeu = moved.reduce((s, b) => s + b.teu, 0);
    const movedTonnes = moved.reduce((s, b) => s + b.tonnes, 0);
    await cancelForDerating(tx, moved.map((b) => b.id), now);
    // a moved leg of an itinerary takes its whole itinerary with it (its other legs cancelled without fee too, their
    // capacity back on their departures): an itinerary is all or nothing
    const others = await this.cancelItinerariesOf(tx, moved, d.id, now);
    const cancel = v.target === null;
    const cap = v.target ?? { teu: d.capacity_teu, tonnes: d.capacity_tonnes }; // a departure that cannot sail keeps its figures, cancelled
    const shrunk: { id: string; status: string; remaining_teu: number }[] = [];
    let listings: Awaited<ReturnType<typeof lockOpenListings>> = [];
    if (cancel) await cancelOpenListingsOf(tx, d.id, now);
    else {
      // what its listings promise beyond the new capacity comes off them (fixed and falling first, then auctions)
      listings = await lockOpenListings(tx, d.id);
      const excess = v.held.teu + d.booked_teu - movedTeu + listings.reduce((x, l) => x + l.remaining_teu, 0) - cap.teu;
      for (const c of listingCuts(listings, excess, true).cuts) shrunk.push(await shrinkListing(tx, c.id, c.by, now));
    }
    const load = await derateDeparture(tx, d.id, {
      capacityTeu: cap.teu, capacityTonnes: cap.tonnes, nominalTeu: v.nominal.teu, nominalTonnes: v.nominal.tonnes, movedTeu, movedTonnes, gauge: v.gauge.code,
      levelCm: v.levelCm, cancel, now,
    });
    const all = [...moved, ...others.bookings];
    const deratingId = await insertDerating(tx, {
      water_level_id: v.levelId, departure_id: d.id, gauge: v.gauge.code, level_cm: v.levelCm, factor: v.factor, capacity_before_teu: d.capacity_teu,
      capacity_after_teu: cap.teu, capacity_before_tonnes: d.capacity_tonnes, capacity_after_tonnes: cap.tonnes, cancelled: cancel, moved_bookings: all.map((b) => b.id),
    });
    await insertMoves(tx, all.map((b) => ({ deratingId, bookingId: b.id, forwarderOrgId: b.forwarder_org_id, alternatives: v.alternatives?.itineraries ?? [] })));
    for (const b of all) await enqueueInTx(tx, 'booking.refund', { bookingId: b.id }, `booking.refund-${b.id}`);
    // first refusal on a rail alternative for each booking moved off this barge (made right after the commit; the job
    // is the net for a process that dies in between)
    if (v.alternatives?.itineraries.length) for (const b of moved) await enqueueInTx(tx, 'derating.relocate', { bookingId: b.id }, `derating.relocate-${b.id}`);
    const rise = !cancel && cap.teu > d.capacity_teu ? await this.relistRise(tx, d, load, listings, cap.teu - d.capacity_teu, deratingId, now) : null;
    await audit(tx, null, 'departure.derate', { type: 'departure', id: d.id }, {
      gauge: v.gauge.code, levelCm: v.levelCm, factor: v.factor, capacityTeu: [d.capacity_teu, cap.teu], moved: all.map((b) => b.id), cancelled: cancel,
    });
    // webhooks: the operator, and each forwarder whose bookings moved (with its own bookings only)
    const data = { departureId: d.id, gauge: v.gauge.code, levelCm: v.levelCm, capacityTeu: cap.teu, capacityTonnes: cap.tonnes, cancelled: cancel };
    await tellWebhooks(tx, [
      { orgId: d.operator_org_id, type: 'departure.derated', objectKey: `departure:${d.id}`, data: { ...data, movedBookings: moved.map((b) => b.id) } },
      ...[...new Set(all.map((b) => b.forwarder_org_id))].map((org) => ({
        orgId: org, type: 'departure.derated', objectKey: `departure:${d.id}`, data: { ...data, movedBookings: all.filter((b) => b.forwarder_org_id === org).map((b) => b.id) },
      })),
    ]);
    return { d, load: rise?.load ?? load, moved: all, shrunk: [...shrunk, ...(rise?.listing ? [rise.listing] : [])], cancel, otherLoads: others.loads, otherListings: others.listings, rise: rise?.step ?? null };
  }

  /**
   * The water rose: the capacity that came back goes back on the departure's first open fixed or falling listing, up to
   * what that listing had before it was cut and never beyond what the departure can still promise; then it is offered
   * first, like any freed capacity (reason `derating`, one chain per derating) — or, nobody to offer, the watches are
   * told. Without such a listing the room goes back to the operator to sell.
   */
  private async relistRise(
    tx: Tx,
    d: { id: string },
    load: DepartureLoad,
    listings: { id: string; format: string; remaining_teu: number; teu: number }[],
    risenTeu: number,
    deratingId: string,
    now: Date,
  ): Promise<{ load: DepartureLoad; listing: { id: string; status: string; remaining_teu: number } | null; step: CascadeStep | null }> {
    const target = listings.find((l) => l.format === 'fixed' || l.format === 'falling');
    const room = load.capacity_teu - load.held_teu - load.booked_teu - listings.reduce((x, l) => x + l.remaining_teu, 0);
    // never more than was cut from it: what it sold (holds, bookings, lots on offer) is not put on sale again
    const cut = target ? target.teu - (await liveTeuOfListing(tx, target.id)) - target.remaining_teu : 0;
    const give = Math.min(risenTeu, room, cut);
    if (!target || give <= 0) return { load, listing: null, step: null };
    const l = await returnTeuToListing(tx, target.id, give, now);
    const grown = l.remaining_teu - target.remaining_teu;
    if (grown <= 0) return { load, listing: null, step: null };
    const tonnes = Math.min(load.capacity_tonnes - load.held_tonnes - load.booked_tonnes, Math.floor((grown * load.capacity_tonnes) / load.capacity_teu));
    const step = this.offers
      ? await this.offers.cascade.start(tx, { reason: 'derating', sourceId: deratingId, departureId: d.id, listingId: l.id, teu: grown, tonnes, freedByOrgId: null }, 'listing', now)
      : null;
    if (!step) await queueWatchMatch(tx, { departureId: d.id, listingId: l.id, trigger: 'freed' }, `watches.match-${d.id}-seq-${Number(load.seq)}`);
    return { load: step?.taken ?? load, listing: step?.taken ? { ...l, remaining_teu: l.remaining_teu - grown } : l, step };
  }

  /** The other legs of the itineraries whose legs moved: cancelled without fee, their TEU back to their listings. */
  private async cancelItinerariesOf(tx: Tx, moved: LiveBooking[], departureId: string, now: Date) {
    const ids = [...new Set(moved.map((b) => b.itinerary_id).filter((x): x is string => x !== null))];
    const out = { bookings: [] as LiveBooking[], loads: [] as DepartureLoad[], listings: [] as { id: string; status: string; remaining_teu: number }[] };
    if (ids.length === 0) return out;
    const legs = (await lockItineraryLegs(tx, ids)).filter((b) => b.departure_id !== departureId);
    await cancelForDerating(tx, legs.map((b) => b.id), now);
    for (const b of legs) {
      out.listings.push(await returnTeuToListing(tx, b.listing_id, b.teu, now));
      out.loads.push(await releaseLoad(tx, 'booked', b.departure_id, b.teu, b.tonnes, now));
    }
    for (const id of ids) await updateItinerary(tx, id, { status: 'cancelled', ended_at: now, cancellation_fee_cents: 0 });
    out.bookings = legs;
    return out;
  }

  private async railAlternatives(d: { origin: string; destination: string; cutoff_at: Date; arrives_at: Date }, now: Date): Promise<RoutesAnswer | null> {
    const readyAt = new Date(Math.max(now.getTime(), d.cutoff_at.getTime() - 12 * 3_600_000));
    const deliverBy = new Date(Math.max(readyAt.getTime() + DAY, d.arrives_at.getTime() + 3 * DAY));
    // per TEU: each moved booking takes its own TEU; the alternatives shown are for one TEU-tonne profile of the route
    return this.routes.answer({ from: d.origin, to: d.destination, teu: 1, tonnes: 10, readyAt: readyAt.toISOString(), deliverBy: deliverBy.toISOString(), modes: 'rail', maxLegs: 3 }, now).catch(() => null);
  }

  private async afterCommit(
    done: {
      d: { id: string; corridor_id: string; operator_org_id: string }; load: DepartureLoad; moved: { id: string; forwarder_org_id: string; departure_id: string }[];
      rise: CascadeStep | null;
      shrunk: { id: string; status: string; remaining_teu: number }[]; cancel: boolean; otherLoads: DepartureLoad[];
      otherListings: { id: string; status: string; remaining_teu: number }[];
    },
    v: { gauge: Gauge; levelCm: number },
    alternatives: RoutesAnswer | null,
  ) {
    for (const x of [done.load, ...done.otherLoads]) await this.cache.invalidate(x.corridor_id, x.id).catch(() => {});
    const derated = {
      departureId: done.d.id, capacityTeu: done.load.capacity_teu, capacityTonnes: done.load.capacity_tonnes, gauge: v.gauge.code, levelCm: v.levelCm, cancelled: done.cancel,
    };
    const events: LiveEvent[] = [
      availabilityEvent(done.load),
      ...done.otherLoads.map((x) => availabilityEvent(x)),
      ...[...done.shrunk, ...done.otherListings].map((l) => listingUpdateEvent(l)),
      { rooms: [rooms.departure(done.d.id), rooms.corridor(done.d.corridor_id), rooms.networkDashboard(), rooms.org(done.d.operator_org_id)], event: 'departure:derated', payload: derated },
      ...done.moved.map((b) => ({
        rooms: [rooms.org(b.forwarder_org_id)], event: 'booking:moved',
        payload: { bookingId: b.id, departureId: done.d.id, reason: 'derating', gauge: v.gauge.code, levelCm: v.levelCm, alternatives: alternatives?.itineraries.slice(0, 5) ?? [] },
      })),
      ...(done.cancel ? [{ rooms: [rooms.departure(done.d.id), rooms.corridor(done.d.corridor_id)], event: 'departure:cancelled', payload: { departureId: done.d.id, reason: 'low_water' } }] : []),
    ];
    await this.events.emit(events).catch(() => {});
    if (done.rise) await this.offers?.afterStep(done.rise).catch(() => {});
    // first refusal on a rail alternative, at once (the `derating.relocate` jobs are the net)
    if (alternatives?.itineraries.length) {
      for (const b of done.moved) {
        if (b.departure_id === done.d.id) await this.offers?.relocate(b.id, new Date()).catch((err: Error) => console.error(`relocating booking ${b.id}: ${err.message}`));
      }
    }
  }

  /** GET /api/water-levels — the latest level per gauge and the departures derated now (an operator: its own). */
  async list(p: Principal) {
    const [levels, deratings] = await Promise.all([
      latestLevels(this.db),
      currentDeratings(this.db, { limit: 500, ...(p.orgKind === 'operator' ? { operatorOrgId: p.orgId } : {}) }),
    ]);
    const moved = p.orgKind === 'forwarder' ? await movesOf(this.db, p.orgId, 100) : [];
    return {
      gauges: gaugeCodes().map((code) => {
        const l = levels.find((x) => x.gauge === code);
        const g = gaugeOf(code)!;
        return { gauge: code, name: g.name, corridors: g.corridors, levelCm: l?.level_cm ?? null, measuredAt: l ? l.measured_at.toISOString() : null };
      }),
      derated: deratings
        // from the nominal capacity (what the departure carries at good water) to the latest derating's
        .map((r) => ({ ...r, nominal_teu: r.nominal_capacity_teu ?? r.capacity_before_teu }))
        .filter((r) => r.capacity_after_teu !== r.nominal_teu || r.cancelled || r.moved_bookings.length > 0)
        .map((r) => ({
          departureId: r.departure_id, corridorCode: r.corridor_code, departsAt: r.departs_at.toISOString(), gauge: r.gauge, levelCm: r.level_cm, factor: r.factor,
          capacityBeforeTeu: r.nominal_teu, capacityAfterTeu: r.capacity_after_teu, cancelled: r.cancelled,
          // a forwarder or another operator sees how many bookings moved, not whose
          movedBookings: p.orgKind === 'scheduler' || p.orgKind === 'platform' || (p.orgKind === 'operator' && r.operator_org_id === p.orgId) ? r.moved_bookings : [],
          movedCount: r.moved_bookings.length, at: r.created_at.toISOString(),
        })),
      myMovedBookings: moved.map((m) => ({
        bookingId: m.booking_id, departureId: m.departure_id, from: m.from_code, to: m.to_code, teu: m.teu, tonnes: m.tonnes,
        gauge: m.gauge, levelCm: m.level_cm, at: m.created_at.toISOString(),
        alternatives: ((m.alternatives ?? []) as unknown[]).slice(0, 5),
      })),
    };
  }
}
