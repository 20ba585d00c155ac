/**
 * Cargo pooling and re-optimisation (issue 13), pure core. See `./pooling/` for the parts:
 * - `types.ts`: requests, departures, candidates, instances, plans, the solver interface;
 * - `candidates.ts`: candidate itineraries per request from the route search;
 * - `costs.ts`: objective coefficients (CO2e price, unplaced penalties);
 * - `model.ts`: the MIP in LP format; `greedy.ts`: the earliest-deadline first-fit baseline;
 * - `verify.ts`: the independent plan verifier and the objective of a plan; `brute.ts`: brute force for tiny instances;
 * - `decompose.ts`: components and time chunks; `optimise.ts`: the whole run; `report.ts`: figures of a plan;
 * - `generate.ts`: seeded instances for tests and the bench.
 */
export type * from './pooling/types.ts';
export { buildCandidates, poolTimetableLegs, queryOf, type CandidateOptions } from './pooling/candidates.ts';
export { co2Cents, candidateCents, penalties, DEFAULT_CO2_PRICE_CENTS_PER_TONNE, DEFAULT_UNPLACED_MARGIN_CENTS_PER_TEU } from './pooling/costs.ts';
export { buildModel, runningOf, type PoolModel } from './pooling/model.ts';
export { greedyPlan } from './pooling/greedy.ts';
export { verifyPlan, objectiveOf, planLoads, unplacedThatFit, assignedCandidates } from './pooling/verify.ts';
export { bruteForce } from './pooling/brute.ts';
export { components, restrict, splitByTime, residual, type Part } from './pooling/decompose.ts';
export { optimise, type OptimiseOptions, type OptimiseProgress, type OptimiseResult, type PartReport } from './pooling/optimise.ts';
export { planFigures, departureOutcomes, loadFactorBefore, type PlanFigures, type DepartureOutcome } from './pooling/report.ts';
export { generateInstance, genParams, type GenOptions } from './pooling/generate.ts';
