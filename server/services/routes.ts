import type { Db } from '../adapters/db/db.ts';
import type { LiveEvent } from '../adapters/realtime/events.ts';
import { clusterPoints, loadLegs, type LoadedLeg } from '../adapters/db/routes-repo.ts';
import { fallingPrice, MIN_UNIT_PRICE_CENTS, type FallingSchedule } from '../core/pricing.ts';
import { searchRoutes, Timetable, type RoutingParams } from '../core/routing.ts';
import { roadAlternative, routingParams } from '../data/routing-params.ts';
import { policy, type Principal } from '../domain/principal.ts';
import type { RoutesAnswer, RoutesQuery } from '../domain/schemas/routes.ts';
import { toItinerary, toRouteQuery } from './routes-answer.ts';

export interface RouteSearchOptions {
  /** Every this often: new listings are picked up, legs past their cut-off pruned, falling prices stepped. */
  refreshMs?: number;
  /** Every this often (at a refresh) the whole timetable is read again: the safety net for missed events. */
  fullReloadMs?: number;
  /** New listings are looked for from the last look minus this (transactions that committed late). */
  overlapMs?: number;
  params?: RoutingParams;
}

export interface RouteSearchLog {
  warn(obj: unknown, msg?: string): void;
}

type ListingPatch = { remainingTeu?: number; unitPriceCents?: number; open?: boolean };
type DepartureState = { seq: number; freeTeu: number; freeTonnes: number };

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Synchromodal route search (issue 12, GET /api/routes). Holds the core's in-memory Timetable of every open
 * listing on a departure that still sells, loaded from Postgres and kept current by the live events every
 * server reads from the Redis stream (`observe`: departure availability, listing updates and closes), plus a
 * periodic pick-up of new listings (created in any process; no event announces them) and a full reload as
 * the safety net. The search itself is the core's McRAPTOR-style `searchRoutes`, never a SQL join per leg.
 *
 * Constructing it does nothing; `start` loads and starts the refresh timer (servers only), and a search
 * before any load loads on demand. The timer never keeps a process alive and never throws.
 */
export class RouteSearchService {
  private tt = new Timetable();
  /** `version` = base + the current timetable's version: monotonic across full reloads (a fresh Timetable). */
  private base = 0;
  private clusters = new Map<string, { lat: number; lon: number }>();
  /** The newest departure state seen (from a load or an event), by departure: older events are ignored. */
  private readonly departures = new Map<string, DepartureState>();
  private readonly falling = new Map<string, FallingSchedule>();
  /** Listing changes observed while a load is in flight, applied again to what it loaded. */
  private pending: Map<string, ListingPatch> | undefined;
  private loaded: Promise<void> | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private lastLookAt = 0;
  private lastFullAt = 0;
  private readonly opts: Required<RouteSearchOptions>;
  private log: RouteSearchLog = { warn: (obj, msg) => console.warn(msg ?? '', obj) };
  private readonly counters = {
    fullLoads: 0, refreshes: 0, lastLoadMs: 0, eventsApplied: 0, lastApplyMs: 0, lastApplyAt: 0, searches: 0,
  };

  constructor(private readonly db: Db, opts: RouteSearchOptions = {}) {
    this.opts = {
      refreshMs: opts.refreshMs ?? 5_000,
      fullReloadMs: opts.fullReloadMs ?? 60_000,
      overlapMs: opts.overlapMs ?? 30_000,
      params: opts.params ?? routingParams,
    };
  }

  get version(): number {
    return this.base + this.tt.version;
  }

  /** Loads the timetable and starts the refresh timer (unref'd). Idempotent. */
  start(log?: RouteSearchLog): Promise<void> {
    if (log) this.log = log;
    if (!this.timer) {
      this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs);
      this.timer.unref();
    }
    return this.ensureLoaded();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private ensureLoaded(): Promise<void> {
    this.loaded ??= this.reload('full').catch((err: unknown) => {
      this.loaded = undefined;
      throw err;
    });
    return this.loaded;
  }

  /** One refresh: prune, step falling prices, pick up new listings (or reload everything). Never throws. */
  async refresh(now = new Date()): Promise<void> {
    try {
      this.tt.pruneBefore(now.getTime());
      this.stepFallingPrices(now);
      await this.reload(now.getTime() - this.lastFullAt >= this.opts.fullReloadMs ? 'full' : 'new', now);
    } catch (err) {
      this.log.warn({ err }, 'route search: refresh failed; the timetable stays as it was');
    }
  }

