import { Type, type Static } from 'typebox';
import { IsoTime, StringEnum, Uuid } from './common.ts';

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
