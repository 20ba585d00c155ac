import { assignedCandidates } from './verify.ts';
import type { DepartureOutcome } from './report.ts';
import type { Candidate, ObjectiveBreakdown, PoolInstance, PoolPlan } from './types.ts';

/**
 * A plan split into the proposals the people concerned accept or decline (issue 13), pure.
 *
 * Per placed request: the itinerary proposed, its price (the listings' prices as the plan saw them: accepting
 * books it through the normal hold path, which charges those prices), the request's cheapest stand-alone
 * option (the cheapest candidate it had, alone on the network) and its share of the pool's saving.
 *
 * The savings rule (documented in README "Pooling"): a forwarder moved to an itinerary dearer than its cheapest
 * stand-alone option gets the difference back first (the model counts it as a cost: candidates' premiumCents).
 * The pool's saving is what the plan saves in operating cost (departures' fixed costs + variable costs per TEU +
 * those premiums) against the greedy baseline — every request booking
 * alone, earliest deadline first, on its cheapest option that still fits (server/core/pooling/greedy.ts). It is
 * shared among the placed requests in proportion to their stand-alone cost (largest remainder, whole cents),
 * and shown to each forwarder beside its own price difference — each part at most a fifth of the stand-alone price
 * (MAX_SHARE_OF_STANDALONE). Never negative: a plan that saves nothing shares nothing.
 *
 * Per departure: one the plan does not run, that nobody is on (no booking, no hold) and whose cut-off falls
 * inside the decision horizon (the service marks the others mustRun), becomes a proposal to its operator to
 * cancel it. Departures that carry only a few confirmed bookings are merge candidates (merges.ts: the model decides
 * whether to run them; the service proposes the merges); the others that run below their minimum load are reported.
 *
 * The share is paid, not only shown: server/services/ledger/rebates.ts pays it at the first leg's cut-off.
 */

export interface ShipmentProposal {
  requestId: string;
  forwarderOrgId: string;
  candidate: Candidate;
  priceCents: number;
  standaloneCents: number;
  shareCents: number;
  /** standalone − price + share: what pooling is worth to this forwarder (may be negative before the share). */
  savingCents: number;
}

export interface DepartureProposal {
  departureId: string;
  operatorOrgId: string;
  action: 'cancel';
  capacityTeu: number;
  minLoadTeu: number;
  loadBeforeTeu: number;
  loadAfterTeu: number;
}

export interface PlanProposals {
  /** The operating cost the plan saves against the greedy baseline (≥ 0), shared among the shipments. */
  poolSavingCents: number;
  shipments: ShipmentProposal[];
  departures: DepartureProposal[];
  unplaced: string[];
}

/**
 * Most of its stand-alone price a forwarder gets back as its share of the pool's saving (the premium of a dearer
 * itinerary comes back on top): the share is paid in money (server/services/ledger/rebates.ts) by the operators.
 */
export const MAX_SHARE_OF_STANDALONE = 0.2;

/** `total` split in proportion to `weights` in whole cents, largest remainder first (ties: input order). */
export function shareOut(total: number, weights: number[]): number[] {
  const sum = weights.reduce((s, w) => s + Math.max(0, w), 0);
  if (total <= 0 || sum <= 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * Math.max(0, w)) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((s, x) => s + x, 0);
  const order = exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    out[i]!++;
    left--;
  }
  return out;
}

/** What the network pays: running departures, carrying the TEU, and what it owes forwarders moved to dearer itineraries. */
const operating = (o: ObjectiveBreakdown) => o.fixedCents + o.variableCents + o.compensationCents;

export function planProposals(
  inst: PoolInstance,
  plan: PoolPlan,
  outcomes: DepartureOutcome[],
  objective: { plan: ObjectiveBreakdown; greedy: ObjectiveBreakdown },
): PlanProposals {
  const cheapest = new Map<string, number>();
  for (const k of inst.candidates) cheapest.set(k.requestId, Math.min(cheapest.get(k.requestId) ?? Infinity, k.priceCents));
  const requests = new Map(inst.requests.map((r) => [r.id, r]));
  const placed: { requestId: string; k: Candidate }[] = [];
  const unplaced: string[] = [];
  for (const [id, k] of assignedCandidates(inst, plan)) {
    if (k) placed.push({ requestId: id, k });
    else unplaced.push(id);
  }
  const poolSavingCents = Math.max(0, operating(objective.greedy) - operating(objective.plan));
  const standalone = placed.map((p) => cheapest.get(p.requestId) ?? p.k.priceCents);
  const shares = shareOut(poolSavingCents, standalone);
  const shipments = placed.map((p, i): ShipmentProposal => {
    // the premium over the stand-alone price comes back first, then the share of the saving — at most a fifth of the
    // stand-alone price (MAX_SHARE_OF_STANDALONE: the saving is measured against a counterfactual, and the operators
    // who pay it out keep the rest for the departures the pool spares them)
    const share = Math.max(0, p.k.priceCents - standalone[i]!) + Math.min(shares[i]!, Math.floor(standalone[i]! * MAX_SHARE_OF_STANDALONE));
    return {
      requestId: p.requestId,
      forwarderOrgId: requests.get(p.requestId)!.forwarderOrgId,
      candidate: p.k,
      priceCents: p.k.priceCents,
      standaloneCents: standalone[i]!,
      shareCents: share,
      savingCents: standalone[i]! - p.k.priceCents + share,
    };
  });
  const deps = new Map(inst.departures.map((d) => [d.id, d]));
  const departures: DepartureProposal[] = [];
  for (const o of outcomes) {
    const d = deps.get(o.departureId);
    if (!d || o.runs || d.mustRun || d.usedTeu > 0 || o.pooledTeu > 0) continue;
    departures.push({
      departureId: d.id, operatorOrgId: d.operatorOrgId, action: 'cancel', capacityTeu: d.capacityTeu, minLoadTeu: d.minLoadTeu,
      loadBeforeTeu: d.usedTeu, loadAfterTeu: 0,
    });
  }
  return { poolSavingCents, shipments, departures, unplaced };
}