  /** Reads the timetable again: `full` (a fresh Timetable, swapped in) or `new` (listings created or opened since the last look). */
  reload(kind: 'full' | 'new', now = new Date()): Promise<void> {
    const run = this.chain.then(() => (kind === 'full' ? this.loadFull(now) : this.loadNew(now)));
    this.chain = run.catch(() => {});
    return run;
  }

  private async loadFull(now: Date): Promise<void> {
    const t0 = performance.now();
    this.pending = new Map();
    try {
      const [legs, clusters] = await Promise.all([loadLegs(this.db, now), clusterPoints(this.db)]);
      const next = new Timetable(legs.map((l) => l.leg));
      this.falling.clear();
      // departures tracked from events but no longer loaded (past cut-off, sold) are forgotten
      const loaded = new Set(legs.map((l) => l.leg.departureId));
      for (const id of this.departures.keys()) if (!loaded.has(id)) this.departures.delete(id);
      this.track(next, legs);
      for (const [id, patch] of this.pending) applyPatch(next, id, patch);
      this.base = this.version + 1;
      this.tt = next;
      this.clusters = new Map(clusters.map((c) => [c.code, { lat: c.lat, lon: c.lon }]));
      this.lastLookAt = this.lastFullAt = now.getTime();
      this.counters.fullLoads++;
      this.counters.lastLoadMs = performance.now() - t0;
    } finally {
      this.pending = undefined;
    }
  }

  private async loadNew(now: Date): Promise<void> {
    const since = new Date(this.lastLookAt - this.opts.overlapMs);
    const [legs, clusters] = await Promise.all([loadLegs(this.db, now, { newSince: since }), clusterPoints(this.db)]);
    this.track(this.tt, legs.filter((l) => !this.tt.leg(l.leg.listingId)));
    this.clusters = new Map(clusters.map((c) => [c.code, { lat: c.lat, lon: c.lon }]));
    this.lastLookAt = now.getTime();
    this.counters.refreshes++;
  }

  /**
   * Puts loaded legs into `tt` (a fresh one has them already) and reconciles departure states: the newer of
   * what was loaded and what the events said (by the departure's `seq`) wins, for every leg of the departure.
   */
  private track(tt: Timetable, legs: LoadedLeg[]) {
    const apply = new Map<string, DepartureState>();
    for (const l of legs) {
      const { leg, departureSeq } = l;
      if (!tt.leg(leg.listingId)) tt.upsertLeg(leg);
      if (l.falling) this.falling.set(leg.listingId, l.falling);
      const known = this.departures.get(leg.departureId);
      if (!known || known.seq < departureSeq) {
        const s = { seq: departureSeq, freeTeu: leg.depFreeTeu, freeTonnes: leg.depFreeTonnes };
        this.departures.set(leg.departureId, s);
        if (known) apply.set(leg.departureId, s); // the departure's other legs are older
      } else if (known.seq > departureSeq) {
        apply.set(leg.departureId, known); // events newer than what was read
      }
    }
    for (const [id, s] of apply) tt.setDepartureFree(id, s.freeTeu, s.freeTonnes);
  }

  /** Falling listings step down with time: their legs are repriced at each refresh (a price-step event may come first). */
  private stepFallingPrices(now: Date) {
    for (const [id, s] of this.falling) {
      const leg = this.tt.leg(id);
      if (!leg) {
        this.falling.delete(id);
        continue;
      }
      const price = fallingPrice(s, now);
      if (price !== leg.unitPriceCents) this.tt.setListing(id, { unitPriceCents: price });
    }
  }

  /**
   * Applies live events (every server's relay delivers the whole stream here): `departure:availability`
   * (free TEU / tonnes, newest `seq` wins), `listing:update` (remaining TEU, price, status), `listing:closed`.
   */
  observe(events: LiveEvent[]): void {
    try {
      this.apply(events);
    } catch (err) {
      // never into the relay: the next full reload repairs what an event could not change
      this.log.warn({ err }, 'route search: a live event could not be applied');
    }
  }

