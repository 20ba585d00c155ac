/**
 * Synchromodal route search (issue 12), pure core. See `./routing/` for the parts:
 * - `types.ts`: legs, transfer rules, queries, plans;
 * - `timetable.ts`: the in-memory, indexed, mutable {@link Timetable};
 * - `plan.ts`: the rules of a valid chain ({@link planChain}), {@link paretoFront} and the reference {@link enumerateRoutes};
 * - `search.ts`: {@link searchRoutes}, a McRAPTOR-style round-based multi-criteria search, with its label store,
 *   Pareto bags and dominance rules in `labels.ts`.
 */
export type {
  RouteMode,
  LegFormat,
  TimetableLeg,
  ModePair,
  TransferRule,
  RoutingParams,
  RouteQuery,
  PlannedTransfer,
  ItineraryPlan,
  ChainRefusalCode,
  ChainCheck,
} from './routing/types.ts';
export { Timetable } from './routing/timetable.ts';
export { planChain, paretoFront, enumerateRoutes } from './routing/plan.ts';
export { searchRoutes } from './routing/search.ts';
