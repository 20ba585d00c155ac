/**
 * Types of the synchromodal route search (issue 12): timetable legs, transfer rules, queries and plans.
 * Pure data shapes, no behaviour. Times are epoch milliseconds, money integer EUR cents, CO2e integer grams.
 */

/** Modes a leg can run on. */
export type RouteMode = 'rail' | 'barge';

/** Sale format of the listing behind a leg: fixed/falling are bookable now, ascending/sealed need a bid. */
export type LegFormat = 'fixed' | 'falling' | 'ascending' | 'sealed';

/** One (departure, listing) pair as the search sees it. */
export interface TimetableLeg {
  listingId: string;
  departureId: string;
  corridorId: string;
  mode: RouteMode;
  /** Origin cluster code. */
  origin: string;
  /** Destination cluster code. */
  destination: string;
  departsAt: number;
  arrivesAt: number;
  cutoffAt: number;
  distanceKm: number;
  /** Free TEU of the departure (capacity minus holds and bookings). */
  depFreeTeu: number;
  /** Free tonnes of the departure. */
  depFreeTonnes: number;
  /** TEU still offered by this listing. */
  listingRemainingTeu: number;
  /** Price per TEU now; for auctions the lowest bid that could win now. */
  unitPriceCents: number;
  format: LegFormat;
}

/** Mode pair of a transfer, `${arrival mode}-${departure mode}`. */
export type ModePair = 'rail-rail' | 'rail-barge' | 'barge-rail' | 'barge-barge';

/** What changing legs at one cluster costs. */
export interface TransferRule {
  /** Minimum minutes between arrival of one leg and departure of the next, per mode pair. */
  minConnectionMinutes: Record<ModePair, number>;
  handlingCentsPerTeu: number;
  handlingCo2eGramsPerTeu: number;
}

/** Transfer rules per cluster and the emission factors of the modes. */
export interface RoutingParams {
  transfer(clusterCode: string): TransferRule;
  /** g CO2e per tonne-km per mode. */
  gramsPerTonneKm: Record<RouteMode, number>;
}

/** A route request. */
export interface RouteQuery {
  from: string;
  to: string;
  teu: number;
  tonnes: number;
  readyAt: number;
  deliverBy: number;
  now: number;
  modes: RouteMode[];
  /** Maximum number of legs (the API allows 1..5, default 3). */
  maxLegs: number;
  maxTotalCents?: number;
}

/** A change of legs inside an itinerary. */
export interface PlannedTransfer {
  /** Cluster code. */
  at: string;
  /** Minutes between the arrival of the previous leg and the departure of the next. */
  waitMinutes: number;
  /** Handling charge for the whole request (handlingCentsPerTeu × teu). */
  handlingCents: number;
}

/** A valid chain of legs with its totals. */
export interface ItineraryPlan {
  legs: TimetableLeg[];
  transfers: PlannedTransfer[];
  totalCents: number;
  co2eGrams: number;
  departsAt: number;
  arrivesAt: number;
  /** Every leg is fixed or falling (no bid needed). */
  bookable: boolean;
}

/** Why a chain is not valid. */
export type ChainRefusalCode =
  | 'past_cutoff'
  | 'insufficient_capacity'
  | 'bad_connection'
  | 'wrong_mode'
  | 'not_connected'
  | 'over_budget'
  | 'too_late'
  | 'too_many_legs';

/** Result of {@link planChain}: the plan, or the first failing leg. */
export type ChainCheck =
  | { ok: true; plan: ItineraryPlan }
  | { ok: false; legIndex: number; code: ChainRefusalCode; message: string };