  private apply(events: LiveEvent[]): void {
    const t0 = performance.now();
    let applied = 0;
    for (const e of events) {
      const p = (e.payload ?? {}) as Record<string, unknown>;
      if (e.event === 'departure:availability') {
        const id = str(p.departureId);
        const seq = num(p.seq);
        const freeTeu = num(p.freeTeu);
        const freeTonnes = num(p.freeTonnes);
        if (!id || seq === undefined || freeTeu === undefined || freeTonnes === undefined) continue;
        const known = this.departures.get(id);
        if (known && known.seq >= seq) continue;
        this.departures.set(id, { seq, freeTeu, freeTonnes });
        this.tt.setDepartureFree(id, Math.max(0, freeTeu), Math.max(0, freeTonnes));
        applied++;
      } else if (e.event === 'listing:update' || e.event === 'listing:closed') {
        const id = str(p.listingId);
        if (!id) continue;
        const patch = this.listingPatch(id, e.event === 'listing:closed' ? { status: 'closed' } : p);
        if (!patch) continue;
        this.pending?.set(id, { ...this.pending.get(id), ...patch });
        applyPatch(this.tt, id, patch);
        applied++;
      }
    }
    if (applied > 0) {
      this.counters.eventsApplied += applied;
      this.counters.lastApplyMs = performance.now() - t0;
      this.counters.lastApplyAt = Date.now();
    }
  }

  /** What a listing event changes of a leg: fixed / falling take the pushed price, ascending its next minimum bid. */
  private listingPatch(id: string, p: Record<string, unknown>): ListingPatch | undefined {
    const status = str(p.status);
    if (status !== undefined && status !== 'open') return { open: false };
    const leg = this.tt.leg(id);
    if (!leg && !this.pending) return undefined;
    const patch: ListingPatch = {};
    const remaining = num(p.remainingTeu);
    if (remaining !== undefined) patch.remainingTeu = Math.max(0, remaining);
    const format = leg?.format;
    const price = format === 'fixed' || format === 'falling' ? num(p.currentPriceCents) : format === 'ascending' ? num(p.minNextBidCents) : undefined;
    if (price !== undefined) patch.unitPriceCents = Math.max(MIN_UNIT_PRICE_CENTS, price);
    return patch;
  }

  /** GET /api/routes: the Pareto set of itineraries (forwarders, their API keys, the platform). Throws 400 / 403. */
  async search(p: Principal, input: RoutesQuery, now = new Date()): Promise<RoutesAnswer> {
    policy.requireOrgKind(p, 'forwarder', 'platform');
    return this.answer(input, now);
  }

  /** The search itself, for services acting for the platform (e.g. rail alternatives of bookings a derating moves). Throws 400. */
  async answer(input: RoutesQuery, now = new Date()): Promise<RoutesAnswer> {
    await this.ensureLoaded();
    const q = toRouteQuery(input, (code) => this.clusters.has(code), now);
    this.counters.searches++;
    const plans = searchRoutes(this.tt, q, this.opts.params);
    // both codes are known clusters, so both have coordinates
    const road = roadAlternative(q.from, q.to, q.teu, q.tonnes, this.clusters) ?? { distanceKm: 0, co2eKg: 0, costCents: 0 };
    return {
      itineraries: plans.map((plan) => toItinerary(plan, q, road.co2eKg, this.opts.params)),
      road,
      asOf: now.toISOString(),
    };
  }

  /** The in-memory timetable's legs (the bench and the tests compare the search with the exhaustive reference). */
  legs() {
    return this.tt.legs();
  }

  /** For the bench and operations: timetable size and version, loads, events applied, the last apply's cost. */
  stats() {
    return {
      legs: this.tt.size,
      version: this.version,
      departuresTracked: this.departures.size,
      clusters: this.clusters.size,
      ...this.counters,
      lastApplyMs: Math.round(this.counters.lastApplyMs * 1000) / 1000,
      lastLoadMs: Math.round(this.counters.lastLoadMs * 10) / 10,
      lastApplyAt: this.counters.lastApplyAt ? new Date(this.counters.lastApplyAt).toISOString() : null,
      lastFullAt: this.lastFullAt ? new Date(this.lastFullAt).toISOString() : null,
    };
  }
}

function applyPatch(tt: Timetable, id: string, patch: ListingPatch) {
  if (patch.open === false) {
    tt.removeListing(id);
    return;
  }
  if (!tt.leg(id)) return;
  const { remainingTeu, unitPriceCents } = patch;
  tt.setListing(id, { ...(remainingTeu !== undefined ? { remainingTeu } : {}), ...(unitPriceCents !== undefined ? { unitPriceCents } : {}) });
}
