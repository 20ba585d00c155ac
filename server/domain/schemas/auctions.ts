import { Type, type Static } from 'typebox';
import { IsoTime, LoCode, Mode, StringEnum, Uuid } from './common.ts';

const Cents = Type.Integer({ minimum: 1, maximum: 100_000_000_00, description: 'integer EUR cents per TEU' });

export const NewBidBody = Type.Object(
  {
    teu: Type.Integer({ minimum: 1, maximum: 10_000 }),
    unitPriceCents: Cents,
    allOrNothing: Type.Optional(Type.Boolean()),
    maxUnitPriceCents: Type.Optional(Cents),
  },
  { additionalProperties: false },
);
export type NewBidBody = Static<typeof NewBidBody>;

/**
 * `bid:place` on the live connection (issue 16): the REST call's body with the listing and, optionally, the
 * Idempotency-Key (a retried message with the same key gets the first answer).
 */
export const BidPlaceMessage = Type.Object(
  {
    listingId: Uuid,
    // what an HTTP header can carry (printable ASCII): no NUL byte, no lone surrogate that Postgres would refuse or fold
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[ -~]+$' })),
    ...NewBidBody.properties,
  },
  { additionalProperties: false },
);
export type BidPlaceMessage = Static<typeof BidPlaceMessage>;

export const BidAccepted = Type.Object({
  id: Uuid,
  status: Type.Union([Type.Literal('leading'), Type.Literal('outbid'), Type.Literal('sealed')]),
  closesAt: IsoTime,
  unitPriceCents: Type.Integer(),
  minNextBidCents: Type.Optional(Type.Integer()),
  allocatedTeu: Type.Optional(Type.Integer()),
});
export type BidAccepted = Static<typeof BidAccepted>;

export const Bid = Type.Object({
  id: Uuid,
  listingId: Uuid,
  teu: Type.Integer(),
  unitPriceCents: Type.Integer(),
  allOrNothing: Type.Boolean(),
  maxUnitPriceCents: Type.Optional(Type.Integer()),
  /** `withdrawn`: by its bid group, because a bid of the group won another auction (never counted again). */
  status: StringEnum(['active', 'replaced', 'won', 'lost', 'withdrawn']),
  seq: Type.Integer(),
  placedAt: IsoTime,
  label: Type.String(),
  orgName: Type.Optional(Type.String()),
  awardedTeu: Type.Optional(Type.Integer()),
  /** The bid group (either-or bids) it belongs to. */
  groupId: Type.Optional(Uuid),
});
export type Bid = Static<typeof Bid>;

/**
 * `GET /api/auctions`: an open auction (ascending or sealed, still taking bids) with its departure. Ascending: its
 * live price as the auction room shows it. Sealed: no price of any bid and no count of bids, until the close.
 */
export const OpenAuction = Type.Object({
  listingId: Uuid,
  format: StringEnum(['ascending', 'sealed']),
  teu: Type.Integer({ description: 'TEU the auction offers' }),
  remainingTeu: Type.Integer({ description: 'TEU of the listing not yet awarded' }),
  reservePriceCents: Type.Optional(Type.Integer()),
  currentPriceCents: Type.Optional(Type.Integer({ description: 'ascending: the lowest winning unit price now (absent while nothing is allocated); sealed: never' })),
  minNextBidCents: Type.Optional(Type.Integer({ description: 'the minimum unit price a new bid must carry now (sealed: the reserve)' })),
  bidCount: Type.Optional(Type.Integer({ description: 'ascending: how many bids are in force; sealed: never (no counts before the close)' })),
  closesAt: IsoTime,
  departureId: Uuid,
  departsAt: IsoTime,
  corridorId: Uuid,
  mode: Mode,
  origin: Type.String(),
  destination: Type.String(),
  assetName: Type.String(),
  operatorOrgId: Uuid,
  operatorName: Type.String(),
});
export type OpenAuction = Static<typeof OpenAuction>;

/** `GET /api/auctions` filters: origin and destination (UN/LOCODE) and mode. */
export const OpenAuctionQuery = Type.Object(
  {
    from: Type.Optional(LoCode),
    to: Type.Optional(LoCode),
    mode: Type.Optional(Mode),
  },
  { additionalProperties: false },
);
export type OpenAuctionQuery = Static<typeof OpenAuctionQuery>;
