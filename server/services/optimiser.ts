import { randomUUID } from 'node:crypto';
import type { Db } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import {
  findOptimisation, holdsLease, insertOptimisation, insertProposals, lockShipments, proposalsOfOptimisations, nextPlanVersion, openShipments, pendingOptimisation, poolDepartures,
  recentOptimisations, releaseLease, renewLease, setShipmentStatuses, supersedeProposals, takeLease, openProposals, addToPlan, updateOptimisation, type OptimisationRow,
} from '../adapters/db/optimisations-repo.ts';
import { clusterPoints, loadLegs } from '../adapters/db/routes-repo.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import { rooms, type EventSink, type LiveEvent } from '../adapters/realtime/events.ts';
import { buildCandidates } from '../core/pooling/candidates.ts';
import { carryOver } from '../core/pooling/carry-over.ts';
import { optimise, type OptimiseProgress, type OptimiseResult } from '../core/pooling/optimise.ts';
import { planProposals, type PlanProposals } from '../core/pooling/proposals.ts';
import type { MipSolver, PoolDeparture, PoolInstance, PoolRequest, RoadOption } from '../core/pooling/types.ts';
import { roadAlternative, routingParams } from '../data/routing-params.ts';
import { notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import type { Optimisation } from '../domain/schemas/optimisations.ts';
import { proposalView } from './proposals.ts';
import { tellWebhooks } from './webhook-events.ts';
import { movedBookingsOf } from './merges.ts';
import { departuresInConsent, movableBookingsOn } from '../adapters/db/merges-repo.ts';
import { mergedLoadFactor, mergeProposals, prepareMerges, withoutReservations, type MergeCandidate } from '../core/pooling/merges.ts';
import { loadFactorBefore } from '../core/pooling/report.ts';

/**
 * The optimiser (issue 13): runs of the pool's re-optimisation, each a row of `optimisations`, solved by the
 * `pool.optimise` job (workers/handlers.ts → run()) on the solver the worker gives it (a worker thread running
 * HiGHS: server/adapters/solver). load (open shipments, the departures they could ride with their costs, the
 * bookable legs) → core (candidates from the route search, optimise: greedy baseline, decomposition, MIP) →
 * one transaction (fenced by the optimiser lease: a worker that lost it writes nothing) → events.
 *
 * One optimisation at a time per network: the lease (optimisations-repo.ts). A run that finds it taken throws
 * LeaseBusy and its job is retried later; a run of an optimisation already done or failed does nothing, so
 * two workers racing the same job write one plan. A crash mid-solve writes nothing: the row stays `solving`
 * until the retried job (BullMQ's stalled-job check) runs it again from the start once the lease has expired.
 */

export interface OptimiserOptions {
  /** Solver time for a whole run, seconds. */
  timeLimitSec: number;
  /** Relative MIP gap at which the solver stops. */
  mipRelGap: number;
  /** CO2e price in cents per tonne (default €80/t, the middle of the EU ETS range 2024–26). */
  co2PriceCentsPerTonne: number;
  /**
   * Departures whose cut-off is within this many hours may be proposed for cancellation; later ones still sell
   * and always run in the model (as do departures with confirmed bookings or live holds: nobody's cargo is moved
   * without asking).
   */
  decisionHorizonHours: number;
  /** Departures leaving up to this many days ahead are considered. */
  lookaheadDays: number;
  /** The lease's lifetime; renewed every third of it while a run lasts. */
  leaseTtlMs: number;
  /** Most shipments one run places (oldest deadline first). */
  maxShipments: number;
}

export const DEFAULT_OPTIMISER_OPTIONS: OptimiserOptions = {
  timeLimitSec: 5, mipRelGap: 0.005, co2PriceCentsPerTonne: 8_000, decisionHorizonHours: 72, lookaheadDays: 14, leaseTtlMs: 30_000, maxShipments: 5_000,
};

/**
 * Operating costs of a departure whose operator stated none (assumptions, documented in README "Pooling"): a
 * train run €12,000 + €30/TEU, a barge run €7,000 + €20/TEU.
 */
export const DEFAULT_COSTS = { rail: { fixedCents: 1_200_000, perTeuCents: 3_000 }, barge: { fixedCents: 700_000, perTeuCents: 2_000 } } as const;

/** Another optimisation holds the lease: the job is retried later. */
export class LeaseBusy extends Error {
  constructor() {
    super('another optimisation is running; retried later');
  }
}

export type OptimisationView = Optimisation;

const iso = (d: Date | null) => (d ? d.toISOString() : null);
export function optimisationView(r: OptimisationRow, proposals: OptimisationView['proposals'] = []): OptimisationView {
  return {
    id: r.id, status: r.status, trigger: r.trigger, planVersion: r.plan_version, createdAt: r.created_at.toISOString(), startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at), requests: r.requests, placed: r.placed, departures: r.departures, departuresToCancel: r.departures_to_cancel,
    objectiveCents: r.objective_cents, lowerBoundCents: r.lower_bound_cents, lpBoundCents: r.lp_bound_cents, gapPct: r.gap_pct,
    greedyObjectiveCents: r.greedy_objective_cents, solveMs: r.solve_ms, timeLimitHit: r.time_limit_hit, loadFactorBefore: r.load_factor_before,
    loadFactorAfter: r.load_factor_after, co2eSavedKg: r.co2e_saved_kg, trucksAvoided: r.trucks_avoided, error: r.error, figures: r.figures ?? null,
    proposals,
  };
}

