import { Type, type Static } from 'typebox';
import { IsoTime, LoCode, Mode, StringEnum, Uuid } from './common.ts';

// GET /api/routes (API.md "Routes and itineraries"; issue 12 contract). The query string is closed; what the
// schema cannot say (known cluster codes, deliverBy after readyAt, the window's length, ≥ 1 t per TEU) the
// route search service checks, answering 400 in the API shape.

/** Longest window between readyAt and deliverBy a search accepts. */
export const MAX_WINDOW_DAYS = 21;
/** Most legs a chain may have (the default is 3). */
export const MAX_LEGS = 5;
export const DEFAULT_MAX_LEGS = 3;

export const RoutesQuery = Type.Object(
  {
    from: { ...LoCode, description: 'origin cluster (UN/LOCODE, e.g. GBLHR)' },
    to: { ...LoCode, description: 'destination cluster (UN/LOCODE, e.g. ITBLQ)' },
    teu: Type.Integer({ minimum: 1, maximum: 10_000, description: 'whole TEU, carried on every leg' }),
    tonnes: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'integer tonnes, at least 1 per TEU' }),
    readyAt: { ...IsoTime, description: 'when the cargo is ready at the origin: the first leg\'s cut-off is not before it' },
    deliverBy: { ...IsoTime, description: `when it must have arrived: the last leg arrives no later; after readyAt, at most ${MAX_WINDOW_DAYS} days after it` },
    modes: Type.Optional(Type.String({ pattern: '^(rail|barge)(,(rail|barge))*$', maxLength: 40, description: 'comma list of allowed modes; default rail,barge' })),
    maxLegs: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LEGS, description: `most legs per itinerary (1–${MAX_LEGS}, default ${DEFAULT_MAX_LEGS})` })),
    maxTotalCents: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'leave out itineraries whose total (legs + handling) is higher' })),
  },
  { additionalProperties: false },
);
export type RoutesQuery = Static<typeof RoutesQuery>;

const Kg = Type.Number({ description: 'kg CO2e, rounded to 0.1' });

export const RouteLeg = Type.Object({
  departureId: Uuid,
  listingId: Uuid,
  mode: Mode,
  origin: Type.String(),
  destination: Type.String(),
  departsAt: IsoTime,
  arrivesAt: IsoTime,
  cutoffAt: IsoTime,
  distanceKm: Type.Integer(),
  freeTeu: Type.Integer({ description: "min(the departure's free TEU, the listing's remaining TEU)" }),
  unitPriceCents: Type.Integer({ description: 'per TEU now: fixed or falling, the price a hold takes; an auction, the lowest bid that would be accepted now' }),
  format: StringEnum(['fixed', 'falling', 'ascending', 'sealed']),
  bookable: Type.Boolean({ description: 'fixed or falling (held by the itinerary); false: an open auction, a "bid" leg' }),
  co2eKg: Kg,
});
export type RouteLeg = Static<typeof RouteLeg>;

export const RouteTransfer = Type.Object({
  at: Type.String({ description: 'cluster code' }),
  waitMinutes: Type.Integer(),
  handlingCents: Type.Integer({ description: 'handling charge of this transfer for the whole quantity' }),
});

export const RouteItinerary = Type.Object({
  key: Type.String({ description: "the legs' listing ids joined by ','" }),
  legs: Type.Array(RouteLeg),
  transfers: Type.Array(RouteTransfer),
  totalCents: Type.Integer({ description: 'Σ unit price × TEU + Σ transfer handling' }),
  departsAt: IsoTime,
  arrivesAt: IsoTime,
  co2eKg: Kg,
  roadCo2eKg: Kg,
  bookable: Type.Boolean({ description: 'every leg bookable (no auction leg)' }),
});
export type RouteItinerary = Static<typeof RouteItinerary>;

export const RoadAlternative = Type.Object({
  distanceKm: Type.Number(),
  co2eKg: Kg,
  costCents: Type.Integer({ description: 'trucks × road km × the €/km figure of server/data/emission-factors.json ("road")' }),
});

export const RoutesAnswer = Type.Object({
  itineraries: Type.Array(RouteItinerary, {
    description: 'the Pareto set on (totalCents, arrivesAt, co2eKg, needs a bid), sorted by arrival, then price, then CO2e',
  }),
  road: RoadAlternative,
  asOf: { ...IsoTime, description: 'the instant the answer was computed at' },
});
export type RoutesAnswer = Static<typeof RoutesAnswer>;
