/**
 * Dashboard statistics: the figures of the scheduler / operator dashboard and of a forwarder's
 * "My impact" page, read from `/api/stats/*` with the current filters and kept fresh.
 *
 * Freshness: the dashboards join their Socket.IO room (`{ dashboard: 'network' | 'operator' }`); the
 * server sends `stats:update` at most every 2 s per room and we re-read (debounced) on each. After a
 * reconnect (`live.onSync`) everything is re-read, and while the socket is not live the figures are
 * re-read every 30 s instead. Forwarders have no dashboard room: their page re-reads after their own
 * `booking:confirmed` / `booking:cancelled` events. `asOf` is the newest "as of" time of the answers.
 *
 * Windows: the period filter (default: the last 30 days, KPIs compare with the 30 days before) drives
 * the KPI tiles, the history charts (a point per day of the period), the modal split, the price index
 * and the operator table; the map, the heatmap and the corridor table always look ahead: today and the
 * next 13 days. The departures at risk are
 * those with their cut-off in the next 48 hours. Cluster, corridor, mode and operator apply to all.
 *
 * Rows: utilisation rows are read without detail (`SlimMetrics`: API.md's figures, all the charts and tables
 * show; `totals` and `network` have every figure); a part that shows per-row formats, auctions or
 * cancellations would ask for `detail: 'full'`. The CSV links always get every figure.
 */
import { untrack } from 'svelte';
import { api, ApiError, errorMessage } from './api';
import { live } from './live.svelte';
import { refdata } from './refdata.svelte';
import { router } from './router.svelte';
import type {
  ActivityAnswer, AtRiskAnswer, CorridorDayRow, CorridorRow, DashboardRoom, DayRow, KpisAnswer, ModeRow, OperatorRow, PriceIndexAnswer, StatsScope,
  StatsUpdateEvent, UtilisationAnswer,
} from './types';
import { addDays, daysBetween, filtersFromQuery, filtersToQuery, partsTouched, scopeQuery, utcDay, type Query, type StatsFilterValues } from './stats-data';

export * from './stats-data';

/** re-read period while the socket is down */
export const POLL_MS = 30_000;
/** pause between a `stats:update` and the re-read (the server already coalesces to one per 2 s) */
const DEBOUNCE_MS = 300;
/** look-ahead window of the map and heatmap */
export const AHEAD_DAYS = 14;
export const AT_RISK_HOURS = 48;

// ---- the state ----

export type StatsPart = 'kpis' | 'corridors' | 'corridorDays' | 'history' | 'modes' | 'priceIndex' | 'atRisk' | 'operators' | 'activity';

/** `dashboard`: scheduler, platform (room network) and operator (room operator); `impact`: a forwarder's own bookings. */
export type StatsPage = { kind: 'dashboard'; room: DashboardRoom } | { kind: 'impact' };

export class DashboardStats {
  readonly page: StatsPage;
  filters = $state<StatsFilterValues>(filtersFromQuery({}, utcDay(Date.now())));
  /** the day the look-ahead window starts (today, UTC, at the last read) */
  today = $state(utcDay(Date.now()));
  /** the filters in the route's query, checked, defaults filled in: what the page shows (`filters`: what was read last) */
  routeFilters = $derived(filtersFromQuery(router.query, this.today));

  kpis = $state<KpisAnswer | null>(null);
  /** dashboard: per corridor over the look-ahead window; impact: per corridor over the period */
  corridors = $state<UtilisationAnswer<CorridorRow> | null>(null);
  corridorDays = $state<UtilisationAnswer<CorridorDayRow> | null>(null);
  history = $state<UtilisationAnswer<DayRow> | null>(null);
  modes = $state<UtilisationAnswer<ModeRow> | null>(null);
  priceIndex = $state<PriceIndexAnswer | null>(null);
  atRisk = $state<AtRiskAnswer | null>(null);
  /** dashboard: the market now (bookings of the last hour, holds active) — what moves while the days run slowly */
  activity = $state<ActivityAnswer | null>(null);
  operators = $state<UtilisationAnswer<OperatorRow> | null>(null);

