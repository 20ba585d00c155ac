import { Type } from 'typebox';
import { IsoTime, LoCode, Mode, Uuid } from './common.ts';

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
    status: Type.String(),
    operatorOrgId: Uuid,
    operatorName: Type.String(),
    assetName: Type.String(),
    reeferPlugs: Type.Integer(),
    dangerousGoods: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const Listing = Type.Object(
  {
    id: Uuid,
    departureId: Uuid,
    format: Type.String(),
    teu: Type.Integer(),
    remainingTeu: Type.Integer(),
    status: Type.String(),
    unitPriceCents: Type.Optional(Type.Integer()),
    reservePriceCents: Type.Optional(Type.Integer()),
    minIncrementCents: Type.Optional(Type.Integer()),
    currentPriceCents: Type.Optional(Type.Integer()),
    opensAt: Type.Optional(IsoTime),
    closesAt: Type.Optional(IsoTime),
    leadingBids: Type.Optional(Type.Array(Type.Unknown())),
  },
  { additionalProperties: true },
);

export const DepartureWithListings = Type.Object({ ...Departure.properties, listings: Type.Array(Listing) });

export const DepartureQuery = Type.Object(
  {
    from: Type.Optional(LoCode),
    to: Type.Optional(LoCode),
    mode: Type.Optional(Mode),
    after: Type.Optional(IsoTime),
    before: Type.Optional(IsoTime),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
