import type { Db } from '../adapters/db/db.ts';
import {
  clusterIdOf, corridorKnown, departuresAtRisk, groupedSlim, marketActivity, groupedSums, operatorKnown, settledState, totalSums, type GroupKey, type SettledState,
  type SlimGroup, type StatsFilter, type StatsScope,
} from '../adapters/db/stats-read.ts';
import { addDays, Lru, mergeParts, RowText, settledBefore } from '../core/stats-cache.ts';
import { foldCorridorDays, rebuildRollups, verifyRollups, type RollupVerdict } from '../adapters/db/stats-repo.ts';
import {
  accumulate, changeOf, emptySums, flattenRow, loadFactor, MAX_ROWS, metricsOf, previousRange, priceIndex, resolveRange, slimMetricsOf, toCsv,
  tooManyRowsMessage, type DayRange, type Metrics, type SlimMetrics, type StatsSums,
} from '../core/stats.ts';
import { teuPerTruck } from '../data/emission-factors.ts';
import { AppError, badRequest, forbidden } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import type {
  ActivityAnswer, ActivityQuery, AtRiskAnswer, AtRiskQuery, GroupBy, KpisAnswer, KpisQuery, PriceIndexAnswer, PriceIndexQuery, UtilisationAnswer, UtilisationQuery, UtilisationRow,
} from '../domain/schemas/stats.ts';

/**
 * A utilisation row per grouping: its key fields (in answer and CSV column order) picked from the row read,
 * then the metrics (every figure with detail=full, else SlimMetrics) — one object literal with a single
 * spread. (Spreading two objects into one measured ~30 µs a row against ~1 µs: it alone cost most of a
 * 1,600-row answer's time.)
 */
const ROW: { [G in GroupBy]: (k: GroupKey, m: SlimMetrics | Metrics) => UtilisationRow } = {
  'corridor-day': (k, m) => ({ corridorId: k.corridorId, corridorCode: k.corridorCode, fromCode: k.fromCode, toCode: k.toCode, mode: k.mode, day: k.day, ...m }),
  'cluster-day': (k, m) => ({ clusterCode: k.clusterCode, day: k.day, ...m }),
  operator: (k, m) => ({ operatorOrgId: k.operatorOrgId, operatorName: k.operatorName, ...m }),
  mode: (k, m) => ({ mode: k.mode, ...m }),
  day: (k, m) => ({ day: k.day, ...m }),
  corridor: (k, m) => ({ corridorId: k.corridorId, corridorCode: k.corridorCode, fromCode: k.fromCode, toCode: k.toCode, mode: k.mode, ...m }),
  departure: (k, m) => ({
    departureId: k.departureId, corridorId: k.corridorId, corridorCode: k.corridorCode, departsAt: k.departsAt, cutoffAt: k.cutoffAt,
    assetName: k.assetName, operatorOrgId: k.operatorOrgId, minLoadTeu: k.minLoadTeu, status: k.status, ...m,
  }),
};
/** The key fields of a utilisation row per grouping, in answer (and CSV column) order. */
export const KEY_FIELDS = Object.fromEntries(
  Object.entries(ROW).map(([g, row]) => [g, Object.keys(row({}, {} as Metrics))]),
) as Record<GroupBy, string[]>;

/** Settled parts kept per process: at most 200, of at most 50,000 rows in all (~20 MB). */
const CACHE_ENTRIES = 200;
const CACHE_ROWS = 50_000;

/** A utilisation answer's rows and totals, or one part of them (its settled or live days). */
type Part = { rows: UtilisationRow[]; totals: StatsSums };

/**
 * The groupings whose rows each belong to one day, whose settled days can therefore come from memory: a
 * row's rank in the answer's order by name (then day), given the database's order of the names.
 */
const RANK: Partial<Record<GroupBy, (st: SettledState) => (r: UtilisationRow) => number>> = {
  'corridor-day': (st) => {
    const at = new Map(st.corridorCodes.map((c, i) => [c, i]));
    return (r) => at.get(String(r.corridorCode)) ?? -1;
  },
  'cluster-day': (st) => {
    const at = new Map(st.clusterCodes.map((c, i) => [c, i]));
    return (r) => at.get(String(r.clusterCode)) ?? -1;
  },
  day: () => () => 0,
  // per departure: ordered by departure time, so every settled row comes before every live one
  departure: () => () => 0,
};

