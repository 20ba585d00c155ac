import type { Db } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { auditActsAt } from '../adapters/db/history-repo.ts';
import { lockDepartures, returnTeuToListings } from '../adapters/db/history-repo.ts';
import { toHold } from '../adapters/db/holds-repo.ts';
import { toBooking, type BookingRow } from '../adapters/db/bookings-repo.ts';
import {
  endActiveHoldsOf, legHolds, listingStates, lockItinerary, releaseHeldMany, updateItinerary, type ItineraryRow, type LegRow,
} from '../adapters/db/itineraries-repo.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import { availabilityEvent, holdEndedEvent, listingUpdateEvent, type EventSink, type LiveEvent } from '../adapters/realtime/events.ts';
import type { DepartureLoad } from '../adapters/db/departures-repo.ts';
import { cancellationFee, feeRuleOrDefault } from '../core/fees.ts';
import { totalCents } from '../core/pricing.ts';
import type { Principal } from '../domain/principal.ts';
import type { Itinerary, ItineraryLeg, ItineraryTransfer } from '../domain/schemas/itineraries.ts';
import type { Hold } from '../domain/schemas/trade.ts';
import { committedLoad } from './capacity-sync.ts';
import { holdExpiredEvents, tellWebhooks } from './webhook-events.ts';

/** What ending or moving an itinerary's legs needs besides the database: the availability cache and the live events. */
export interface LegDeps {
  db: Db;
  cache: AvailabilityCache;
  events: EventSink;
}

export type EndHow = 'released' | 'expired' | 'cancelled';
const ITINERARY_STATUS: Record<EndHow, 'released' | 'expired' | 'cancelled'> = { released: 'released', expired: 'expired', cancelled: 'cancelled' };
const HOLD_ACTION: Record<EndHow, string> = { released: 'hold.release', expired: 'hold.expire', cancelled: 'hold.cancel' };

/**
 * Ends every leg of a held itinerary at once, in one transaction — the holds of an itinerary expire together, are
 * released together, and end together when one leg's listing is withdrawn. Locks: the itinerary row, then the
 * legs' departures in id order (every capacity path's order: departure, then listing). Idempotent: an itinerary
 * no longer held is left alone (null). `expired` only once the itinerary's shared expiry has passed; `ownerOrgId`,
 * when given, must own it. Then the cache, live events and `hold:expired` per leg (unless released).
 */
export async function endItinerary(
  deps: LegDeps,
  itineraryId: string,
  how: EndHow,
  actor: Principal | null,
  now: Date,
  ownerOrgId?: string,
): Promise<{ itinerary: ItineraryRow; ended: Hold[] } | null> {
  const done = await inTransaction(deps.db, async (tx) => {
    const it = await lockItinerary(tx, itineraryId);
    if (!it || it.status !== 'held') return null;
    if (ownerOrgId !== undefined && it.forwarder_org_id !== ownerOrgId) return null;
    if (how === 'expired' && it.expires_at > now) return null;
    const legs = (await legHolds(tx, itineraryId)).filter((h) => h.status === 'active');
    await lockDepartures(tx, [...new Set(legs.map((h) => h.departure_id))]);
    const ended = await endActiveHoldsOf(tx, itineraryId, how, now);
    await returnTeuToListings(tx, ended.map((h) => ({ id: h.listing_id, teu: h.teu })), now);
    const deps2 = await releaseHeldMany(tx, sumByDeparture(ended), now);
    const listings = await listingStates(tx, ended.map((h) => h.listing_id));
    const acts = ended.map((h) => ({
      at: now, userId: actor?.userId ?? null, orgId: h.org_id, apiKeyId: actor?.apiKeyId ?? null, id: h.id, data: { itineraryId, legIndex: h.leg_index },
    }));
    await auditActsAt(tx, HOLD_ACTION[how], 'hold', acts);
    await auditActsAt(tx, `itinerary.${how === 'released' ? 'release' : how === 'expired' ? 'expire' : 'cancel'}`, 'itinerary', [
      { at: now, userId: actor?.userId ?? null, orgId: it.forwarder_org_id, apiKeyId: actor?.apiKeyId ?? null, id: it.id, data: { legs: ended.length } },
    ]);
    const itinerary = await updateItinerary(tx, itineraryId, { status: ITINERARY_STATUS[how], ended_at: now });
    if (how === 'expired') await tellWebhooks(tx, holdExpiredEvents(ended.map((h) => ({ ...h, itinerary_id: itineraryId }))));
    return { itinerary, ended, departures: deps2, listings };
  });
  if (!done) return null;
  await settleAndTell(deps, done.departures, done.listings, done.ended.map((h) => ({ departureId: h.departure_id, listingId: h.listing_id })));
  if (how !== 'released') await deps.events.emit(done.ended.map((h) => holdEndedEvent(h, how))).catch(() => {});
  return { itinerary: done.itinerary, ended: done.ended.map(toHold) };
}

/** One load per departure: the sum of these rows' TEU and tonnes. */
export function sumByDeparture(rows: { departure_id: string; teu: number; tonnes: number }[]) {
  const m = new Map<string, { id: string; teu: number; tonnes: number }>();
  for (const r of rows) {
    const e = m.get(r.departure_id) ?? { id: r.departure_id, teu: 0, tonnes: 0 };
    e.teu += r.teu;
    e.tonnes += r.tonnes;
    m.set(r.departure_id, e);
  }
  return [...m.values()];
}