  status = $state<'loading' | 'ready' | 'error'>('loading');
  error = $state<string | null>(null);
  /** per part errors while the rest loaded */
  partErrors = $state<Partial<Record<StatsPart, string>>>({});
  /** error of a background refresh while the last figures stay on screen */
  staleError = $state<string | null>(null);
  refreshing = $state(false);
  /** newest `asOf` of the answers (ISO) */
  asOf = $state<string | null>(null);
  /** number of completed reads (tests and the page can tell a re-read happened) */
  reads = $state(0);
  /** the live connection is away: figures are re-read every 30 s instead */
  paused = $derived(live.state !== 'live');

  readonly scope: StatsScope;
  aheadDays = $derived(daysBetween(this.today, addDays(this.today, AHEAD_DAYS - 1)));
  /** the days of the history charts: the period, like the KPI tiles and the tables */
  historyRange = $derived({ from: this.filters.from, to: this.filters.to });
  historyDays = $derived(daysBetween(this.historyRange.from, this.historyRange.to));

  #token = 0;
  #debounce: ReturnType<typeof setTimeout> | null = null;
  /** the parts the scheduled re-read will read ('all': every one), and those of the read in flight */
  #pending: Set<StatsPart> | 'all' | null = null;
  #inFlight: Set<StatsPart> | 'all' | null = null;
  /** resolves once the dashboard room is joined (or at once when offline): reads wait for it so no update falls between */
  #roomReady: Promise<void> = Promise.resolve();

  constructor(page: StatsPage) {
    this.page = page;
    this.scope = page.kind === 'impact' ? 'forwarder' : page.room === 'network' ? 'network' : 'operator';
  }

  setFilters(f: StatsFilterValues) {
    this.filters = f;
    void this.load();
  }

  /**
   * In a page's initialisation: reads whenever the filters in the route's query (`routeFilters`) change,
   * and loads the reference data the filters name.
   */
  followRoute() {
    $effect(() => {
      const f = this.routeFilters;
      untrack(() => {
        void refdata.ensure().catch(() => {});
        this.setFilters(f);
      });
    });
  }

  /** Puts new filters into the query of the route `path` (replacing the history entry); `followRoute` reads them. */
  navigate(path: string, f: StatsFilterValues) {
    router.go(path, filtersToQuery(f, this.today), true);
  }