/** A run as an operator sees it: its status and its own proposals; every network-wide figure null. */
function operatorPart(v: OptimisationView): OptimisationView {
  return {
    ...v, requests: null, placed: null, departures: null, departuresToCancel: v.proposals.length, objectiveCents: null, lowerBoundCents: null,
    lpBoundCents: null, gapPct: null, greedyObjectiveCents: null, solveMs: null, timeLimitHit: null, loadFactorBefore: null, loadFactorAfter: null,
    co2eSavedKg: null, trucksAvoided: null, error: null, figures: null,
  };
}

export type RunOutcome =
  /** proposals: the plan's; carriedOver: how many of them were open already (kept with their ids, not issued again). */
  | { status: 'done'; planVersion: number; proposals: number; carriedOver: number }
  | { status: 'skipped'; reason: 'missing' | 'already_done' | 'already_failed' }
  | { status: 'lease_lost' };

export class OptimiserService {
  private readonly opts: OptimiserOptions;

  constructor(
    private readonly db: Db,
    private readonly events: EventSink,
    private readonly queues: Queues | null,
    opts: Partial<OptimiserOptions> = {},
  ) {
    this.opts = { ...DEFAULT_OPTIMISER_OPTIONS, ...opts };
  }

  /** POST /api/optimisations — the scheduler asks for a run now. */
  async request(p: Principal): Promise<OptimisationView> {
    policy.requireOrgKind(p, 'scheduler', 'platform');
    const row = await insertOptimisation(this.db, { trigger: 'manual', requested_by: p.userId });
    await this.enqueue(row.id);
    return optimisationView(row, []);
  }

  /**
   * A run asked for by the schedule or by a change to the pool: none when one is already queued or solving
   * (that one will see the change). Returns the optimisation id, or null.
   */
  async requestAutomatic(trigger: 'schedule' | 'pool'): Promise<string | null> {
    if (await pendingOptimisation(this.db)) return null;
    const row = await insertOptimisation(this.db, { trigger, requested_by: null });
    await this.enqueue(row.id);
    return row.id;
  }

  private async enqueue(id: string) {
    await this.queues?.add('pool.optimise', { optimisationId: id }, { jobId: `pool.optimise-${id}` });
  }

