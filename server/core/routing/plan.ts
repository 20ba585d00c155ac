import { copyLeg } from './timetable.ts';
import type { ChainCheck, ItineraryPlan, ModePair, RouteQuery, RoutingParams, TimetableLeg } from './types.ts';

/**
 * The rules of a valid chain (contract of issue 12), written once and plainly:
 * - {@link planChain} checks a given chain leg by leg and names the first failing leg;
 * - {@link enumerateRoutes} is the exhaustive reference: every valid chain, then {@link paretoFront};
 * - {@link paretoFront}: one plan per distinct non-dominated vector (totalCents, arrivesAt, co2eGrams,
 *   needs a bid), ties broken by fewer legs, earlier first departure, smaller listing-id key.
 */

const MINUTE_MS = 60_000;

/** Minimum connection at `cluster` from a leg of `from` mode to one of `to` mode, in ms. */
export function connectionMs(params: RoutingParams, cluster: string, from: string, to: string): number {
  return params.transfer(cluster).minConnectionMinutes[`${from}-${to}` as ModePair] * MINUTE_MS;
}

/** CO2e of one leg in whole grams: round(tonnes × km × g/tkm of its mode). */
export function legCo2eGrams(params: RoutingParams, tonnes: number, leg: TimetableLeg): number {
  return Math.round(tonnes * leg.distanceKm * params.gramsPerTonneKm[leg.mode]);
}

/** Whether a leg's listing can be taken now (fixed or falling) rather than needing a bid. */
export const isBookableFormat = (leg: TimetableLeg): boolean => leg.format === 'fixed' || leg.format === 'falling';

/** The listing-id key of a chain: ids joined with ','. */
export const chainKey = (legs: readonly TimetableLeg[]): string => legs.map((l) => l.listingId).join(',');

type Refusal = Extract<ChainCheck, { ok: false }>;
const refuse = (legIndex: number, code: Refusal['code'], message: string): Refusal => ({
  ok: false,
  legIndex,
  code,
  message: `leg ${legIndex + 1}: ${message}`,
});

/**
 * What is wrong with leg `i` of a chain given the legs before it, ignoring the rules that only the whole
 * chain decides (last destination, deliver-by, budget); `null` when nothing. Also used by the enumeration to
 * extend prefixes.
 */
function prefixProblem(
  chain: readonly TimetableLeg[],
  i: number,
  q: RouteQuery,
  params: RoutingParams,
): Refusal | null {
  const leg = chain[i]!;
  if (i >= q.maxLegs) return refuse(i, 'too_many_legs', `at most ${q.maxLegs} legs`);
  const prev = i > 0 ? chain[i - 1]! : undefined;
  if (!prev && leg.origin !== q.from) return refuse(i, 'not_connected', `starts at ${leg.origin}, not at ${q.from}`);
  if (prev && leg.origin !== prev.destination) {
    return refuse(i, 'not_connected', `starts at ${leg.origin} but the previous leg ends at ${prev.destination}`);
  }
  if (leg.destination === q.from || chain.slice(0, i).some((l) => l.destination === leg.destination)) {
    return refuse(i, 'not_connected', `visits ${leg.destination} a second time`);
  }
  if (!q.modes.includes(leg.mode)) return refuse(i, 'wrong_mode', `${leg.mode} is not an allowed mode`);
  if (!(q.now < leg.cutoffAt)) return refuse(i, 'past_cutoff', 'its cut-off has passed');
  if (!prev && !(q.readyAt <= leg.cutoffAt)) return refuse(i, 'past_cutoff', 'the cargo is ready after its cut-off');
  if (!(q.teu <= Math.min(leg.depFreeTeu, leg.listingRemainingTeu))) {
    return refuse(i, 'insufficient_capacity', `fewer than ${q.teu} TEU free`);
  }
  if (!(q.tonnes <= leg.depFreeTonnes)) return refuse(i, 'insufficient_capacity', `fewer than ${q.tonnes} t free`);
  if (prev) {
    if (!(prev.arrivesAt <= leg.cutoffAt)) {
      return refuse(i, 'bad_connection', `the previous leg arrives at ${leg.origin} after this leg's cut-off`);
    }
    if (!(prev.arrivesAt + connectionMs(params, leg.origin, prev.mode, leg.mode) <= leg.departsAt)) {
      return refuse(i, 'bad_connection', `less than the minimum ${prev.mode}→${leg.mode} connection time at ${leg.origin}`);
    }
  }
  return null;
}

/** Totals of a chain that passed the rules. */
function buildPlan(chain: readonly TimetableLeg[], q: RouteQuery, params: RoutingParams): ItineraryPlan {
  let totalCents = 0;
  let co2eGrams = 0;
  const transfers: ItineraryPlan['transfers'] = [];
  chain.forEach((leg, i) => {
    if (i > 0) {
      const prev = chain[i - 1]!;
      const rule = params.transfer(leg.origin);
      const handlingCents = rule.handlingCentsPerTeu * q.teu;
      transfers.push({ at: leg.origin, waitMinutes: Math.round((leg.departsAt - prev.arrivesAt) / MINUTE_MS), handlingCents });
      totalCents += handlingCents;
      co2eGrams += rule.handlingCo2eGramsPerTeu * q.teu;
    }
    totalCents += leg.unitPriceCents * q.teu;
    co2eGrams += legCo2eGrams(params, q.tonnes, leg);
  });
  return {
    legs: chain.map(copyLeg),
    transfers,
    totalCents,
    co2eGrams,
    departsAt: chain[0]!.departsAt,
    arrivesAt: chain[chain.length - 1]!.arrivesAt,
    bookable: chain.every(isBookableFormat),
  };
}