type Filters = { from?: string | undefined; to?: string | undefined; corridorId?: string | undefined; cluster?: string | undefined; mode?: 'rail' | 'barge' | undefined; operatorOrgId?: string | undefined };

/** Who sees what (API.md "Statistics"): the scope of `p`, or 403. */
function scopeOf(p: Principal, operatorOrgId: string | undefined): StatsScope {
  switch (p.orgKind) {
    case 'scheduler':
    case 'platform':
      return { kind: 'network' };
    case 'operator':
      if (operatorOrgId !== undefined && operatorOrgId !== p.orgId) throw forbidden("an operator sees its own departures' figures only (operatorOrgId must be its own)");
      return { kind: 'operator', orgId: p.orgId };
    case 'forwarder':
      return { kind: 'forwarder', orgId: p.orgId };
  }
}
const scopeName = (s: StatsScope) => s.kind;

/**
 * Dashboard statistics: utilisation rows, KPI tiles, price index and departures at risk — read from the
 * rollups (server/adapters/db/stats-repo.ts), shaped by the pure core (server/core/stats.ts). Also the
 * verification and rebuild of the rollups that `npm run stats:rebuild` and the tests share.
 */
export class StatsService {
  /** The settled days' parts of answers (server/core/stats-cache.ts); null: off. */
  private readonly cache: Lru<unknown> | null;
  /** The JSON text of the rows in `cache`. */
  private readonly rowText = new RowText();

  constructor(private readonly db: Db, opts: { cache?: boolean } = {}) {
    this.cache = opts.cache === false ? null : new Lru(CACHE_ENTRIES, CACHE_ROWS);
  }

  private metrics(s: StatsSums): Metrics {
    return metricsOf(s, { teuPerTruck });
  }

  /** The checked date range and the filters resolved to ids (400 on a bad range or an unknown code). */
  private async resolve(q: Filters, now: Date): Promise<{ range: DayRange; filter: StatsFilter }> {
    const r = resolveRange(q, now);
    if (!r.ok) throw badRequest(r.code, r.message);
    const filter: StatsFilter = { from: r.range.from, to: r.range.to, corridorId: q.corridorId, mode: q.mode, operatorOrgId: q.operatorOrgId };
    if (q.corridorId !== undefined && !(await corridorKnown(this.db, q.corridorId))) throw badRequest('unknown_corridor', 'no corridor with this id');
    if (q.operatorOrgId !== undefined && !(await operatorKnown(this.db, q.operatorOrgId))) throw badRequest('unknown_operator', 'no operator organisation with this id');
    if (q.cluster !== undefined) {
      filter.clusterId = await clusterIdOf(this.db, q.cluster);
      if (filter.clusterId === undefined) throw badRequest('unknown_cluster', `no cluster with the code ${q.cluster}`);
    }
    return { range: r.range, filter };
  }

  private tooMany(groupBy: string, q: Filters): AppError {
    return badRequest('too_many_rows', tooManyRowsMessage(groupBy, {
      corridorId: q.corridorId !== undefined, cluster: q.cluster !== undefined, operatorOrgId: q.operatorOrgId !== undefined, mode: q.mode !== undefined,
    }));
  }