  /** GET /api/optimisations — the latest runs with their proposals (an operator: its own departures' only). */
  async list(p: Principal, limit = 20): Promise<OptimisationView[]> {
    policy.requireOrgKind(p, 'scheduler', 'platform', 'operator');
    return this.views(p, await recentOptimisations(this.db, limit));
  }

  async get(p: Principal, id: string): Promise<OptimisationView> {
    policy.requireOrgKind(p, 'scheduler', 'platform', 'operator');
    const r = await findOptimisation(this.db, id);
    if (!r) throw notFound('optimisation');
    return (await this.views(p, [r]))[0]!;
  }

  /** One run with all its proposals, for the operator's tools (npm run optimise); no principal: not for HTTP. */
  async report(id: string): Promise<OptimisationView | null> {
    const r = await findOptimisation(this.db, id);
    return r ? (await this.views(null, [r]))[0]! : null;
  }

  private async views(p: Principal | null, rows: OptimisationRow[]): Promise<OptimisationView[]> {
    const props = await proposalsOfOptimisations(this.db, rows.map((r) => r.id), p?.orgKind === 'operator' ? p.orgId : undefined);
    const moved = await movedBookingsOf(this.db, props);
    const by = new Map<string, OptimisationView['proposals']>();
    for (const pr of props) {
      const list = by.get(pr.plan_id) ?? [];
      list.push(proposalView(pr, moved.get(pr.id) ?? []));
      by.set(pr.plan_id, list);
    }
    // an operator sees its part: the run and its own departures' proposals, not the network's figures (which are
    // built from every operator's costs)
    const part = p?.orgKind === 'operator';
    return rows.map((r) => (part ? operatorPart(optimisationView(r, by.get(r.id) ?? [])) : optimisationView(r, by.get(r.id) ?? [])));
  }

  /**
   * The instance of a run at `now` — open shipments, the departures they could ride, their bookable legs — and the
   * version of each shipment as read (a plan proposes only shipments still at it).
   */
  private async load(now: Date): Promise<{ inst: PoolInstance; versions: Map<string, number>; merges: MergeCandidate[] }> {
    const shipments = await openShipments(this.db, now, this.opts.maxShipments);
    const latest = shipments.reduce((m, s) => Math.max(m, s.deliver_by.getTime()), now.getTime());
    const until = new Date(Math.min(latest, now.getTime() + this.opts.lookaheadDays * 86_400_000));
    const [deps, loaded, clusters, busy] = await Promise.all([poolDepartures(this.db, now, until), loadLegs(this.db, now), clusterPoints(this.db), departuresInConsent(this.db)]);
    const bookings = await movableBookingsOn(this.db, deps.filter((d) => d.booked_teu > 0 && d.held_teu === 0).map((d) => d.id));
    const horizon = now.getTime() + this.opts.decisionHorizonHours * 3_600_000;
    const standing: PoolDeparture[] = deps.map((d) => {
      const cost = DEFAULT_COSTS[d.mode];
      return {
        id: d.id, operatorOrgId: d.operator_org_id, corridorId: d.corridor_id, mode: d.mode, origin: d.origin, destination: d.destination,
        departsAt: d.departs_at.getTime(), arrivesAt: d.arrives_at.getTime(), cutoffAt: d.cutoff_at.getTime(), capacityTeu: d.capacity_teu,
        capacityTonnes: d.capacity_tonnes, usedTeu: d.held_teu + d.booked_teu, usedTonnes: d.held_tonnes + d.booked_tonnes,
        fixedCostCents: d.fixed_cost_cents ?? cost.fixedCents, variableCostCentsPerTeu: d.variable_cost_cents_per_teu ?? cost.perTeuCents,
        minLoadTeu: d.min_load_teu, mustRun: d.booked_teu > 0 || d.held_teu > 0 || d.cutoff_at.getTime() > horizon,
      };
    });
    // merges: sources left to the model (not mustRun), room for their bookings reserved on their targets
    const { departures, candidates: merges } = prepareMerges({
      now: now.getTime(), horizon, departures: standing, busy: new Set(busy),
      bookings: bookings.map((b) => ({ id: b.id, departureId: b.departure_id, forwarderOrgId: b.forwarder_org_id, teu: b.teu, tonnes: b.tonnes })),
    });
    const known = new Set(departures.map((d) => d.id));
    const legs = loaded.map((l) => l.leg).filter((l) => known.has(l.departureId));
    const requests: PoolRequest[] = shipments.map((s) => ({
      id: s.id, forwarderOrgId: s.forwarder_org_id, from: s.from_code, to: s.to_code, teu: s.teu, tonnes: s.tonnes, readyAt: s.ready_at.getTime(),
      deliverBy: s.deliver_by.getTime(), maxTotalCents: s.max_total_cents, modes: s.modes, consolidate: s.consolidate,
    }));
    const coords = new Map(clusters.map((c) => [c.code, { lat: c.lat, lon: c.lon }]));
    const road: Record<string, RoadOption> = {};
    for (const r of requests) {
      const a = roadAlternative(r.from, r.to, r.teu, r.tonnes, coords);
      if (a) road[r.id] = { costCents: a.costCents, co2eGrams: Math.round(a.co2eKg * 1000), trucks: Math.ceil(r.teu / 2) };
    }
    const candidates = buildCandidates(requests, departures, legs, { params: routingParams }, now.getTime());
    return {
      inst: { now: now.getTime(), requests, departures, legs, candidates, road },
      versions: new Map(shipments.map((s) => [s.id, s.version])),
      merges,
    };
  }