/**
 * Checks a whole chain against the request (every rule of the contract) and prices it, or names the first
 * failing leg (0-based `legIndex`). Rules of one leg are checked in this order: too_many_legs,
 * not_connected (origin, simple path, and for the last leg its destination), wrong_mode, past_cutoff,
 * insufficient_capacity, bad_connection, too_late (last leg), over_budget (running total with handling).
 */
export function planChain(legs: TimetableLeg[], q: RouteQuery, params: RoutingParams): ChainCheck {
  if (legs.length === 0) return refuse(0, 'not_connected', 'an itinerary needs at least one leg');
  let running = 0;
  for (let i = 0; i < legs.length; i++) {
    const problem = prefixProblem(legs, i, q, params);
    if (problem) return problem;
    const leg = legs[i]!;
    const last = i === legs.length - 1;
    if (last && leg.destination !== q.to) return refuse(i, 'not_connected', `ends at ${leg.destination}, not at ${q.to}`);
    if (last && !(leg.arrivesAt <= q.deliverBy)) return refuse(i, 'too_late', 'arrives after deliver-by');
    if (i > 0) running += params.transfer(leg.origin).handlingCentsPerTeu * q.teu;
    running += leg.unitPriceCents * q.teu;
    if (q.maxTotalCents !== undefined && running > q.maxTotalCents) {
      return refuse(i, 'over_budget', `the total exceeds the maximum of ${q.maxTotalCents} cents`);
    }
  }
  return { ok: true, plan: buildPlan(legs, q, params) };
}

/** `a` dominates `b`: no worse on all four criteria and better on one. */
export function dominates(a: ItineraryPlan, b: ItineraryPlan): boolean {
  const ab = a.bookable ? 0 : 1;
  const bb = b.bookable ? 0 : 1;
  return (
    a.totalCents <= b.totalCents &&
    a.arrivesAt <= b.arrivesAt &&
    a.co2eGrams <= b.co2eGrams &&
    ab <= bb &&
    (a.totalCents < b.totalCents || a.arrivesAt < b.arrivesAt || a.co2eGrams < b.co2eGrams || ab < bb)
  );
}

const sameVector = (a: ItineraryPlan, b: ItineraryPlan) =>
  a.totalCents === b.totalCents && a.arrivesAt === b.arrivesAt && a.co2eGrams === b.co2eGrams && a.bookable === b.bookable;

/** Tie-break between plans of the same vector: fewer legs, earlier first departure, smaller key. */
export function tieBefore(a: ItineraryPlan, b: ItineraryPlan): boolean {
  if (a.legs.length !== b.legs.length) return a.legs.length < b.legs.length;
  if (a.departsAt !== b.departsAt) return a.departsAt < b.departsAt;
  return chainKey(a.legs) < chainKey(b.legs);
}

/** Answer order: arrivesAt, then totalCents, then co2eGrams (then bookable first, then the tie-break). */
export function compareAnswer(a: ItineraryPlan, b: ItineraryPlan): number {
  return (
    a.arrivesAt - b.arrivesAt ||
    a.totalCents - b.totalCents ||
    a.co2eGrams - b.co2eGrams ||
    (a.bookable ? 0 : 1) - (b.bookable ? 0 : 1) ||
    (tieBefore(a, b) ? -1 : tieBefore(b, a) ? 1 : 0)
  );
}

/** One plan per distinct non-dominated vector (tie-break as in the contract), in answer order. */
export function paretoFront(plans: ItineraryPlan[]): ItineraryPlan[] {
  let front: ItineraryPlan[] = [];
  for (const p of plans) {
    if (front.some((f) => dominates(f, p) || (sameVector(f, p) && !tieBefore(p, f)))) continue;
    front = front.filter((f) => !(dominates(p, f) || sameVector(p, f)));
    front.push(p);
  }
  return front.sort(compareAnswer);
}

/**
 * The exhaustive reference: a depth-first enumeration of every chain of legs from `q.from` (each prefix
 * extended only while it obeys the per-leg and connection rules), every chain ending at `q.to` checked with
 * {@link planChain}, then {@link paretoFront} of all valid ones. When every leg has cutoffAt ≤ departsAt ≤
 * arrivesAt and connection times are ≥ 0, arrival times grow along a chain, so legs arriving after deliverBy are
 * skipped; otherwise nothing is skipped.
 */
export function enumerateRoutes(legs: TimetableLeg[], q: RouteQuery, params: RoutingParams): ItineraryPlan[] {
  const byOrigin = new Map<string, TimetableLeg[]>();
  for (const l of legs) {
    const list = byOrigin.get(l.origin);
    if (list) list.push(l);
    else byOrigin.set(l.origin, [l]);
  }
  const clusters = new Set(legs.flatMap((l) => [l.origin, l.destination]));
  const monotone =
    legs.every((l) => l.cutoffAt <= l.departsAt && l.departsAt <= l.arrivesAt) &&
    [...clusters].every((c) =>
      Object.values(params.transfer(c).minConnectionMinutes).every((m) => m >= 0),
    );
  const valid: ItineraryPlan[] = [];
  const chain: TimetableLeg[] = [];
  const extend = (at: string) => {
    if (chain.length >= q.maxLegs) return;
    for (const leg of byOrigin.get(at) ?? []) {
      if (monotone && leg.arrivesAt > q.deliverBy) continue;
      chain.push(leg);
      if (!prefixProblem(chain, chain.length - 1, q, params)) {
        if (leg.destination === q.to) {
          const checked = planChain(chain, q, params);
          if (checked.ok) valid.push(checked.plan);
        } else extend(leg.destination);
      }
      chain.pop();
    }
  };
  extend(q.from);
  return paretoFront(valid);
}