  /**
   * GET /api/stats/utilisation. Rows without detail (the default) read and carry only SlimMetrics; their
   * totals (every figure) come from the same statement. `detail: 'full'` (the CSV variant too): every figure
   * per row, the totals summed here.
   */
  async utilisation(p: Principal, q: UtilisationQuery, now = new Date()): Promise<UtilisationAnswer> {
    const groupBy: GroupBy = q.groupBy ?? 'day';
    const scope = scopeOf(p, q.operatorOrgId);
    const { range, filter } = await this.resolve(q, now);
    const detail = q.detail === 'full' ? 'full' : 'slim';
    // (a forwarder's rows too: stats_forwarder changes only beside stats_departure, whose deltas take the token)
    const rank = this.cache ? RANK[groupBy] : undefined;
    let part: Part;
    if (!rank) part = await this.utilisationPart(this.db, scope, groupBy, filter, now, detail);
    else {
      // the settled days from memory (when their token is unchanged), the others read, in one snapshot
      part = await this.db.transaction().setIsolationLevel('repeatable read').execute(async (tx) => {
        const st = await settledState(tx);
        const before = settledBefore(now, st.today);
        if (st.token === null || filter.from >= before) return this.utilisationPart(tx, scope, groupBy, filter, now, detail);
        const settledTo = filter.to < before ? filter.to : addDays(before, -1);
        const key = JSON.stringify(['u', groupBy, detail, scope, filter, settledTo, st.token]);
        let settled = this.cache!.get(key) as Part | undefined;
        if (!settled) {
          settled = await this.utilisationPart(tx, scope, groupBy, filter.to === settledTo ? filter : { ...filter, to: settledTo }, now, detail);
          this.cache!.set(key, settled, settled.rows.length + 1);
          this.rowText.keep(settled.rows);
        }
        if (filter.to < before) return settled;
        const live = await this.utilisationPart(tx, scope, groupBy, { ...filter, from: before }, now, detail);
        const r = rank(st);
        const totals = accumulate(accumulate(emptySums(scope.kind === 'forwarder'), settled.totals), live.totals);
        return { rows: mergeParts(settled.rows, live.rows, r), totals };
      });
    }
    if (part.rows.length > MAX_ROWS) throw this.tooMany(groupBy, q);
    const answer: UtilisationAnswer = {
      from: range.from, to: range.to, groupBy, scope: scopeName(scope), asOf: now.toISOString(), rows: part.rows, totals: this.metrics(part.totals),
    };
    if (scope.kind === 'operator') {
      answer.network = this.metrics(await totalSums(this.db, { kind: 'network' }, { ...filter, operatorOrgId: undefined }, now));
    }
    return answer;
  }

  /** GET /api/stats/utilisation as JSON text: the rows kept in memory are written from their kept text. */
  async utilisationJson(p: Principal, q: UtilisationQuery, now = new Date()): Promise<string> {
    return this.rowText.answerJson(await this.utilisation(p, q, now));
  }

  /**
   * The rows (at most MAX_ROWS + 1) and totals of a utilisation answer over `filter`. Rows without detail
   * read and carry only SlimMetrics; their totals (every figure) come from the same statement. `full` (the
   * CSV variant too): every figure per row, the totals summed here.
   */
  private async utilisationPart(db: Db, scope: StatsScope, groupBy: GroupBy, filter: StatsFilter, now: Date, detail: 'full' | 'slim'): Promise<Part> {
    const row = ROW[groupBy];
    if (detail === 'full') {
      const groups = await groupedSums(db, scope, groupBy, filter, { limit: MAX_ROWS + 1, now });
      const totals = emptySums(scope.kind === 'forwarder');
      const rows = groups.map((g) => {
        accumulate(totals, g.sums);
        return row(g.key, this.metrics(g.sums));
      });
      return { rows, totals };
    }
    const slim = await groupedSlim(db, scope, groupBy, filter, { limit: MAX_ROWS + 1, now, totals: true });
    return {
      rows: slim.groups.map((g) => row(g.key, slimMetricsOf(g.sums, { teuPerTruck }))),
      totals: slim.totals ?? emptySums(scope.kind === 'forwarder'),
    };
  }

  /** The settled-days cache's hits and misses (the bench prints them); null when it is off (STATS_CACHE=0). */
  cacheCounts(): { hits: number; misses: number; size: number } | null {
    return this.cache ? { hits: this.cache.hits, misses: this.cache.misses, size: this.cache.size } : null;
  }

  /** GET /api/stats/kpis — the tiles, with the change against the same number of days just before. */
  async kpis(p: Principal, q: KpisQuery, now = new Date()): Promise<KpisAnswer> {
    const scope = scopeOf(p, q.operatorOrgId);
    const { range, filter } = await this.resolve(q, now);
    const prev = previousRange(range);
    const [cur, before] = await Promise.all([
      totalSums(this.db, scope, filter, now),
      totalSums(this.db, scope, { ...filter, from: prev.from, to: prev.to }, now),
    ]);
    const current = this.metrics(cur);
    const previous = this.metrics(before);
    return {
      from: range.from, to: range.to, previousFrom: prev.from, previousTo: prev.to, scope: scopeName(scope), asOf: now.toISOString(),
      current, previous, change: changeOf(current, previous),
    };
  }