  /** The requests of one read, by part. */
  #requests(): Partial<Record<StatsPart, () => Promise<unknown>>> {
    const f = this.filters;
    const scope = scopeQuery(f);
    const period = { from: f.from, to: f.to };
    const ahead = { from: this.aheadDays[0], to: this.aheadDays[this.aheadDays.length - 1] };
    const util = <R>(q: Query) => () => api.get<UtilisationAnswer<R>>('/stats/utilisation', { query: { ...scope, ...q } });
    const common = {
      kpis: () => api.get<KpisAnswer>('/stats/kpis', { query: { ...scope, ...period } }),
      history: util<DayRow>({ groupBy: 'day', ...this.historyRange }),
      modes: util<ModeRow>({ groupBy: 'mode', ...period }),
    };
    if (this.page.kind === 'impact') {
      return { ...common, corridors: util<CorridorRow>({ groupBy: 'corridor', ...period }) };
    }
    return {
      ...common,
      corridors: util<CorridorRow>({ groupBy: 'corridor', ...ahead }),
      corridorDays: util<CorridorDayRow>({ groupBy: 'corridor-day', ...ahead }),
      priceIndex: () => api.get<PriceIndexAnswer>('/stats/price-index', { query: { ...scope, ...period, bucket: 'week' } }),
      atRisk: () => api.get<AtRiskAnswer>('/stats/at-risk', { query: { ...scope, hours: AT_RISK_HOURS } }),
      activity: () => api.get<ActivityAnswer>('/stats/activity', { query: { ...scope, minutes: 60 } }),
      // the operator table lists every operator (it also fills the operator filter): no operator filter on it
      ...(this.page.room === 'network' ? { operators: () => api.get<UtilisationAnswer<OperatorRow>>('/stats/utilisation', { query: { ...scopeQuery(f, false), ...period, groupBy: 'operator' } }) } : {}),
    };
  }

  /**
   * Reads every part, or only `only` (a live update's parts: see partsTouched). `silent`: a background refresh; the
   * figures on screen stay until the new ones arrive. A read that supersedes one in flight also reads that one's parts.
   */
  async load(silent = false, only?: Set<StatsPart>) {
    const token = ++this.#token;
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = null;
    const carried = this.#pending;
    this.#pending = null;
    let want: Set<StatsPart> | 'all' = only ?? 'all';
    for (const more of [carried, this.#inFlight]) {
      if (want === 'all' || more === null) continue;
      want = more === 'all' ? 'all' : new Set([...want, ...more]);
    }
    this.#inFlight = want;
    this.today = utcDay(Date.now());
    if (silent) this.refreshing = true;
    else {
      this.status = 'loading';
      this.error = null;
    }
    await this.#roomReady;
    if (token !== this.#token) return;
    const reqs = (Object.entries(this.#requests()) as [StatsPart, () => Promise<unknown>][]).filter(([part]) => want === 'all' || want.has(part));
    const results = await Promise.allSettled(reqs.map(([, run]) => run()));
    if (token !== this.#token) return;
    this.#inFlight = null;
    this.refreshing = false;
    if (results.some((r) => r.status === 'rejected' && r.reason instanceof ApiError && r.reason.status === 401)) return;

    if (results.every((r) => r.status === 'rejected')) {
      const first = results[0];
      const msg = first?.status === 'rejected' ? errorMessage(first.reason) : 'Something went wrong.';
      if (silent && this.status === 'ready') this.staleError = msg;
      else {
        this.status = 'error';
        this.error = msg;
      }
      return;
    }
    // the parts not read this time keep their errors (or their absence)
    const errs: Partial<Record<StatsPart, string>> = want === 'all' ? {} : Object.fromEntries(Object.entries(this.partErrors).filter(([p]) => !reqs.some(([r]) => r === p)));
    let asOf = this.asOf;
    reqs.forEach(([part, ], i) => {
      const r = results[i];
      if (r.status === 'rejected') {
        errs[part] = errorMessage(r.reason);
        return;
      }
      (this as unknown as Record<StatsPart, unknown>)[part] = r.value;
      const a = (r.value as { asOf?: string } | undefined)?.asOf;
      if (a && (!asOf || a > asOf)) asOf = a;
    });
    this.partErrors = errs;
    this.asOf = asOf;
    this.staleError = null;
    this.status = 'ready';
    this.error = null;
    this.reads++;
  }

  /** A re-read a moment from now of `parts` (default: all); several updates in a row make one read of their union. */
  schedule(ms = DEBOUNCE_MS, parts?: Set<StatsPart>) {
    this.#pending = !parts || this.#pending === 'all' ? 'all' : new Set([...(this.#pending ?? []), ...parts]);
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      const p = this.#pending;
      this.#pending = null;
      void this.load(this.status === 'ready', p === 'all' || p === null ? undefined : p);
    }, ms);
  }

  /**
   * Keeps the figures fresh while the page is shown: call once while the component initialises
   * (it creates effects). Joins the dashboard room, re-reads on `stats:update`, after a reconnect,
   * and every 30 s while the socket is not live.
   */
  keepFresh() {
    $effect(() => {
      const offs: (() => void)[] = [];
      if (this.page.kind === 'dashboard') {
        const room = this.page.room;
        const watch = live.watch([{ dashboard: room }]);
        this.#roomReady = watch.ready;
        offs.push(watch.release);
        offs.push(
          live.on('stats:update', (e: StatsUpdateEvent) => {
            if (e?.dashboard !== room) return;
            // only what the changed days touch (a booking for next week leaves the last 30 days as they were)
            const ahead = this.aheadDays;
            this.schedule(DEBOUNCE_MS, partsTouched(e.days, { from: this.filters.from, to: this.filters.to, aheadFrom: ahead[0], aheadTo: ahead[ahead.length - 1] }));
          }),
        );
      } else {
        // a forwarder's own bookings: settle / cancel events of its organisation
        const later = () => this.schedule(1500);
        offs.push(live.on('booking:confirmed', later), live.on('booking:cancelled', later));
      }
      // (re)connected and the room joined again: whatever happened meanwhile is read now
      offs.push(live.onSync(() => this.schedule(0)));
      return () => {
        for (const off of offs) off();
        this.dispose();
      };
    });
    // degrade to periodic re-reads while the live connection is away (`paused` changes only when the
    // connection comes or goes, not on every reconnection attempt, so the timer keeps running)
    $effect(() => {
      if (!this.paused) return;
      const t = setInterval(() => void this.load(this.status === 'ready'), POLL_MS);
      return () => clearInterval(t);
    });
  }

  dispose() {
    this.#token++;
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = null;
  }
}
