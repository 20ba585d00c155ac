import { Type, type Static } from 'typebox';
import { IsoTime, Mode, StringEnum, Uuid } from './common.ts';

const Teu = Type.Integer({ minimum: 1, maximum: 10_000, description: 'whole TEU' });
const Tonnes = Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'integer tonnes' });
const Cents = Type.Integer({ minimum: 0, maximum: 100_000_000_00, description: 'integer EUR cents' });

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});
export type IdempotencyHeaders = Static<typeof IdempotencyHeaders>;

export const NewDepartureBody = Type.Object(
  {
    corridorId: Uuid,
    departsAt: IsoTime,
    arrivesAt: IsoTime,
    cutoffAt: IsoTime,
    capacityTeu: Type.Integer({ minimum: 1, maximum: 10_000 }),
    capacityTonnes: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    assetName: Type.String({ minLength: 1, maxLength: 120 }),
    reeferPlugs: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    dangerousGoods: Type.Optional(Type.Boolean()),
    minLoadTeu: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'minimum load (TEU), at most capacityTeu; default ceil(40 % of capacityTeu)' })),
  },
  { additionalProperties: false },
);
export type NewDepartureBody = Static<typeof NewDepartureBody>;

export const FeeRuleSchema = Type.Object(
  {
    tiers: Type.Array(
      Type.Object({ fromMinutesBeforeDeparture: Type.Integer({ minimum: 0, maximum: 525_600 }), percent: Type.Integer({ minimum: 0, maximum: 100 }) }, { additionalProperties: false }),
      { maxItems: 10 },
    ),
    afterCutoffPercent: Type.Integer({ minimum: 0, maximum: 100 }),
  },
  { additionalProperties: false },
);
export type FeeRuleSchema = Static<typeof FeeRuleSchema>;

export const NewListingBody = Type.Object(
  {
    departureId: Uuid,
    format: Type.Union([Type.Literal('fixed'), Type.Literal('ascending'), Type.Literal('sealed'), Type.Literal('falling')]),
    teu: Teu,
    unitPriceCents: Type.Optional(Cents),
    reservePriceCents: Type.Optional(Cents),
    minIncrementCents: Type.Optional(Cents),
    floorPriceCents: Type.Optional(Cents),
    stepCents: Type.Optional(Cents),
    stepEveryMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080 })),
    opensAt: Type.Optional(IsoTime),
    closesAt: Type.Optional(IsoTime),
    feeRule: Type.Optional(FeeRuleSchema),
    unsoldAction: Type.Optional(Type.Union([Type.Literal('return'), Type.Literal('relist')])),
  },
  { additionalProperties: false },
);
export type NewListingBody = Static<typeof NewListingBody>;

export const NewHoldBody = Type.Object({ listingId: Uuid, teu: Teu, tonnes: Tonnes }, { additionalProperties: false });
export type NewHoldBody = Static<typeof NewHoldBody>;

export const Hold = Type.Object({
  id: Uuid,
  listingId: Uuid,
  departureId: Uuid,
  teu: Type.Integer(),
  tonnes: Type.Integer(),
  unitPriceCents: Type.Integer(),
  totalCents: Type.Integer(),
  status: Type.String(),
  expiresAt: IsoTime,
  createdAt: IsoTime,
});
export type Hold = Static<typeof Hold>;

/**
 * The departure a hold or booking is on, as people name it (the list answers carry it, so that a row needs no
 * second request): its route (UN/LOCODEs and cluster names), mode, operator, asset and times.
 */
export const DepartureBrief = Type.Object({
  corridorCode: Type.String(),
  origin: Type.String({ description: 'UN/LOCODE of the origin cluster' }),
  originName: Type.String(),
  destination: Type.String({ description: 'UN/LOCODE of the destination cluster' }),
  destinationName: Type.String(),
  mode: Mode,
  operatorName: Type.String(),
  assetName: Type.String(),
  departsAt: IsoTime,
  arrivesAt: IsoTime,
  cutoffAt: IsoTime,
});
export type DepartureBrief = Static<typeof DepartureBrief>;

