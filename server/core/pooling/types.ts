/**
 * Types of cargo pooling and re-optimisation (issue 13): requests, departures, candidate itineraries, the
 * instance the optimiser solves, its plans and the solver interface it is given. Pure data shapes.
 * Times are epoch ms, money integer EUR cents, CO2e integer grams, capacity whole TEU and integer tonnes.
 */
import type { RoutingParams, TimetableLeg } from '../routing/types.ts';

export type PoolMode = 'rail' | 'barge';

/** A forwarder's shipment request. */
export interface PoolRequest {
  id: string;
  forwarderOrgId: string;
  /** Cluster codes. */
  from: string;
  to: string;
  /** Whole TEU, integer tonnes, ≥ 1. */
  teu: number;
  tonnes: number;
  readyAt: number;
  deliverBy: number;
  /** ≥ 1. */
  maxTotalCents: number;
  modes: PoolMode[];
  /** May share a departure with others' pooled cargo. */
  consolidate: boolean;
}

/** A departure the optimiser may use, keep, or propose to cancel. */
export interface PoolDeparture {
  id: string;
  operatorOrgId: string;
  corridorId: string;
  mode: PoolMode;
  origin: string;
  destination: string;
  departsAt: number;
  arrivesAt: number;
  cutoffAt: number;
  capacityTeu: number;
  capacityTonnes: number;
  /** Already booked + held by others (not movable). */
  usedTeu: number;
  usedTonnes: number;
  /** What running it costs. */
  fixedCostCents: number;
  variableCostCentsPerTeu: number;
  /** Below it the operator would rather cancel or merge. */
  minLoadTeu: number;
  /** Carries confirmed bookings: the model cannot drop it. */
  mustRun: boolean;
}

/** One itinerary a request may ride (from the route search). */
export interface Candidate {
  requestId: string;
  /** The listing ids of the legs joined with ','. Unique per request. */
  key: string;
  legs: { departureId: string; listingId: string }[];
  /** What the forwarder would pay (legs × teu + handling). */
  priceCents: number;
  /** Variable operating cost (variableCostCentsPerTeu × teu per leg) + handling. */
  costCents: number;
  /**
   * What this itinerary costs the forwarder above its cheapest candidate (price − the request's lowest price; 0
   * when absent). The pool owes it back to a forwarder it moves to a dearer itinerary, so it is part of the
   * objective (ObjectiveBreakdown.compensationCents) and of that forwarder's share (proposals.ts).
   */
  premiumCents?: number;
  co2eGrams: number;
  departsAt: number;
  arrivesAt: number;
}

/** The road alternative of a request (optional input: the core has no coordinates). */
export interface RoadOption {
  costCents: number;
  co2eGrams: number;
  trucks: number;
}

/** What the optimiser solves. `legs` are the listings of the departures (price, format, distance). */
export interface PoolInstance {
  now: number;
  requests: PoolRequest[];
  departures: PoolDeparture[];
  legs: TimetableLeg[];
  candidates: Candidate[];
  /** Per request id: its door-to-door road alternative (penalty floor, CO2 and trucks avoided). */
  road?: Record<string, RoadOption>;
}

/** Cost settings of the objective. */
export interface CostOptions {
  /**
   * CO2e price in cents per tonne. Default 8,000 (€80/t): the EU ETS allowance price moved in a range of
   * roughly €60–100/t over 2024–26; €80 is the middle of that range.
   */
  co2PriceCentsPerTonne?: number;
  /** Margin added to each request's unplaced penalty, per TEU. Default 50,000 cents (€500). */
  unplacedMarginCentsPerTeu?: number;
}

/**
 * A plan: for every request the key of the candidate it rides or null (unplaced), and the departures that
 * run (y[d] = 1). Departures not listed do not run.
 */
export interface PoolPlan {
  assignment: Record<string, string | null>;
  running: string[];
}

/** Objective of a plan in cents, by part. */
export interface ObjectiveBreakdown {
  fixedCents: number;
  variableCents: number;
  co2Cents: number;
  penaltyCents: number;
  /** Σ premiumCents of the candidates ridden: owed back to the forwarders moved to dearer itineraries. */
  compensationCents: number;
  totalCents: number;
}

export type SolveStatus = 'optimal' | 'time_limit' | 'infeasible' | 'interrupted' | 'error' | 'other';

/** Options of one solver call. */
export interface SolveOptions {
  /** HiGHS `time_limit`, seconds. */
  timeLimitSec: number;
  /** HiGHS `mip_rel_gap`. */
  mipRelGap: number;
  /** Solve the LP relaxation (integrality ignored). */
  relax?: boolean;
  /** A MIP start: column name → value (e.g. the greedy plan). */
  start?: Record<string, number>;
  /** MIP progress (incumbent, dual bound, relative gap), when the solver reports it. */
  onProgress?: (p: SolveProgress) => void;
}

export interface SolveProgress {
  incumbent: number | null;
  bound: number | null;
  gap: number | null;
  runningSec: number;
}

/** What one solver call returns. */
export interface SolveResult {
  status: SolveStatus;
  /** The solver's own status text. */
  statusText: string;
  /** A primal feasible solution is available (optimal or an incumbent). */
  hasSolution: boolean;
  /** Objective of that solution; NaN without one. */
  objective: number;
  /** Proven lower bound (MIP dual bound; for an LP its optimum). NaN when none. */
  bound: number;
  /** Relative gap the solver reports (MIP), NaN when none. */
  gap: number;
  /** Solver run time in ms, as measured around the run. */
  solveMs: number;
  /** Column values of the solution by name; zero columns are omitted. */
  values: Record<string, number>;
}

/** The solver the core is given (adapter: server/adapters/solver). */
export interface MipSolver {
  solve(lp: string, opts: SolveOptions): Promise<SolveResult>;
}

/** Routing inputs of candidate generation and of the verifier. */
export interface PoolRouting {
  params: RoutingParams;
  /** Maximum legs per itinerary (default 3). */
  maxLegs?: number;
}
