import { Type, type Static } from 'typebox';
import { IsoTime, LoCode, Mode, StringEnum, Uuid } from './common.ts';
import { Booking, CancellationPreview, Hold } from './trade.ts';

/** Most legs an itinerary may have (the route search's `maxLegs` ceiling). */
export const MAX_ITINERARY_LEGS = 5;

export const NewItineraryBody = Type.Object(
  {
    legs: Type.Array(Type.Object({ listingId: Uuid }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: MAX_ITINERARY_LEGS,
      description: `the chain in travel order, 1–${MAX_ITINERARY_LEGS} legs, each listing once (as GET /api/routes answers it)`,
    }),
    teu: Type.Integer({ minimum: 1, maximum: 10_000, description: 'whole TEU, carried on every leg' }),
    tonnes: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'integer tonnes, at least 1 per TEU' }),
  },
  { additionalProperties: false },
);
export type NewItineraryBody = Static<typeof NewItineraryBody>;

/** DELETE /api/itineraries/:id?expect=… — what the caller believes it is ending (a stale "Release" must not cancel). */
export const RemoveItineraryQuery = Type.Object(
  {
    expect: Type.Optional(StringEnum(['held', 'confirmed'], {
      description: 'held: release only — 409 `itinerary_state_changed` if it was confirmed (or ended) meanwhile; confirmed: cancel only',
    })),
  },
  { additionalProperties: false },
);
export type RemoveItineraryQuery = Static<typeof RemoveItineraryQuery>;

export const ConfirmItineraryBody = Type.Object(
  { reference: Type.Optional(Type.String({ maxLength: 120, description: 'your reference, kept on the itinerary and each leg booking' })) },
  { additionalProperties: false },
);
export type ConfirmItineraryBody = Static<typeof ConfirmItineraryBody>;

export const ItineraryStatus = StringEnum(['held', 'confirmed', 'released', 'expired', 'cancelled'], {
  description:
    'held: every leg held (one shared expiry); confirmed: every leg booked; released: let go by the holder; expired: the holds ran out; ' +
    'cancelled: the bookings were cancelled by the holder, or a held leg\'s listing was withdrawn by its operator (every leg ended)',
});

export const ItineraryLeg = Type.Object({
  legIndex: Type.Integer(),
  listingId: Uuid,
  departureId: Uuid,
  mode: Mode,
  origin: LoCode,
  destination: LoCode,
  departsAt: IsoTime,
  arrivesAt: IsoTime,
  cutoffAt: IsoTime,
  distanceKm: Type.Integer(),
  format: Type.String(),
  unitPriceCents: Type.Integer({ description: 'the price held (per TEU)' }),
  totalCents: Type.Integer({ description: 'unitPriceCents × teu' }),
  state: StringEnum(['held', 'booked', 'released', 'expired', 'cancelled'], { description: "this leg's hold or booking" }),
  holdId: Uuid,
  bookingId: Type.Union([Uuid, Type.Null()]),
  cancellation: Type.Union([CancellationPreview, Type.Null()], {
    description: 'for a booked leg: the fee its listing\'s rule would keep if the itinerary were cancelled now; after a cancellation: the fee kept',
  }),
});
export type ItineraryLeg = Static<typeof ItineraryLeg>;

export const ItineraryTransfer = Type.Object({
  at: LoCode,
  waitMinutes: Type.Integer(),
  handlingCents: Type.Integer({ description: 'handling charge of this transfer for the whole quantity' }),
});
export type ItineraryTransfer = Static<typeof ItineraryTransfer>;

export const Itinerary = Type.Object({
  id: Uuid,
  status: ItineraryStatus,
  teu: Type.Integer(),
  tonnes: Type.Integer(),
  legsCents: Type.Integer({ description: 'Σ leg totals (settled and invoiced per leg by its operator)' }),
  handlingCents: Type.Integer({ description: 'Σ transfer handling charges (an estimate from the transfer data, payable at the terminals)' }),
  totalCents: Type.Integer({ description: 'legsCents + handlingCents, as the route search showed it' }),
  co2eKg: Type.Integer(),
  departsAt: IsoTime,
  arrivesAt: IsoTime,
  expiresAt: IsoTime,
  createdAt: IsoTime,
  confirmedAt: Type.Union([IsoTime, Type.Null()]),
  endedAt: Type.Union([IsoTime, Type.Null()]),
  reference: Type.Union([Type.String(), Type.Null()]),
  cancellationFeeCents: Type.Union([Type.Integer(), Type.Null()], {
    description: 'confirmed: Σ the legs\' fees if cancelled now; cancelled after booking: Σ the fees kept; otherwise null',
  }),
  legs: Type.Array(ItineraryLeg),
  transfers: Type.Array(ItineraryTransfer),
  holds: Type.Array(Hold, { description: 'the legs\' holds, in leg order' }),
  bookings: Type.Array(Booking, { description: 'the legs\' bookings, in leg order (none until confirmed)' }),
});
export type Itinerary = Static<typeof Itinerary>;
