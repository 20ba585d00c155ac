import { Type, type Static } from 'typebox';
import { IsoTime, StringEnum, Uuid } from './common.ts';

/** The optimiser's runs and the proposals of their plans (API.md "Pooling and optimisation", issue 13). */

const Int = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });
const Num = (description: string) => Type.Union([Type.Number(), Type.Null()], { description });


export const OptimisationsQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'most recent first (default 20)' })) },
  { additionalProperties: false },
);

export const ProposalLeg = Type.Object({ departureId: Uuid, listingId: Uuid, unitPriceCents: Type.Union([Type.Integer(), Type.Null()]) });

export const MovedBooking = Type.Object({
  bookingId: Uuid,
  teu: Type.Integer(),
  tonnes: Type.Integer(),
  consent: Type.Union([StringEnum(['pending', 'accepted', 'declined', 'void']), Type.Null()], {
    description: "its forwarder's answer (null until the operator accepts the merge)",
  }),
});

export type MovedBooking = Static<typeof MovedBooking>;

export const Proposal = Type.Object({
  id: Uuid,
  optimisationId: Type.String({ format: 'uuid', description: 'the plan that first proposed it: a later plan that repeats an open proposal keeps it (same id) and lists it too' }),
  kind: StringEnum(['shipment', 'departure'], { description: "a forwarder's shipment, or an operator's departure" }),
  status: StringEnum(['open', 'accepting', 'consenting', 'accepted', 'declined', 'stale', 'superseded'], {
    description:
      'accepting: a forwarder accepted and the itinerary is being booked (a repeated accept completes it); consenting: the operator accepted a merge and the forwarders of the moved bookings are being asked',
  }),
  shipmentId: Type.Union([Uuid, Type.Null()]),
  departureId: Type.Union([Uuid, Type.Null()]),
  action: Type.Union([StringEnum(['cancel', 'merge']), Type.Null()]),
  legs: Type.Array(ProposalLeg, { description: 'the itinerary proposed (shipment)' }),
  teu: Int('TEU of the shipment'),
  tonnes: Int('tonnes of the shipment'),
  priceCents: Int('what booking the itinerary costs (its listings, as the plan saw them, + handling)'),
  standaloneCents: Int("the shipment's cheapest stand-alone option"),
  shareCents: Int("the shipment's share of the pool's saving (README: Pooling)"),
  savingCents: Int('standalone − price + share'),
  co2eKg: Int('CO2e of the itinerary'),
  roadCo2eKg: Int('CO2e of the road alternative'),
  capacityTeu: Int('departure: capacity'),
  minLoadTeu: Int('departure: its minimum load'),
  loadBeforeTeu: Int('departure: TEU on board now'),
  loadAfterTeu: Int('departure: TEU on board after the plan'),
  mergeIntoDepartureId: Type.Union([Uuid, Type.Null()], { description: 'merge: the departure the bookings would move to' }),
  operatingSavingCents: Int('merge: the operating cost it saves (the departure no longer runs)'),
  targetLoadBeforeTeu: Int("merge: the target's load after the plan, before the merge"),
  targetLoadAfterTeu: Int("merge: the target's load after the merge"),
  movedBookings: Type.Array(MovedBooking, {
    description: "merge: the confirmed bookings it moves, each with its forwarder's answer (a forwarder sees its own only)",
  }),
  itineraryId: Type.Union([Uuid, Type.Null()], { description: 'the itinerary booked on acceptance' }),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'why it went stale' }),
  createdAt: IsoTime,
  decidedAt: Type.Union([IsoTime, Type.Null()]),
});
export type Proposal = Static<typeof Proposal>;

export const Optimisation = Type.Object({
  id: Uuid,
  status: StringEnum(['queued', 'solving', 'done', 'failed']),
  trigger: StringEnum(['manual', 'schedule', 'pool'], { description: 'a scheduler asked, the 15-minute schedule, or a change to the pool' }),
  planVersion: Int('the version of the network plan this run wrote (done only)'),
  createdAt: IsoTime,
  startedAt: Type.Union([IsoTime, Type.Null()]),
  finishedAt: Type.Union([IsoTime, Type.Null()]),
  requests: Int('shipments considered'),
  placed: Int('shipments the plan places'),
  departures: Int('departures considered'),
  departuresToCancel: Int('empty departures proposed for cancellation'),
  objectiveCents: Int("the plan's objective: operating and handling cost + CO2e priced + penalties of unplaced shipments"),
  lowerBoundCents: Int('the best proven lower bound of the objective (MIP dual bound, else the LP relaxation)'),
  lpBoundCents: Int('the LP relaxation of the whole model'),
  gapPct: Num('(objective − bound) / the part of the objective the plan can change, in %'),
  greedyObjectiveCents: Int('the greedy baseline (earliest deadline, first fit) on the same objective'),
  solveMs: Int('solver time'),
  timeLimitHit: Type.Union([Type.Boolean(), Type.Null()]),
  loadFactorBefore: Num('load factor (0..1) of the departures considered as they stand'),
  loadFactorAfter: Num('load factor of the departures the plan runs, with the pooled cargo'),
  co2eSavedKg: Int('CO2e of the placed shipments against road'),
  trucksAvoided: Int('trucks the placed shipments keep off the road'),
  error: Type.Union([Type.String(), Type.Null()]),
  figures: Type.Unknown({ description: 'more of the plan: objective by part, greedy figures, the parts solved, the pool saving' }),
  proposals: Type.Array(Proposal, { description: "the plan's proposals (an operator: those of its own departures)" }),
});
export type Optimisation = Static<typeof Optimisation>;