  /** GET /api/stats/price-index — average price per TEU per corridor and week (or day), indexed. */
  async priceIndex(p: Principal, q: PriceIndexQuery, now = new Date()): Promise<PriceIndexAnswer> {
    const bucket = q.bucket ?? 'week';
    const scope = scopeOf(p, q.operatorOrgId);
    const { range, filter } = await this.resolve(q, now);
    const read = async (db: Db, f: StatsFilter) => (await groupedSlim(db, scope, 'none', f, { limit: MAX_ROWS + 1, bucket, now, totals: false })).groups;
    let groups: SlimGroup[];
    if (!this.cache) groups = await read(this.db, filter);
    else {
      // as utilisation(): the settled weeks (days) from memory; priceIndex() orders the rows itself
      groups = await this.db.transaction().setIsolationLevel('repeatable read').execute(async (tx) => {
        const st = await settledState(tx);
        const before = settledBefore(now, st.today, bucket);
        if (st.token === null || filter.from >= before) return read(tx, filter);
        const settledTo = filter.to < before ? filter.to : addDays(before, -1);
        const key = JSON.stringify(['p', bucket, scope, filter, settledTo, st.token]);
        let settled = this.cache!.get(key) as SlimGroup[] | undefined;
        if (!settled) {
          settled = await read(tx, filter.to === settledTo ? filter : { ...filter, to: settledTo });
          this.cache!.set(key, settled, settled.length + 1);
        }
        return filter.to < before ? settled : [...settled, ...(await read(tx, { ...filter, from: before }))];
      });
    }
    if (groups.length > MAX_ROWS) throw this.tooMany(`price index per ${bucket}`, q);
    const rows = priceIndex(groups.map((g) => ({
      corridorId: String(g.key.corridorId), corridorCode: String(g.key.corridorCode), period: String(g.key.period),
      bookedTeu: g.sums.bookedTeu, revenueCents: g.sums.revenueCents,
    })));
    return { from: range.from, to: range.to, bucket, scope: scopeName(scope), asOf: now.toISOString(), rows };
  }

  /**
   * GET /api/stats/activity — the market now: bookings made in the last `minutes` (by when they were made; the other
   * figures go by the day a departure runs, so a booking for next week barely moved them) and the holds active now.
   * Schedulers and the platform: the network (or an operator's part); an operator: its own departures.
   */
  async activity(p: Principal, q: ActivityQuery, now = new Date()): Promise<ActivityAnswer> {
    if (p.orgKind === 'forwarder') throw forbidden('market activity is for schedulers and operators');
    const scope = scopeOf(p, q.operatorOrgId);
    const minutes = q.minutes ?? 60;
    const since = new Date(now.getTime() - minutes * 60_000);
    const { filter } = await this.resolve({ corridorId: q.corridorId, cluster: q.cluster, mode: q.mode, operatorOrgId: q.operatorOrgId }, now);
    const a = await marketActivity(this.db, {
      since, now, operatorOrgId: scope.kind === 'operator' ? scope.orgId : filter.operatorOrgId,
      corridorId: filter.corridorId, clusterId: filter.clusterId, mode: filter.mode,
    });
    return { asOf: now.toISOString(), since: since.toISOString(), minutes, scope: scopeName(scope), ...a };
  }

  /** GET /api/stats/at-risk — scheduled departures below their minimum load with a cut-off in the next `hours`. */
  async atRisk(p: Principal, q: AtRiskQuery, now = new Date()): Promise<AtRiskAnswer> {
    if (p.orgKind === 'forwarder') throw forbidden('departures at risk are for schedulers and operators');
    const scope = scopeOf(p, q.operatorOrgId);
    const hours = q.hours ?? 48;
    const { filter } = await this.resolve({ corridorId: q.corridorId, cluster: q.cluster, mode: q.mode, operatorOrgId: q.operatorOrgId }, now);
    const rows = await departuresAtRisk(this.db, {
      now, until: new Date(now.getTime() + hours * 3_600_000), operatorOrgId: scope.kind === 'operator' ? scope.orgId : filter.operatorOrgId,
      corridorId: filter.corridorId, clusterId: filter.clusterId, mode: filter.mode, limit: MAX_ROWS + 1,
    });
    if (rows.length > MAX_ROWS) throw this.tooMany('at-risk', q);
    return {
      asOf: now.toISOString(),
      hours,
      rows: rows.map((r) => ({
        departureId: r.id, corridorId: r.corridor_id, corridorCode: r.corridor_code, fromCode: r.from_code, toCode: r.to_code, mode: r.mode,
        operatorOrgId: r.operator_org_id, operatorName: r.operator_name, assetName: r.asset_name, departsAt: r.departs_at.toISOString(),
        cutoffAt: r.cutoff_at.toISOString(), capacityTeu: r.capacity_teu, bookedTeu: r.booked_teu, heldTeu: r.held_teu, minLoadTeu: r.min_load_teu,
        shortfallTeu: r.min_load_teu - r.booked_teu, loadFactor: loadFactor(r.booked_teu, r.capacity_teu), proposalId: r.proposal_id ?? null,
        proposalAction: r.proposal_action === 'cancel' || r.proposal_action === 'merge' ? r.proposal_action : null,
        proposalStatus: r.proposal_status === 'open' || r.proposal_status === 'consenting' ? r.proposal_status : null,
        mergeInto: r.merge_into_departure_id && r.merge_asset_name && r.merge_departs_at
          ? { departureId: r.merge_into_departure_id, assetName: r.merge_asset_name, departsAt: r.merge_departs_at.toISOString() }
          : null,
      })),
    };
  }

