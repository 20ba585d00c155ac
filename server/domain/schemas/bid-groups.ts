import { Type, type Static } from 'typebox';
import { IsoTime, Mode, StringEnum, Uuid } from './common.ts';

const Cents = Type.Integer({ minimum: 1, maximum: 100_000_000_00, description: 'integer EUR cents per TEU' });

/** One bid of a group: the body of a single bid with its listing (no auto-bid maximum in a group). */
export const NewGroupBid = Type.Object(
  {
    listingId: Uuid,
    teu: Type.Integer({ minimum: 1, maximum: 10_000 }),
    unitPriceCents: Cents,
    allOrNothing: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type NewGroupBid = Static<typeof NewGroupBid>;

/**
 * `POST /api/bid-groups`. The group's 2–5 listings, each once, are checked by the service (400
 * `invalid_bid_group`) so that the answer names the problem; the schema only bounds the array.
 */
export const NewBidGroupBody = Type.Object({ bids: Type.Array(NewGroupBid, { minItems: 1, maxItems: 20 }) }, { additionalProperties: false });
export type NewBidGroupBody = Static<typeof NewBidGroupBody>;

/** The placement answer: each bid as a single bid's 201 would tell it. */
export const BidGroupPlaced = Type.Object({
  id: Uuid,
  status: Type.Literal('open'),
  bids: Type.Array(
    Type.Object({
      id: Uuid,
      listingId: Uuid,
      status: StringEnum(['leading', 'outbid', 'sealed']),
      closesAt: IsoTime,
      unitPriceCents: Type.Integer(),
      allocatedTeu: Type.Optional(Type.Integer()),
      minNextBidCents: Type.Optional(Type.Integer()),
    }),
  ),
});
export type BidGroupPlaced = Static<typeof BidGroupPlaced>;

export const BidGroupStatus = StringEnum(['open', 'won', 'lost', 'withdrawn']);

/** A group as its forwarder sees it, with where each bid stands (`withdrawn`: by its group, a sibling won). */
export const BidGroup = Type.Object({
  id: Uuid,
  status: BidGroupStatus,
  createdAt: IsoTime,
  decidedAt: Type.Optional(IsoTime),
  wonBidId: Type.Optional(Uuid),
  bids: Type.Array(
    Type.Object({
      id: Uuid,
      listingId: Uuid,
      status: StringEnum(['active', 'replaced', 'won', 'lost', 'withdrawn']),
      teu: Type.Integer(),
      unitPriceCents: Type.Integer(),
      allOrNothing: Type.Boolean(),
      awardedTeu: Type.Optional(Type.Integer()),
      format: Type.String(),
      listingStatus: Type.String(),
      closesAt: Type.Optional(IsoTime),
      departureId: Uuid,
      departsAt: IsoTime,
      corridorId: Uuid,
      mode: Mode,
    }),
  ),
});
export type BidGroup = Static<typeof BidGroup>;

/** An open auction for the group builder's picker: `GET /api/auctions` (./auctions.ts). */
export { OpenAuction } from './auctions.ts';