  /** The `pool.optimise` job: one run (see the class comment). */
  async run(id: string, solver: MipSolver, now = new Date()): Promise<RunOutcome> {
    const row = await findOptimisation(this.db, id);
    if (!row) return { status: 'skipped', reason: 'missing' };
    if (row.status === 'done') return { status: 'skipped', reason: 'already_done' };
    if (row.status === 'failed') return { status: 'skipped', reason: 'already_failed' };
    const token = randomUUID();
    if (!(await takeLease(this.db, token, id, this.opts.leaseTtlMs))) throw new LeaseBusy();
    let lost = false;
    const renew = setInterval(() => {
      renewLease(this.db, token, this.opts.leaseTtlMs).then((ok) => { if (!ok) lost = true; }, () => {});
    }, Math.max(100, Math.floor(this.opts.leaseTtlMs / 3)));
    renew.unref();
    const progress = this.progressEmitter(id);
    try {
      await updateOptimisation(this.db, id, { status: 'solving', started_at: now, error: null });
      progress({ phase: 'loading', part: 0, parts: 0, incumbentCents: null, boundCents: null, gapPct: null }, true);
      const { inst, versions, merges: candidates } = await this.load(now);
      const clock = () => performance.now();
      const result = await optimise(inst, {
        routing: { params: routingParams }, timeLimitSec: this.opts.timeLimitSec, mipRelGap: this.opts.mipRelGap,
        co2PriceCentsPerTonne: this.opts.co2PriceCentsPerTonne, clock, onProgress: (p) => progress(p, p.phase !== 'solving'),
      }, solver);
      if (lost) return { status: 'lease_lost' };
      const proposals = planProposals(inst, result.plan, result.departures, { plan: result.figures.objective, greedy: result.greedy.figures.objective });
      const merges = mergeProposals(candidates, result.departures);
      // figures of the network as it stands (without the room reserved for merges) and after the plan with its merges
      result.loadFactorBefore = loadFactorBefore({ ...inst, departures: withoutReservations(inst, candidates) });
      result.figures.loadFactor = mergedLoadFactor(result.departures, candidates);
      const written = await this.writePlan(id, token, inst, versions, result, proposals, merges, now);
      if (!written) return { status: 'lease_lost' };
      await this.events.emit([...written.events, this.progressEvent(id, { phase: 'done', part: 0, parts: 0, incumbentCents: result.figures.objective.totalCents, boundCents: result.boundCents, gapPct: result.gapPct })]).catch(() => {});
      return { status: 'done', planVersion: written.version, proposals: written.count, carriedOver: written.carriedOver };
    } catch (err) {
      if (err instanceof LeaseBusy) throw err;
      // a failure of this run (not a lost lease): recorded, visible on the scheduler's screen; the job is not retried
      await updateOptimisation(this.db, id, { status: 'failed', finished_at: new Date(), error: String((err as Error)?.message ?? err).slice(0, 2000) }).catch(() => {});
      await this.events.emit([this.progressEvent(id, { phase: 'failed', part: 0, parts: 0, incumbentCents: null, boundCents: null, gapPct: null })]).catch(() => {});
      return { status: 'skipped', reason: 'already_failed' };
    } finally {
      clearInterval(renew);
      await releaseLease(this.db, token).catch(() => {});
    }
  }

