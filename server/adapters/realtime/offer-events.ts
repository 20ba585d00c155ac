import type { Offer } from '../../domain/schemas/watches.ts';
import { rooms, type LiveEvent } from './events.ts';

/** `offer:new` to the offeree's organisation: an exclusive right of first refusal (API.md "Watches, offers"). */
export function offerNewEvent(orgId: string, offer: Offer): LiveEvent {
  return { rooms: [rooms.org(orgId)], event: 'offer:new', payload: offer };
}

/** `offer:expired` to the offeree's organisation: its offer ran out (or was withdrawn) and went to the next in line. */
export function offerExpiredEvent(orgId: string, o: { id: string; departureId: string; listingId: string }, reason: 'expired' | 'withdrawn'): LiveEvent {
  return { rooms: [rooms.org(orgId)], event: 'offer:expired', payload: { offerId: o.id, departureId: o.departureId, listingId: o.listingId, reason } };
}

/** `watch:match` to the watcher's organisation: capacity it can take appeared. */
export function watchMatchEvent(
  orgId: string,
  m: { watchId: string; departureId: string; listingId: string; freeTeu: number; unitPriceCents: number; trigger: string },
): LiveEvent {
  return { rooms: [rooms.org(orgId)], event: 'watch:match', payload: m };
}