/**
 * After a commit that moved the legs' capacity: each departure's load (and its leg's listing) into the availability
 * cache, and `departure:availability` + `listing:update` per leg. Best effort: the cache is only a filter and live
 * pushes are re-read on gaps.
 */
export async function settleAndTell(
  deps: LegDeps,
  departures: DepartureLoad[],
  listings: { id: string; status: string; remaining_teu: number }[],
  legs: { departureId: string; listingId: string; unitPriceCents?: number; reservation?: { gen: string; listingId: string; teu: number; tonnes: number } | null }[],
): Promise<void> {
  const depOf = new Map(departures.map((d) => [d.id, d]));
  const listingOf = new Map(listings.map((l) => [l.id, l]));
  const events: LiveEvent[] = [];
  for (const leg of legs) {
    const dep = depOf.get(leg.departureId);
    const l = listingOf.get(leg.listingId);
    if (!dep || !l) continue;
    await deps.cache.settle(dep.corridor_id, dep.id, leg.reservation ?? null, committedLoad(dep, l));
    events.push(availabilityEvent(dep), listingUpdateEvent(l, leg.unitPriceCents));
  }
  await deps.events.emit(events).catch(() => {});
}

// --- the public shape -----------------------------------------------------------------------------------

/** Leg state from its hold and booking. */
function legState(holdStatus: string, booking: BookingRow | undefined): ItineraryLeg['state'] {
  if (booking) return booking.status === 'cancelled' ? 'cancelled' : 'booked';
  if (holdStatus === 'active') return 'held';
  if (holdStatus === 'released' || holdStatus === 'expired' || holdStatus === 'cancelled') return holdStatus;
  return 'released';
}

/**
 * The public `Itinerary` of a row, its legs (holds with their departures) and its bookings. A booked leg shows the
 * fee its listing's rule would keep if cancelled at `now` ("shown before"); a cancelled one the fee kept.
 */
export function toItinerary(it: ItineraryRow, legs: LegRow[], bookings: BookingRow[], now: Date): Itinerary {
  const bookingOf = new Map(bookings.map((b) => [b.leg_index, b]));
  const outLegs: ItineraryLeg[] = legs.map((l) => {
    const b = bookingOf.get(l.leg_index);
    let cancellation: ItineraryLeg['cancellation'] = null;
    if (b && (b.status === 'confirmed' || b.status === 'settled')) {
      const f = cancellationFee(feeRuleOrDefault(l.fee_rule), b.total_cents, { departsAt: l.departs_at, cutoffAt: l.cutoff_at }, now);
      cancellation = { feeCents: f.feeCents, refundCents: f.refundCents, percent: f.percent, band: f.band };
    } else if (b && b.status === 'cancelled' && b.cancellation_fee_cents !== null) {
      const fee = b.cancellation_fee_cents;
      cancellation = { feeCents: fee, refundCents: b.total_cents - fee, percent: b.total_cents ? Math.round((fee * 100) / b.total_cents) : 0, band: 'charged' };
    }
    return {
      legIndex: l.leg_index ?? 0,
      listingId: l.listing_id,
      departureId: l.departure_id,
      mode: l.mode,
      origin: l.origin,
      destination: l.destination,
      departsAt: l.departs_at.toISOString(),
      arrivesAt: l.arrives_at.toISOString(),
      cutoffAt: l.cutoff_at.toISOString(),
      distanceKm: l.distance_km,
      format: l.format,
      unitPriceCents: l.unit_price_cents,
      totalCents: totalCents(l.unit_price_cents, l.teu),
      state: legState(l.status, b),
      holdId: l.id,
      bookingId: b?.id ?? null,
      cancellation,
    };
  });
  const fees = outLegs.flatMap((l) => (l.cancellation ? [l.cancellation.feeCents] : []));
  const first = legs[0];
  const last = legs[legs.length - 1];
  return {
    id: it.id,
    status: it.status,
    teu: it.teu,
    tonnes: it.tonnes,
    legsCents: it.legs_cents,
    handlingCents: it.handling_cents,
    totalCents: it.total_cents,
    co2eKg: it.co2e_kg,
    departsAt: (first?.departs_at ?? it.created_at).toISOString(),
    arrivesAt: (last?.arrives_at ?? it.created_at).toISOString(),
    expiresAt: it.expires_at.toISOString(),
    createdAt: it.created_at.toISOString(),
    confirmedAt: it.confirmed_at?.toISOString() ?? null,
    endedAt: it.ended_at?.toISOString() ?? null,
    reference: it.reference,
    cancellationFeeCents: it.status === 'cancelled' ? it.cancellation_fee_cents : it.status === 'confirmed' ? fees.reduce((a, b) => a + b, 0) : null,
    legs: outLegs,
    transfers: (it.transfers as ItineraryTransfer[] | null) ?? [],
    holds: legs.map((l) => toHold(l)),
    bookings: legs.flatMap((l) => {
      const b = bookingOf.get(l.leg_index);
      return b ? [toBooking(b)] : [];
    }),
  };
}