  /** The plan in one transaction, after checking the lease is still ours (the fence); null when it is not. */
  private async writePlan(
    id: string, token: string, inst: PoolInstance, versions: Map<string, number>, result: OptimiseResult, pp0: PlanProposals, merges: MergeCandidate[], now: Date,
  ) {
    const requests = new Map(inst.requests.map((r) => [r.id, r]));
    const legPrice = new Map(inst.legs.map((l) => [l.listingId, l.unitPriceCents]));
    const f = result.figures;
    return inTransaction(this.db, async (tx) => {
      if (!(await holdsLease(tx, token))) return null;
      // a shipment changed or withdrawn while the plan was solved is left out (the next run sees it as it is now)
      const current = new Map((await lockShipments(tx, inst.requests.map((r) => r.id))).map((r) => [r.id, r]));
      // a merge its operator accepted while this plan was solved is being consented to: nothing new for its departures
      const busy = new Set(await departuresInConsent(tx));
      const live = merges.filter((m) => !busy.has(m.departureId) && !busy.has(m.intoDepartureId));
      const unchanged = (sid: string) => {
        const c = current.get(sid);
        return !!c && c.version === versions.get(sid) && ['pooled', 'unplaced', 'proposed'].includes(c.status);
      };
      const pp = { ...pp0, shipments: pp0.shipments.filter((s) => unchanged(s.requestId)), unplaced: pp0.unplaced.filter(unchanged) };
      const version = await nextPlanVersion(tx);
      const fresh = [
        ...pp.shipments.map((s) => {
          const r = requests.get(s.requestId)!;
          const road = inst.road?.[s.requestId];
          return {
            optimisation_id: id, kind: 'shipment' as const, shipment_id: s.requestId, forwarder_org_id: s.forwarderOrgId,
            legs: JSON.stringify(s.candidate.legs.map((l) => ({ ...l, unitPriceCents: legPrice.get(l.listingId) ?? null }))), teu: r.teu, tonnes: r.tonnes,
            price_cents: s.priceCents, standalone_cents: s.standaloneCents, share_cents: s.shareCents, co2e_kg: Math.round(s.candidate.co2eGrams / 1000),
            road_co2e_kg: road ? Math.round(road.co2eGrams / 1000) : null, created_at: now,
          };
        }),
        ...pp.departures.map((d) => ({
          optimisation_id: id, kind: 'departure' as const, departure_id: d.departureId, operator_org_id: d.operatorOrgId, action: d.action,
          capacity_teu: d.capacityTeu, min_load_teu: d.minLoadTeu, load_before_teu: d.loadBeforeTeu, load_after_teu: d.loadAfterTeu, created_at: now,
        })),
        ...live.map((m) => ({
          optimisation_id: id, kind: 'departure' as const, departure_id: m.departureId, operator_org_id: m.operatorOrgId, action: 'merge' as const,
          merge_into_departure_id: m.intoDepartureId, moved_bookings: m.bookings.map((b) => b.id), teu: m.teu, tonnes: m.tonnes, capacity_teu: m.capacityTeu,
          min_load_teu: m.minLoadTeu, load_before_teu: m.teu, load_after_teu: 0, saving_cents: m.savingCents,
          target_load_before_teu: m.targetLoadBeforeTeu, target_load_after_teu: m.targetLoadAfterTeu, created_at: now,
        })),
      ];
      // a proposal the plan only repeats stays open with its id; the open ones it does not repeat are superseded
      const { carried, superseded } = carryOver(await openProposals(tx), fresh);
      const supersededOrgs = await supersedeProposals(tx, superseded, now);
      const rows = await insertProposals(tx, fresh.filter((_, i) => carried[i] === null));
      const kept = carried.filter((x): x is string => x !== null);
      await addToPlan(tx, id, [...kept, ...rows.map((r) => r.id)]);
      await setShipmentStatuses(tx, pp.shipments.map((s) => s.requestId), pp.unplaced, now);
      // webhooks: each new proposal to the organisation it is addressed to (a merge's forwarders are told when asked)
      await tellWebhooks(tx, rows.map((r) => ({
        orgId: (r.forwarder_org_id ?? r.operator_org_id)!, type: 'proposal.created', objectKey: `proposal:${r.id}`, data: proposalView(r),
      })));
      await updateOptimisation(tx, id, {
        status: 'done', plan_version: version, finished_at: new Date(), requests: inst.requests.length, placed: f.placed, departures: inst.departures.length,
        departures_to_cancel: pp.departures.length + live.length, objective_cents: f.objective.totalCents, lower_bound_cents: result.boundCents,
        lp_bound_cents: result.lpBoundCents, gap_pct: result.gapPct, greedy_objective_cents: result.greedy.figures.objective.totalCents,
        solve_ms: Math.round(result.solveMs), time_limit_hit: result.timeLimitHit, load_factor_before: result.loadFactorBefore, load_factor_after: f.loadFactor,
        co2e_saved_kg: f.co2eSavedVsRoadGrams === null ? null : Math.round(f.co2eSavedVsRoadGrams / 1000), trucks_avoided: f.trucksAvoided,
        figures: JSON.stringify({
          source: result.source, merges: live.length, mergeSavingCents: live.reduce((x, m) => x + m.savingCents, 0), objective: f.objective, greedy: result.greedy.figures, poolSavingCents: pp.poolSavingCents, parts: result.parts,
          gapVsLpPct: result.gapVsLpPct, violations: result.violations, candidates: inst.candidates.length,
        }),
      });
      // live: the organisations with a new proposal or one superseded (a carried-over proposal changed nothing)
      const orgs = new Set<string>(supersededOrgs);
      for (const r of rows) orgs.add((r.forwarder_org_id ?? r.operator_org_id)!);
      const events: LiveEvent[] = [...orgs].map((org) => ({ rooms: [rooms.org(org)], event: 'proposal:new', payload: { optimisationId: id, planVersion: version } }));
      return { version, count: fresh.length, carriedOver: kept.length, events };
    });
  }

  private progressEvent(id: string, p: Omit<OptimiseProgress, 'phase'> & { phase: string }): LiveEvent {
    return {
      rooms: [rooms.networkDashboard()], event: 'optimisation:progress',
      payload: { optimisationId: id, phase: p.phase, part: p.part, parts: p.parts, gapPct: p.gapPct, incumbentCents: p.incumbentCents, boundCents: p.boundCents },
      coalesceKey: `optimisation:${id}`,
    };
  }

  /** Progress to the schedulers' screens: every phase change, solver progress at most every 250 ms. */
  private progressEmitter(id: string) {
    let last = 0;
    return (p: Omit<OptimiseProgress, 'phase'> & { phase: string }, force = false) => {
      const t = Date.now();
      if (!force && t - last < 250) return;
      last = t;
      void this.events.emit([this.progressEvent(id, p)]).catch(() => {});
    };
  }
}