/** `GET /api/holds`: a `Hold` with its departure. */
export const HoldWithDeparture = Type.Object({ ...Hold.properties, departure: DepartureBrief });
export type HoldWithDeparture = Static<typeof HoldWithDeparture>;

/**
 * An active hold on one of the operator's departures (operator console). The operator is the counterparty: it
 * sees the holder's organisation and the price held at (its own), as it does for bookings.
 */
export const OperatorHold = Type.Object({
  id: Uuid,
  departureId: Uuid,
  listingId: Uuid,
  teu: Type.Integer(),
  tonnes: Type.Integer(),
  expiresAt: IsoTime,
  forwarderOrgId: Uuid,
  forwarderOrgName: Type.String(),
  unitPriceCents: Type.Integer(),
  totalCents: Type.Integer(),
  createdAt: IsoTime,
  departure: DepartureBrief,
});
export type OperatorHold = Static<typeof OperatorHold>;

/** Cargo details given when a hold is confirmed; the booking keeps them as given. */
export const Cargo = Type.Object(
  {
    containers: Type.Optional(
      Type.Union([
        Type.Integer({ minimum: 0, maximum: 10_000 }),
        Type.Array(Type.String({ maxLength: 20 }), { maxItems: 1000 }),
        Type.String({ maxLength: 2000 }),
      ]),
    ),
    dangerousGoods: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type Cargo = Static<typeof Cargo>;

export const ConfirmBody = Type.Object(
  {
    reference: Type.Optional(Type.String({ maxLength: 120 })),
    cargo: Type.Optional(Cargo),
  },
  { additionalProperties: false },
);
export type ConfirmBody = Static<typeof ConfirmBody>;

export const Booking = Type.Object({
  id: Uuid,
  departureId: Uuid,
  listingId: Uuid,
  forwarderOrgId: Uuid,
  teu: Type.Integer(),
  tonnes: Type.Integer(),
  unitPriceCents: Type.Integer(),
  totalCents: Type.Integer(),
  status: StringEnum(['confirmed', 'cancelled', 'settled']),
  co2eKg: Type.Integer(),
  roadCo2eKg: Type.Integer(),
  reference: Type.Union([Type.String(), Type.Null()]),
  cargo: Type.Union([Cargo, Type.Null()], { description: 'as given at confirmation; null when none was given (auction wins)' }),
  cancellationFeeCents: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: IsoTime,
  cancelledAt: Type.Union([IsoTime, Type.Null()]),
});
export type Booking = Static<typeof Booking>;

/** `GET /api/bookings`: a `Booking` with its buyer's name (the operator's customer) and its departure. */
export const BookingWithDeparture = Type.Object({ ...Booking.properties, forwarderOrgName: Type.String(), departure: DepartureBrief });

/** `GET /api/bookings`: a page (keyset cursor from the previous page's `x-next-cursor`). */
export const BookingListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    before: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'the x-next-cursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type BookingListQuery = Static<typeof BookingListQuery>;
export type BookingWithDeparture = Static<typeof BookingWithDeparture>;

export const BookingSummary = Type.Object({
  bookings: Type.Integer({ description: 'every booking the caller sees, cancelled ones included' }),
  activeBookings: Type.Integer({ description: 'not cancelled' }),
  activeTeu: Type.Integer(),
  co2eKg: Type.Integer({ description: 'of the active bookings, well-to-wheel' }),
  roadCo2eKg: Type.Integer({ description: 'the same cargo by road' }),
  listLimit: Type.Integer({ description: 'GET /api/bookings returns at most this many, newest first' }),
});
export type BookingSummary = Static<typeof BookingSummary>;

export const CancellationPreview = Type.Object({
  feeCents: Type.Integer(),
  refundCents: Type.Integer(),
  percent: Type.Integer(),
  band: Type.String(),
});
export type CancellationPreview = Static<typeof CancellationPreview>;