  // ---- CSV variants: the same rows, flattened (byFormat.fixed.teu → fixedTeu, auction.awardedTeu → auctionAwardedTeu) ----

  private metricColumns(): string[] {
    return Object.keys(flattenRow(this.metrics(emptySums()) as unknown as Record<string, unknown>));
  }

  /** The CSV of an answer read with detail=full (the route asks for it): every figure per row. */
  utilisationCsv(a: UtilisationAnswer): { filename: string; csv: string } {
    const cols = [...KEY_FIELDS[a.groupBy as GroupBy], ...this.metricColumns()];
    return { filename: `utilisation-${a.groupBy}-${a.from}-${a.to}.csv`, csv: toCsv(a.rows, cols) };
  }

  kpisCsv(a: KpisAnswer): { filename: string; csv: string } {
    const change = Object.keys(flattenRow({ change: a.change }));
    const cols = ['period', 'from', 'to', ...this.metricColumns(), ...change];
    const rows = [
      { period: 'current', from: a.from, to: a.to, ...a.current, change: a.change },
      { period: 'previous', from: a.previousFrom, to: a.previousTo, ...a.previous },
    ];
    return { filename: `kpis-${a.from}-${a.to}.csv`, csv: toCsv(rows, cols) };
  }

  priceIndexCsv(a: PriceIndexAnswer): { filename: string; csv: string } {
    const cols = ['corridorId', 'corridorCode', 'period', 'bookedTeu', 'avgUnitPriceCents', 'index'];
    return { filename: `price-index-${a.bucket}-${a.from}-${a.to}.csv`, csv: toCsv(a.rows, cols) };
  }

  atRiskCsv(a: AtRiskAnswer): { filename: string; csv: string } {
    const cols = [
      'departureId', 'corridorId', 'corridorCode', 'fromCode', 'toCode', 'mode', 'operatorOrgId', 'operatorName', 'assetName', 'departsAt', 'cutoffAt',
      'capacityTeu', 'bookedTeu', 'heldTeu', 'minLoadTeu', 'shortfallTeu', 'loadFactor', 'proposalId', 'proposalAction', 'proposalStatus',
      'mergeIntoDepartureId',
    ];
    const rows = a.rows.map(({ mergeInto, ...r }) => ({ ...r, mergeIntoDepartureId: mergeInto?.departureId ?? null }));
    return { filename: `at-risk-${a.hours}h.csv`, csv: toCsv(rows, cols) };
  }

  // ---- invariant 10: statistics are true --------------------------------------------------------------

  /** Rollups against their recomputation from the raw rows (read-only; see stats-repo.ts). */
  verify(maxDifferences?: number): Promise<RollupVerdict> {
    return verifyRollups(this.db, maxDifferences);
  }

  /** Folds the pending corridor × day deltas into stats_corridor_day (the `stats.fold` job). */
  fold(): Promise<number> {
    return foldCorridorDays(this.db);
  }

  /** Replaces the rollups with their recomputation, in one transaction. */
  rebuild(): Promise<{ stats_departure: number; stats_forwarder: number; stats_corridor_day: number }> {
    return rebuildRollups(this.db);
  }
}
