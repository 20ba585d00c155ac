import { Type, type Static } from 'typebox';
import { IsoTime, StringEnum, Uuid } from './common.ts';
import { Cargo } from './trade.ts';

/** One booking on the departure, as its operator hands it to the terminal: the customer, the load, the cargo given. */
export const ManifestBooking = Type.Object({
  id: Uuid,
  forwarderOrgId: Uuid,
  forwarderOrgName: Type.String(),
  listingId: Uuid,
  format: StringEnum(['fixed', 'ascending', 'sealed', 'falling'], { description: 'how it was sold' }),
  teu: Type.Integer(),
  tonnes: Type.Integer(),
  unitPriceCents: Type.Integer(),
  totalCents: Type.Integer(),
  status: StringEnum(['confirmed', 'cancelled', 'settled']),
  reference: Type.Union([Type.String(), Type.Null()], { description: "the forwarder's own reference" }),
  cargo: Type.Union([Cargo, Type.Null()], { description: 'as given at confirmation (containers, dangerous goods); null when none was given' }),
  createdAt: IsoTime,
  cancelledAt: Type.Union([IsoTime, Type.Null()]),
  cancellationFeeCents: Type.Union([Type.Integer(), Type.Null()]),
  cancelledBecause: Type.Union([StringEnum(['forwarder', 'no_show', 'derating']), Type.Null()], { description: 'who or what ended it; null while active' }),
  itineraryId: Type.Union([Uuid, Type.Null()], { description: 'a leg of a multi-leg itinerary' }),
  movedFromDepartureId: Type.Union([Uuid, Type.Null()], { description: 'moved here by a merge, from this departure' }),
});
export type ManifestBooking = Static<typeof ManifestBooking>;

/** Room someone has on the departure without a booking: who, how much, at what price. */
const RoomHeld = {
  id: Uuid,
  forwarderOrgId: Uuid,
  forwarderOrgName: Type.String(),
  listingId: Uuid,
  teu: Type.Integer(),
  tonnes: Type.Integer(),
  unitPriceCents: Type.Integer(),
  expiresAt: IsoTime,
};

/** Room held on the departure now: who, how much, until when (a hold that expires goes back on sale). */
export const ManifestHold = Type.Object({ ...RoomHeld, createdAt: IsoTime, itineraryId: Type.Union([Uuid, Type.Null()]) });
export type ManifestHold = Static<typeof ManifestHold>;

/** Room reserved for a re-offer now open: freed capacity offered to one forwarder first (README "Watches and cascade re-offers"). */
export const ManifestOffer = Type.Object({ ...RoomHeld, reason: StringEnum(['expired_hold', 'cancellation', 'no_show', 'unsold', 'derating']) });
export type ManifestOffer = Static<typeof ManifestOffer>;

/** `GET /api/departures/:id/manifest` — its operator (and the platform). */
export const DepartureManifest = Type.Object({
  departureId: Uuid,
  asOf: IsoTime,
  bookings: Type.Array(ManifestBooking, { description: 'every booking ever made on it, oldest first, cancelled ones included' }),
  holds: Type.Array(ManifestHold, { description: 'active holds, soonest to expire first (one just past its expiry is listed until the sweep ends it, as the departure counts it until then)' }),
  offers: Type.Array(ManifestOffer, { description: 'open re-offers: room reserved for one forwarder until it answers; counted as held on the departure' }),
  totals: Type.Object({
    bookedTeu: Type.Integer({ description: 'of the active (confirmed or settled) bookings' }),
    bookedTonnes: Type.Integer(),
    bookedCents: Type.Integer({ description: 'what the active bookings pay' }),
    feesCents: Type.Integer({ description: 'cancellation and no-show fees of the cancelled ones' }),
    heldTeu: Type.Integer({ description: 'of the active holds and the open re-offers: what the departure counts as held' }),
    heldTonnes: Type.Integer(),
    offeredTeu: Type.Integer({ description: 'the part of heldTeu reserved for open re-offers' }),
    dangerousGoodsBookings: Type.Integer({ description: 'active bookings whose cargo was declared dangerous goods' }),
  }),
});
export type DepartureManifest = Static<typeof DepartureManifest>;
