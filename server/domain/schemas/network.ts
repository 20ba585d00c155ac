import { Type, type Static } from 'typebox';
import { IsoTime, LoCode, Mode, StringEnum, Uuid } from './common.ts';
import { FeeRuleSchema } from './trade.ts';

export const Cluster = Type.Object({
  id: Uuid,
  code: Type.String(),
  name: Type.String(),
  country: Type.String(),
  lat: Type.Number(),
  lon: Type.Number(),
  terminals: Type.Array(Type.String()),
  gateway: Type.Boolean(),
});
export type Cluster = Static<typeof Cluster>;

export const Corridor = Type.Object({
  id: Uuid,
  code: Type.String(),
  fromClusterId: Uuid,
  toClusterId: Uuid,
  origin: Type.String(),
  destination: Type.String(),
  mode: Mode,
  distanceKm: Type.Integer(),
});
export type Corridor = Static<typeof Corridor>;

/**
 * What a departure has ON SALE now — its open listings (status open with TEU left, opened, auctions before their
 * close, the departure before its cut-off) — as opposed to `freeTeu`, which also counts capacity its operator has
 * not listed.
 */
export const OnSale = Type.Object(
  {
    teu: Type.Integer({ description: 'sum of the remaining TEU of its open listings' }),
    fromUnitPriceCents: Type.Union([Type.Integer(), Type.Null()], { description: 'lowest current unit price of its open fixed and falling listings (falling: the price now); null when it has none' }),
    formats: Type.Array(StringEnum(['fixed', 'ascending', 'sealed', 'falling']), { description: 'distinct formats of its open listings, sorted' }),
    nextCloseAt: Type.Union([IsoTime, Type.Null()], { description: 'soonest close of its open auctions (ascending, sealed); null when it has none' }),
  },
  { additionalProperties: false },
);
export type OnSale = Static<typeof OnSale>;

export const Departure = Type.Object(
  {
    id: Uuid,
    corridorId: Uuid,
    corridorCode: Type.String(),
    mode: Mode,
    origin: Type.String(),
    destination: Type.String(),
    distanceKm: Type.Integer(),
    departsAt: IsoTime,
    arrivesAt: IsoTime,
    cutoffAt: IsoTime,
    capacityTeu: Type.Integer(),
    capacityTonnes: Type.Integer(),
    freeTeu: Type.Integer(),
    freeTonnes: Type.Integer(),
    heldTeu: Type.Integer(),
    bookedTeu: Type.Integer(),
    seq: Type.Integer(),
    status: StringEnum(['scheduled', 'cancelled']),
    operatorOrgId: Uuid,
    operatorName: Type.String(),
    assetName: Type.String(),
    reeferPlugs: Type.Integer(),
    dangerousGoods: Type.Boolean(),
    minLoadTeu: Type.Integer({ description: 'below this booked load near its cut-off the departure is "at risk" (default ceil(40 % of capacityTeu))' }),
    unlistedTeu: Type.Integer({ description: 'TEU neither held, booked nor offered by an open listing (one not open yet included): what a new listing may still offer (0 once the departure no longer sells: cancelled or past its cut-off)' }),
    onSale: OnSale,
  },
  { additionalProperties: false },
);
export type Departure = Static<typeof Departure>;

/** A current winner of an ascending auction ('You' when the viewer placed it, else 'Bidder N'). */
export const LeadingBid = Type.Object({
  label: Type.String(),
  teu: Type.Integer({ description: 'TEU the bid asks for' }),
  allocatedTeu: Type.Integer({ description: 'TEU the bid currently wins' }),
  unitPriceCents: Type.Integer(),
  seq: Type.Optional(Type.Integer()),
  rank: Type.Optional(Type.Integer({ description: 'its place in the allocation, from 1' })),
});
export type LeadingBid = Static<typeof LeadingBid>;

export const Listing = Type.Object({
  id: Uuid,
  departureId: Uuid,
  format: StringEnum(['fixed', 'ascending', 'sealed', 'falling']),
  teu: Type.Integer(),
  remainingTeu: Type.Integer(),
  status: StringEnum(['open', 'closed', 'cancelled']),
  unitPriceCents: Type.Optional(Type.Integer()),
  reservePriceCents: Type.Optional(Type.Integer()),
  minIncrementCents: Type.Optional(Type.Integer()),
  floorPriceCents: Type.Optional(Type.Integer()),
  currentPriceCents: Type.Optional(Type.Integer()),
  opensAt: Type.Optional(IsoTime),
  closesAt: Type.Optional(IsoTime),
  unsoldAction: Type.Optional(StringEnum(['return', 'relist'], { description: 'auctions: what happens to unsold TEU' })),
  feeRule: Type.Optional({ ...FeeRuleSchema, description: "what cancelling a booking of this listing costs: each tier's percent of the booking's total applies from that many minutes before departure; afterCutoffPercent once the cut-off has passed (the default rule when the operator set none)" }),
  // auctions (ascending and sealed): their live state as the caller may see it (sealed: never others' prices)
  maxCloseAt: Type.Optional(IsoTime),
  softCloseWindowSeconds: Type.Optional(Type.Integer({ description: 'ascending: a bid this close to the close extends it…' })),
  softCloseExtendSeconds: Type.Optional(Type.Integer({ description: '…to now + this many seconds' })),
  leadingBids: Type.Optional(Type.Array(LeadingBid, { description: 'ascending: the top 50 winning bids, and any further ones of the caller' })),
  leadingBidCount: Type.Optional(Type.Integer({ description: 'ascending: how many bids win now (leadingBids may show fewer)' })),
  bidSeq: Type.Optional(
    Type.Integer({
      description: 'ascending: the version of the book this ladder is at least as new as; a `listing:update` carries it too — keep the newer one',
    }),
  ),
  minNextBidCents: Type.Optional(Type.Integer({ description: 'the minimum unit price a new bid must carry' })),
  unallocatedTeu: Type.Optional(Type.Integer()),
  awardedTeu: Type.Optional(Type.Integer({ description: 'after the close' })),
  clearingPriceCents: Type.Optional(Type.Integer({ description: 'after the close' })),
});
export type Listing = Static<typeof Listing>;

export const DepartureWithListings = Type.Object({ ...Departure.properties, listings: Type.Array(Listing) });
export type DepartureWithListings = Static<typeof DepartureWithListings>;

export const DepartureQuery = Type.Object(
  {
    from: Type.Optional(LoCode),
    to: Type.Optional(LoCode),
    mode: Type.Optional(Mode),
    after: Type.Optional(IsoTime),
    before: Type.Optional(IsoTime),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'rows per page (default 500)' })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'the x-next-cursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type DepartureQuery = Static<typeof DepartureQuery>;
