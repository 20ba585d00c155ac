import { Type, type Static } from 'typebox';
import { IsoTime, LoCode, Mode, StringEnum, Uuid } from './common.ts';

// Watches and cascade re-offers (API.md "Watches, offers, water levels, bid groups"; README "Watches and cascade
// re-offers"). What the schemas cannot say (known cluster codes, a window that is not reversed) the watches service
// checks: 400 `unknown_cluster`, `invalid_window`.

export const OFFER_REASONS = ['expired_hold', 'cancellation', 'no_show', 'unsold', 'derating'] as const;
export const OFFER_STATUSES = ['open', 'accepted', 'declined', 'expired', 'withdrawn'] as const;
export const MATCH_TRIGGERS = ['listing', 'price', 'freed'] as const;
/** Most active watches one organisation may keep. */
export const MAX_WATCHES_PER_ORG = 100;

const Cents = Type.Integer({ minimum: 1, maximum: 100_000_000_00, description: 'integer EUR cents per TEU' });

export const NewWatchBody = Type.Object(
  {
    from: Type.Optional({ ...LoCode, description: 'origin cluster (UN/LOCODE)' }),
    to: Type.Optional({ ...LoCode, description: 'destination cluster (UN/LOCODE)' }),
    corridorId: Type.Optional(Uuid),
    modes: Type.Optional(Type.Array(Mode, { minItems: 1, maxItems: 2, uniqueItems: true, description: 'default: any mode' })),
    departsAfter: Type.Optional({ ...IsoTime, description: 'departures at or after this time' }),
    departsBefore: Type.Optional({ ...IsoTime, description: 'departures at or before this time' }),
    minTeu: Type.Integer({ minimum: 1, maximum: 10_000, description: 'told only of capacity of at least this many TEU' }),
    minTonnes: Type.Optional(Type.Integer({ minimum: 1, maximum: 400_000, description: 'and at least this many tonnes' })),
    maxUnitPriceCents: Type.Optional({ ...Cents, description: 'told only of capacity at no more than this price per TEU' }),
  },
  { additionalProperties: false },
);
export type NewWatchBody = Static<typeof NewWatchBody>;

export const WatchMatch = Type.Object({
  id: Uuid,
  watchId: Uuid,
  departureId: Uuid,
  listingId: Uuid,
  freeTeu: Type.Integer(),
  unitPriceCents: Type.Integer(),
  trigger: StringEnum(MATCH_TRIGGERS, { description: 'listing: a new listing; price: a falling price crossed the maximum; freed: capacity came back' }),
  at: IsoTime,
});
export type WatchMatch = Static<typeof WatchMatch>;

export const Watch = Type.Object({
  id: Uuid,
  from: Type.Optional(Type.String()),
  to: Type.Optional(Type.String()),
  corridorId: Type.Optional(Uuid),
  modes: Type.Optional(Type.Array(Type.String())),
  departsAfter: Type.Optional(IsoTime),
  departsBefore: Type.Optional(IsoTime),
  minTeu: Type.Integer(),
  minTonnes: Type.Optional(Type.Integer()),
  maxUnitPriceCents: Type.Optional(Type.Integer()),
  createdAt: IsoTime,
  /** The in-app notification list: this watch's latest matches, newest first (at most 20). */
  matches: Type.Array(WatchMatch),
});
export type Watch = Static<typeof Watch>;

/**
 * `POST /api/watches`: the watch, and what it could take right now. A watch tells of changes (a new listing, a price
 * crossing its maximum, capacity freed), never of what was already on sale when it was saved: this says so at once.
 */
export const WatchCreated = Type.Object({
  ...Watch.properties,
  onSaleNow: Type.Object(
    {
      listings: Type.Integer({ description: 'open fixed and falling-price listings the watch would match now (at most 500 looked at)' }),
      departures: Type.Integer(),
      teu: Type.Integer({ description: 'the TEU those listings offer within their departures’ free capacity' }),
      fromUnitPriceCents: Type.Union([Type.Integer(), Type.Null()], { description: 'the lowest unit price among them; null when none' }),
    },
    { description: 'capacity on sale now that the watch matches (it is not told again as a match)' },
  ),
});
export type WatchCreated = Static<typeof WatchCreated>;

export const Offer = Type.Object({
  id: Uuid,
  departureId: Uuid,
  listingId: Uuid,
  watchId: Type.Union([Uuid, Type.Null()], { description: 'the watch this offer answers; null for a pooled shipment or a relocation' }),
  shipmentId: Type.Union([Uuid, Type.Null()], { description: 'the pooled shipment this offer answers (accepting takes it out of the pool)' }),
  movedBookingId: Type.Union([Uuid, Type.Null()], {
    description: 'first refusal on a rail alternative for this booking, moved off its barge by low water (reason "derating")',
  }),
  teu: Type.Integer(),
  tonnes: Type.Integer(),
  unitPriceCents: Type.Integer(),
  expiresAt: IsoTime,
  reason: StringEnum(OFFER_REASONS),
  status: StringEnum(OFFER_STATUSES),
  createdAt: IsoTime,
});
export type Offer = Static<typeof Offer>;

export const AcceptOfferBody = Type.Object(
  {
    teu: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'default: every offered TEU' })),
    tonnes: Type.Optional(Type.Integer({ minimum: 1, maximum: 400_000, description: 'default: the offered tonnes (their share when fewer TEU)' })),
  },
  { additionalProperties: false },
);
export type AcceptOfferBody = Static<typeof AcceptOfferBody>;

/** One offer of a chain as the departure's operator sees it. */
const ChainOffer = Type.Object({
  id: Uuid,
  round: Type.Integer(),
  orgId: Uuid,
  orgName: Type.String(),
  status: StringEnum(OFFER_STATUSES),
  createdAt: IsoTime,
  expiresAt: IsoTime,
  endedAt: Type.Optional(IsoTime),
  holdId: Type.Optional(Uuid),
});

export const OfferChain = Type.Object({
  id: Uuid,
  listingId: Uuid,
  teu: Type.Integer(),
  tonnes: Type.Integer(),
  unitPriceCents: Type.Integer(),
  reason: StringEnum(OFFER_REASONS),
  status: StringEnum(['offering', 'accepted', 'returned'] as const, { description: 'offering: reserved for the open offer; accepted; returned: back on the open board' }),
  createdAt: IsoTime,
  endedAt: Type.Optional(IsoTime),
  offers: Type.Array(ChainOffer),
});
export type OfferChain = Static<typeof OfferChain>;

export const DepartureOffers = Type.Object({ departureId: Uuid, chains: Type.Array(OfferChain) });
export type DepartureOffers = Static<typeof DepartureOffers>;
