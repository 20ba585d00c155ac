import { audit } from '../../adapters/db/audit.ts';
import { lockBookingForCancel, markBookingCancelled, toBooking } from '../../adapters/db/bookings-repo.ts';
import { inTransaction, type Db } from '../../adapters/db/db.ts';
import { lockDeparture, releaseLoad } from '../../adapters/db/departures-repo.ts';
import { returnTeuToListing } from '../../adapters/db/listings-repo.ts';
import { bookingForNoShow, markNoShow } from '../../adapters/db/offers-repo.ts';
import { enqueueInTx } from '../../adapters/db/outbox.ts';
import { conflict, notFound } from '../../domain/errors.ts';
import { policy, type Principal } from '../../domain/principal.ts';
import type { Booking } from '../../domain/schemas/trade.ts';
import { partOfItinerary } from '../bookings.ts';
import { bookingEvents, tellWebhooks } from '../webhook-events.ts';
import { watchesOnFreed, type CascadeStep, type OfferCascade } from './cascade.ts';

/**
 * POST /api/bookings/:id/no-show — the departure's operator marks a booking not delivered: the booking is cancelled
 * with its whole price as the fee (the slot was kept for it; the refund job settles that, exactly once), and its
 * capacity is re-offered to matching watches (or goes back to its listing). Only before the departure leaves; an
 * itinerary's leg is refused (409 `part_of_itinerary`: itineraries end as a whole).
 */
export async function noShow(
  db: Db,
  cascade: OfferCascade,
  p: Principal,
  bookingId: string,
  now: Date,
): Promise<{ booking: Booking; step: CascadeStep | null; operatorOrgId: string }> {
  policy.requireOrgKind(p, 'operator');
  const b = await bookingForNoShow(db, bookingId);
  if (!b || b.operator_org_id !== p.orgId) throw notFound('booking');
  if (b.itinerary_id) throw partOfItinerary('booking', b.itinerary_id);
  return inTransaction(db, async (tx) => {
    const cur = await lockBookingForCancel(tx, bookingId);
    await lockDeparture(tx, cur.departure_id);
    if (cur.status !== 'confirmed' && cur.status !== 'settled') throw conflict('booking_not_active', `this booking is ${cur.status}`);
    if (cur.departs_at <= now) throw conflict('departed', 'this departure has left; a no-show is marked before it leaves');
    const row = await markBookingCancelled(tx, bookingId, now, cur.total_cents);
    await markNoShow(tx, bookingId, now);
    await audit(tx, p, 'booking.no_show', { type: 'booking', id: bookingId }, { feeCents: cur.total_cents });
    await enqueueInTx(tx, 'booking.refund', { bookingId }, `booking.refund-${bookingId}`);
    const booking = toBooking(row);
    await tellWebhooks(tx, bookingEvents('booking.cancelled', [{ booking, operatorOrgId: p.orgId }]));
    const freed = {
      reason: 'no_show' as const, sourceId: bookingId, departureId: row.departure_id, listingId: row.listing_id, teu: row.teu, tonnes: row.tonnes,
      freedByOrgId: row.forwarder_org_id,
    };
    let step = await cascade.start(tx, freed, 'booked', now);
    if (!step) {
      const l = await returnTeuToListing(tx, row.listing_id, row.teu, now);
      const dep = await releaseLoad(tx, 'booked', row.departure_id, row.teu, row.tonnes, now);
      await watchesOnFreed(tx, dep);
      step = { events: [], offer: null, returned: { dep, l } };
    }
    return { booking, step, operatorOrgId: p.orgId };
  });
}
