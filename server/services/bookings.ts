import { keepingRefusal } from './kept-refusals.ts';
import type { Db, Tx } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import {
  bookingOwner, bookingsOfScope, bookingTotalsOfScope, bookingWithDeparture, insertBooking, lockBookingForCancel, markBookingCancelled, toBooking,
} from '../adapters/db/bookings-repo.ts';
import { corridorRoute, departureOperator, lockDeparture, moveHeldToBooked, releaseLoad } from '../adapters/db/departures-repo.ts';
import { toDepartureBrief } from '../adapters/db/departure-brief.ts';
import { confirmActiveHold, findHold, holdRefOfOrg } from '../adapters/db/holds-repo.ts';
import {
  auditActsAt, confirmActiveHolds, corridorRoutes, feeRulesOf, holdRefs, insertBookings, lockBookingsForCancel, lockDepartures,
  lockListingStatuses, markBookingsCancelled, moveHeldToBookedMany, releaseBookedMany, returnTeuToListings,
} from '../adapters/db/history-repo.ts';
import { claimKey, storeAnswer, type IdemKey } from '../adapters/db/idempotency.ts';
import { feeRuleOf, lockListingStatus, returnTeuToListing } from '../adapters/db/listings-repo.ts';
import { enqueueInTx, kickOutbox } from '../adapters/db/outbox.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import { availabilityEvent, bookingConfirmedEvent, listingUpdateEvent, type EventSink, type LiveEvent } from '../adapters/realtime/events.ts';
import { bookingEmissions, roadDistanceKm } from '../core/co2.ts';
import { cancellationFee, feeRuleOrDefault, notCancellable, type FeeRule } from '../core/fees.ts';
import { totalCents } from '../core/pricing.ts';
import { emissionFactors } from '../data/emission-factors.ts';
import { AppError, conflict, notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import type { Booking, BookingSummary, BookingWithDeparture, CancellationPreview, ConfirmBody } from '../domain/schemas/trade.ts';

/** The most bookings GET /api/bookings returns (newest first); GET /api/bookings/summary counts them all. */
export const BOOKING_LIST_LIMIT = 1000;
import { committedLoad } from './capacity-sync.ts';
import { bookingEvents, tellWebhooks } from './webhook-events.ts';
import { watchesOnFreed, type OfferCascade } from './offers/cascade.ts';
import { pageOf, timeIdCursor } from '../core/paging.ts';

/** CO2e of moving `tonnes` along a corridor, beside the road alternative (GLEC-style tonne-km × factor). */
export async function emissionsFor(tx: Tx, corridorId: string, tonnes: number) {
  return emissionsOnRoute(await corridorRoute(tx, corridorId), tonnes);
}

/** The same for a corridor row already loaded (mode, distance, end points). */
function emissionsOnRoute(route: Awaited<ReturnType<typeof corridorRoute>>, tonnes: number) {
  return bookingEmissions(emissionFactors, {
    mode: route.mode,
    tonnes,
    distanceKm: route.distance_km,
    roadDistanceKm: roadDistanceKm(emissionFactors, { lat: route.flat, lon: route.flon }, { lat: route.tlat, lon: route.tlon }),
  });
}


/**
 * A leg of an itinerary is confirmed, released and cancelled with its itinerary only (all legs or none):
 * 409 `part_of_itinerary`, naming the itinerary.
 */
export function partOfItinerary(what: 'hold' | 'booking', itineraryId: string) {
  return conflict('part_of_itinerary', `this ${what} is a leg of itinerary ${itineraryId}; act on the itinerary (/api/itineraries/${itineraryId})`, { itineraryId });
}

/**
 * Bookings: a hold confirmed into a booking (held → booked, capacity unchanged), cancellation under the
 * listing's fee rule (booked → back to the listing), the fee preview, and the reads. Every change commits
 * with its audit entry and its settlement or refund job (outbox) in one transaction.
 */
export class BookingsService {
  constructor(
    private readonly db: Db,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
    private readonly queues: Queues | null,
    /** A cancelled booking's capacity is first offered to matching watches (issue 14; absent: straight back to the board). */
    private readonly offers?: OfferCascade,
  ) {}

  /** POST /api/holds/:id/confirm — turns an active hold into a booking (held → booked, capacity unchanged). */
  confirm(p: Principal, holdId: string, input: ConfirmBody, idem?: IdemKey, now = new Date()): Promise<Booking> {
    return keepingRefusal(this.db, idem, () => this.#confirm(p, holdId, input, idem, now));
  }

  async #confirm(p: Principal, holdId: string, input: ConfirmBody, idem: IdemKey | undefined, now: Date): Promise<Booking> {
    policy.requireOrgKind(p, 'forwarder');
    const result = await inTransaction(this.db, async (tx) => {
      if (idem) {
        const claim = await claimKey<Booking>(tx, idem);
        if (claim.kind === 'replay') return { booking: claim.body, operatorOrgId: null }; // no second effect
      }
      const { booking, operatorOrgId } = await this.confirmInTx(tx, p, holdId, input, now);
      if (idem) await storeAnswer(tx, idem, 201, booking);
      return { booking, operatorOrgId };
    });
    if (result.operatorOrgId !== null) {
      // this request confirmed the hold (not a replay): settlement job, no expiry job, tell buyer and operator
      this.drain();
      void this.queues?.remove('hold.expire', `hold.expire-${holdId}`).catch(() => {});
      await this.afterCommit([bookingConfirmedEvent(result.booking, result.operatorOrgId)]);
    }
    return result.booking;
  }

  private async confirmInTx(tx: Tx, p: Principal, holdId: string, input: ConfirmBody, now: Date) {
    // The listing must still sell: a hold on a listing cancelled a moment ago (its holds are released just
    // after the cancel commits) is refused. Lock order of every capacity path: departure, then listing;
    // the listing's share lock waits for a cancel in flight and keeps one from committing under us.
    const ref = await holdRefOfOrg(tx, holdId, p.orgId);
    if (ref?.itinerary_id) throw partOfItinerary('hold', ref.itinerary_id);
    if (ref) {
      await lockDeparture(tx, ref.departure_id);
      const l = await lockListingStatus(tx, ref.listing_id);
      if (l && l.status !== 'open') throw conflict('listing_closed', `this listing is ${l.status}; the hold can no longer be confirmed`);
    }
    const h = await confirmActiveHold(tx, holdId, p.orgId, now);
    if (!h) throw await this.whyNotConfirmable(tx, p, holdId, now);
    const dep = await moveHeldToBooked(tx, h.departure_id, h.teu, h.tonnes, now);
    const em = await emissionsFor(tx, dep.corridor_id, h.tonnes);
    const b = await insertBooking(tx, {
      departure_id: h.departure_id,
      listing_id: h.listing_id,
      hold_id: h.id,
      forwarder_org_id: p.orgId,
      user_id: p.userId,
      teu: h.teu,
      tonnes: h.tonnes,
      unit_price_cents: h.unit_price_cents,
      total_cents: totalCents(h.unit_price_cents, h.teu),
      reference: input.reference ?? null,
      cargo: input.cargo ? JSON.stringify(input.cargo) : null,
      co2e_kg: em.co2eKg,
      road_co2e_kg: em.roadCo2eKg,
      created_at: now,
    });
    await audit(tx, p, 'booking.confirm', { type: 'booking', id: b.id }, { holdId: h.id, totalCents: b.total_cents });
    await enqueueInTx(tx, 'booking.settle', { bookingId: b.id }, `booking.settle-${b.id}`);
    const booking = toBooking(b);
    await tellWebhooks(tx, bookingEvents('booking.confirmed', [{ booking, operatorOrgId: dep.operator_org_id }]));
    return { booking, operatorOrgId: dep.operator_org_id };
  }

  /** After the confirming update matched nothing: not found (not ours), expired, or no longer active. */
  private async whyNotConfirmable(tx: Tx, p: Principal, holdId: string, now: Date) {
    const existing = await findHold(tx, holdId);
    if (!existing || existing.org_id !== p.orgId) return notFound('hold');
    if (existing.status === 'expired' || (existing.status === 'active' && existing.expires_at <= now)) {
      return conflict('hold_expired', 'this hold has expired; hold the capacity again');
    }
    return conflict('hold_not_active', `this hold is ${existing.status}`);
  }

  /** GET /api/bookings — own organisation's bookings (an operator: those on its departures; the platform: all). */
  /**
   * GET /api/bookings — newest first, a page of `limit` (default and most BOOKING_LIST_LIMIT); `next` is the cursor of
   * the following (older) page, null at the end. Keyset paging on (created_at, id): pages never overlap or skip.
   */
  async list(p: Principal, page: { limit?: number; before?: string } = {}): Promise<{ items: BookingWithDeparture[]; next: string | null }> {
    const limit = Math.min(page.limit ?? BOOKING_LIST_LIMIT, BOOKING_LIST_LIMIT);
    const rows = await bookingsOfScope(this.db, policy.scopeOf(p), limit + 1, timeIdCursor(page.before) ?? undefined);
    return pageOf(rows, limit, (last) => `${last.at_us}_${last.id}`, (r) => ({ ...toBooking(r), forwarderOrgName: r.forwarder_org_name, departure: toDepartureBrief(r) }));
  }

  /**
   * GET /api/bookings/summary — counts and sums over every booking `p` sees (the list is the newest BOOKING_LIST_LIMIT): all
   * bookings, the active ones (not cancelled), their TEU and their CO2e against road.
   */
  async summary(p: Principal): Promise<BookingSummary> {
    const t = await bookingTotalsOfScope(this.db, policy.scopeOf(p));
    return { bookings: t.bookings, activeBookings: t.active, activeTeu: t.teu, co2eKg: Math.round(t.co2e_kg), roadCo2eKg: Math.round(t.road_co2e_kg), listLimit: BOOKING_LIST_LIMIT };
  }

  /** A booking with its departure's times, if `p` may see it (else 404). */
  private async visible(p: Principal, id: string) {
    const row = await bookingWithDeparture(this.db, id);
    if (!row) throw notFound('booking');
    policy.requireSeePrivate(p, [row.forwarder_org_id, row.operator_org_id], 'booking');
    return row;
  }

  /** The fee a cancellation would cost now (shown to the forwarder before confirming). */
  async cancellationPreview(p: Principal, id: string, now = new Date()): Promise<CancellationPreview & { rule: FeeRule }> {
    const b = await this.visible(p, id);
    const rule = await this.feeRuleOf(b.listing_id);
    return { ...cancellationFee(rule, b.total_cents, { departsAt: b.departs_at, cutoffAt: b.cutoff_at }, now), rule };
  }

  private async feeRuleOf(listingId: string): Promise<FeeRule> {
    return feeRuleOrDefault(await feeRuleOf(this.db, listingId));
  }

  /** DELETE /api/bookings/:id — cancels under the listing's fee rule; capacity returns to the listing. */
  cancel(p: Principal, id: string, idem?: IdemKey, now = new Date()): Promise<Booking> {
    return keepingRefusal(this.db, idem, () => this.#cancel(p, id, idem, now));
  }

  async #cancel(p: Principal, id: string, idem: IdemKey | undefined, now: Date): Promise<Booking> {
    policy.requireOrgKind(p, 'forwarder');
    const existing = await bookingOwner(this.db, id);
    if (!existing || existing.forwarder_org_id !== p.orgId) throw notFound('booking');
    if (existing.itinerary_id) throw partOfItinerary('booking', existing.itinerary_id);
    const rule = await this.feeRuleOf(existing.listing_id);
    const result = await inTransaction(this.db, async (tx) => {
      if (idem) {
        const claim = await claimKey<Booking>(tx, idem);
        if (claim.kind === 'replay') return { booking: claim.body, moved: null, offered: null, done: false };
      }
      const cur = await lockBookingForCancel(tx, id);
      // lock order of every capacity path: departure, then listing
      await lockDeparture(tx, cur.departure_id);
      // 'settled' is the money state of a live booking: it can still be cancelled (the refund job gives back
      // charge − fee with a credit note).
      if (cur.status !== 'confirmed' && cur.status !== 'settled') throw conflict('booking_not_active', `this booking is ${cur.status}`);
      const gone = notCancellable({ departsAt: cur.departs_at }, now);
      if (gone) throw conflict('departed', `this booking can no longer be cancelled: ${gone}`);
      const fee = cancellationFee(rule, cur.total_cents, { departsAt: cur.departs_at, cutoffAt: cur.cutoff_at }, now);
      const b = await markBookingCancelled(tx, id, now, fee.feeCents);
      await audit(tx, p, 'booking.cancel', { type: 'booking', id }, { feeCents: fee.feeCents, band: fee.band });
      await enqueueInTx(tx, 'booking.refund', { bookingId: id }, `booking.refund-${id}`);
      const booking = toBooking(b);
      // the capacity is first offered to matching watches (issue 14): it stays reserved (booked → held) for the offer
      const freed = { reason: 'cancellation' as const, sourceId: id, departureId: b.departure_id, listingId: b.listing_id, teu: b.teu, tonnes: b.tonnes, freedByOrgId: p.orgId };
      const offered = this.offers ? await this.offers.start(tx, freed, 'booked', now) : null;
      let moved = null;
      if (!offered) {
        const l = await returnTeuToListing(tx, b.listing_id, b.teu, now);
        const dep = await releaseLoad(tx, 'booked', b.departure_id, b.teu, b.tonnes, now);
        await watchesOnFreed(tx, dep);
        moved = { dep, l };
      }
      const operatorOrgId = moved?.dep.operator_org_id ?? (await departureOperator(tx, b.departure_id));
      await tellWebhooks(tx, bookingEvents('booking.cancelled', [{ booking, operatorOrgId }]));
      if (idem) await storeAnswer(tx, idem, 200, booking);
      return { booking, moved, offered, done: true };
    });
    if (result.done) this.drain();
    if (result.moved) {
      const { dep, l } = result.moved;
      await this.cache.settle(dep.corridor_id, dep.id, null, committedLoad(dep, l));
      await this.afterCommit([availabilityEvent(dep), listingUpdateEvent(l)]);
    }
    if (result.offered) await this.afterCommit(result.offered.events);
    return result.booking;
  }

  /**
   * Confirms many holds in one transaction, each at its own time — batch work with a simulated clock (the
   * history seed). Per hold the same rules as `confirm` (a forwarder's own active hold, not yet due at its
   * time, on a listing still open; held → booked; CO2e from the corridor; audit), locks taken in the same order
   * (departures, then listings, in id order). Sends no settlement job and no live event: the caller settles the
   * bookings itself (ledger settleBookings; the settlement sweep is the safety net). Answers in the items'
   * order; a refusal is an AppError in its place.
   */
  async confirmMany(items: { p: Principal; holdId: string; reference?: string; now: Date }[]): Promise<(Booking | AppError)[]> {
    if (items.length === 0) return [];
    return inTransaction(this.db, async (tx) => {
      const out = new Array<Booking | AppError>(items.length); // afresh on a retried transaction
      const refOf = new Map((await holdRefs(tx, items.map((it) => it.holdId))).map((r) => [r.id, r]));
      const mine = items.map((it, i) => {
        const ref = refOf.get(it.holdId);
        if (it.p.orgKind !== 'forwarder') out[i] = new AppError(403, 'forbidden', 'only forwarder organisations may do this');
        else if (!ref || ref.org_id !== it.p.orgId) out[i] = notFound('hold');
        return out[i] ? null : ref!;
      });
      const live = mine.filter((r) => r !== null);
      await lockDepartures(tx, [...new Set(live.map((r) => r.departure_id))]);
      const statusOf = new Map((await lockListingStatuses(tx, [...new Set(live.map((r) => r.listing_id))])).map((l) => [l.id, l.status]));
      const todo = items.flatMap((it, i) => {
        const ref = mine[i];
        if (!ref) return [];
        const st = statusOf.get(ref.listing_id);
        if (st !== 'open') {
          out[i] = conflict('listing_closed', `this listing is ${st}; the hold can no longer be confirmed`);
          return [];
        }
        return [{ i, id: it.holdId, orgId: it.p.orgId, at: it.now }];
      });
      const held = new Map((await confirmActiveHolds(tx, todo)).map((h) => [h.id, h]));
      for (const t of todo) if (!held.has(t.id)) out[t.i] = conflict('hold_not_active', 'this hold is no longer active, or has expired');
      const done = todo.filter((t) => held.has(t.id));
      if (done.length === 0) return out;
      const loads = new Map<string, { id: string; teu: number; tonnes: number }>();
      for (const t of done) {
        const h = held.get(t.id)!;
        const l = loads.get(h.departure_id) ?? { id: h.departure_id, teu: 0, tonnes: 0 };
        l.teu += h.teu;
        l.tonnes += h.tonnes;
        loads.set(h.departure_id, l);
      }
      const latest = new Date(Math.max(...done.map((t) => t.at.getTime())));
      const deps = new Map((await moveHeldToBookedMany(tx, [...loads.values()], latest)).map((d) => [d.id, d]));
      const routes = new Map((await corridorRoutes(tx, [...new Set([...deps.values()].map((d) => d.corridor_id))])).map((r) => [r.id, r]));
      const rows = done.map((t) => {
        const h = held.get(t.id)!;
        const it = items[t.i]!;
        const em = emissionsOnRoute(routes.get(deps.get(h.departure_id)!.corridor_id)!, h.tonnes);
        return {
          departure_id: h.departure_id, listing_id: h.listing_id, hold_id: h.id, forwarder_org_id: it.p.orgId, user_id: it.p.userId,
          teu: h.teu, tonnes: h.tonnes, unit_price_cents: h.unit_price_cents, total_cents: totalCents(h.unit_price_cents, h.teu),
          reference: it.reference ?? null, cargo: null, co2e_kg: em.co2eKg, road_co2e_kg: em.roadCo2eKg, created_at: t.at,
        };
      });
      const booked = await insertBookings(tx, rows);
      await auditActsAt(tx, 'booking.confirm', 'booking', booked.map((b, n) => ({
        at: done[n]!.at, userId: items[done[n]!.i]!.p.userId, orgId: b.forwarder_org_id, apiKeyId: items[done[n]!.i]!.p.apiKeyId ?? null,
        id: b.id, data: { holdId: b.hold_id, totalCents: b.total_cents },
      })));
      booked.forEach((b, n) => (out[done[n]!.i] = toBooking(b)));
      return out;
    });
  }

  /**
   * Cancels many bookings in one transaction, each at its own time — batch work with a simulated clock (the
   * history seed). Per booking the same rules as `cancel` (a forwarder's own confirmed or settled booking; the
   * listing's fee rule at that time; TEU back to the listing, load released, `seq` bumped; audit), locks in the
   * same order (bookings, then departures, in id order). A booking that was already charged (settled) gets its
   * refund job (outbox); the others are settled by the caller afterwards (the fee only). No live events.
   */
  async cancelMany(items: { p: Principal; bookingId: string; now: Date }[]): Promise<(Booking | AppError)[]> {
    if (items.length === 0) return [];
    const result = await inTransaction(this.db, async (tx) => {
      const out = new Array<Booking | AppError>(items.length); // afresh on a retried transaction
      const cur = new Map((await lockBookingsForCancel(tx, items.map((it) => it.bookingId))).map((b) => [b.id, b]));
      await lockDepartures(tx, [...new Set([...cur.values()].map((b) => b.departure_id))]);
      const rules = new Map((await feeRulesOf(tx, [...new Set([...cur.values()].map((b) => b.listing_id))])).map((l) => [l.id, l.fee_rule]));
      const seen = new Set<string>();
      const todo = items.flatMap((it, i) => {
        const b = cur.get(it.bookingId);
        if (it.p.orgKind !== 'forwarder') out[i] = new AppError(403, 'forbidden', 'only forwarder organisations may do this');
        else if (!b || b.forwarder_org_id !== it.p.orgId) out[i] = notFound('booking');
        else if ((b.status !== 'confirmed' && b.status !== 'settled') || seen.has(b.id)) out[i] = conflict('booking_not_active', `this booking is ${seen.has(b.id) ? 'cancelled' : b.status}`);
        if (out[i]) return [];
        seen.add(b!.id);
        const fee = cancellationFee(feeRuleOrDefault(rules.get(b!.listing_id)), b!.total_cents, { departsAt: b!.departs_at, cutoffAt: b!.cutoff_at }, it.now);
        return [{ i, b: b!, at: it.now, fee }];
      });
      if (todo.length === 0) return { out, refunds: 0 };
      const cancelled = await markBookingsCancelled(tx, todo.map((t) => ({ id: t.b.id, at: t.at, feeCents: t.fee.feeCents })));
      const byId = new Map(cancelled.map((b) => [b.id, b]));
      const sum = (key: (t: (typeof todo)[number]) => string) => {
        const m = new Map<string, { id: string; teu: number; tonnes: number }>();
        for (const t of todo) {
          const e = m.get(key(t)) ?? { id: key(t), teu: 0, tonnes: 0 };
          e.teu += t.b.teu;
          e.tonnes += t.b.tonnes;
          m.set(key(t), e);
        }
        return [...m.values()];
      };
      const latest = new Date(Math.max(...todo.map((t) => t.at.getTime())));
      await returnTeuToListings(tx, sum((t) => t.b.listing_id), latest);
      await releaseBookedMany(tx, sum((t) => t.b.departure_id), latest);
      await auditActsAt(tx, 'booking.cancel', 'booking', todo.map((t) => ({
        at: t.at, userId: items[t.i]!.p.userId, orgId: t.b.forwarder_org_id, apiKeyId: items[t.i]!.p.apiKeyId ?? null, id: t.b.id,
        data: { feeCents: t.fee.feeCents, band: t.fee.band },
      })));
      for (const t of todo) if (t.b.status === 'settled') await enqueueInTx(tx, 'booking.refund', { bookingId: t.b.id }, `booking.refund-${t.b.id}`);
      for (const t of todo) out[t.i] = toBooking(byId.get(t.b.id)!);
      return { out, refunds: todo.filter((t) => t.b.status === 'settled').length };
    });
    if (result.refunds) this.drain();
    return result.out;
  }

  /** Enqueues what the transaction wrote to the outbox (the worker's drainer is the safety net). */
  private drain() {
    kickOutbox(this.db, this.queues);
  }

  private async afterCommit(events: LiveEvent[]) {
    await this.events.emit(events).catch(() => {}); // live pushes are best effort; clients re-read on seq gaps
  }
}
