/**
 * The optimiser's screen (schedulers, issue 13): the last runs (`GET /api/optimisations`) with their figures,
 * "Run now" (`POST /api/optimisations` → 202, queued; a worker solves it), the live progress of the run going
 * on, and the proposals of the selected plan.
 *
 * Live: the page joins the network dashboard room (`{ dashboard: 'network' }`, as the dashboard does), where the
 * worker sends `optimisation:progress` (phase, part of parts, incumbent, bound, gap). When a run reports `done`
 * or `failed` — or one the page does not know yet starts (the 15-minute schedule, a pool change) — the runs are
 * read again. While a run is queued or solving the runs are also re-read every few seconds (the plan is written
 * a moment after the solver's last progress; and without the socket this is the only news).
 *
 * Proposals: the run's own (`proposals` of the answer) when the server gives them; else `GET /api/proposals`
 * (a scheduler sees all) filtered by the run.
 */
import { api, ApiError, errorMessage } from './api';
import { live } from './live.svelte';
import type { Optimisation, OptimisationProgressEvent, Proposal } from './types';
import { isActive } from './pool-data';
import { DepartureInfo } from './pool.svelte';

export * from './pool-data';

/** re-read period of the runs while one is queued or solving */
export const ACTIVE_POLL_MS = 2_500;
const RUNS = 12;

/** A run as the list answers it (`proposals` when the server includes them). */
export type Run = Optimisation & { proposals?: Proposal[] };

export class OptimiserState {
  runs = $state<Run[]>([]);
  /** `GET /api/proposals`, read only when the runs come without their proposals */
  allProposals = $state<Proposal[] | null>(null);
  status = $state<'loading' | 'ready' | 'error'>('loading');
  error = $state<string | null>(null);
  staleError = $state<string | null>(null);
  refreshing = $state(false);
  reads = $state(0);
  /** the latest progress of each run (live) */
  progress = $state<Record<string, OptimisationProgressEvent>>({});
  /** the run whose proposals are shown; null: the newest finished one */
  chosenId = $state<string | null>(null);
  starting = $state(false);
  runError = $state<string | null>(null);
  /** the network room could not be joined: progress comes only from re-reads */
  notLive = $state(false);
  readonly departures = new DepartureInfo();

  /** the run going on: the one solving, else the newest queued */
  active: Run | null = $derived(this.runs.find((r) => r.status === 'solving') ?? this.runs.find(isActive) ?? null);
  activeProgress: OptimisationProgressEvent | null = $derived(this.active ? (this.progress[this.active.id] ?? null) : null);
  /** a run waits for a worker: another "Run now" would add nothing (the queued one sees every change) */
  queued = $derived(this.runs.some((r) => r.status === 'queued'));
  /** the run the last "Run now" queued */
  startedId = $state<string | null>(null);
  /** the newest run that wrote a plan */
  latestDone: Run | null = $derived(this.runs.find((r) => r.status === 'done') ?? null);
  selected: Run | null = $derived((this.chosenId ? this.runs.find((r) => r.id === this.chosenId) : null) ?? this.latestDone);
  selectedProposals: Proposal[] = $derived.by(() => {
    const r = this.selected;
    if (!r) return [];
    if (Array.isArray(r.proposals)) return r.proposals;
    return (this.allProposals ?? []).filter((p) => p.optimisationId === r.id);
  });

  #token = 0;
  #fetchStartedAt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #disposed = false;

  async load(silent = false) {
    const token = ++this.#token;
    if (silent && this.status === 'ready') this.refreshing = true;
    else if (!silent) {
      this.status = 'loading';
      this.error = null;
    }
    try {
      this.#fetchStartedAt = Date.now();
      const runs = await api.get<Run[]>('/optimisations', { query: { limit: RUNS } });
      const needAll = runs.some((r) => r.status === 'done' && !Array.isArray(r.proposals));
      const all = needAll ? await api.get<Proposal[]>('/proposals') : null;
      if (token !== this.#token) return;
      this.runs = runs;
      this.allProposals = all;
      this.status = 'ready';
      this.staleError = null;
      this.reads++;
      // a run that ended: its last progress is history
      for (const r of runs) if (!isActive(r) && this.progress[r.id] && !['done', 'failed'].includes(this.progress[r.id].phase)) delete this.progress[r.id];
      this.#resolveDepartures();
    } catch (e) {
      if (token !== this.#token) return;
      if (e instanceof ApiError && e.status === 401) return;
      if (this.status === 'ready') this.staleError = errorMessage(e);
      else {
        this.status = 'error';
        this.error = errorMessage(e);
      }
    } finally {
      if (token === this.#token) this.refreshing = false;
      this.#schedule();
    }
  }

  #resolveDepartures() {
    // a merge's target too: it showed as a bare id unless it happened to be a shipment's leg as well
    const ids = this.selectedProposals.flatMap((p) => [
      ...p.legs.map((l) => l.departureId),
      ...(p.departureId ? [p.departureId] : []),
      ...(p.mergeIntoDepartureId ? [p.mergeIntoDepartureId] : []),
    ]);
    void this.departures.ensure(ids);
  }

  select(id: string) {
    this.chosenId = id;
    this.#resolveDepartures();
  }

  /** "Run now": queued at once (202); a worker solves it. */
  async runNow(): Promise<boolean> {
    if (this.starting) return false;
    this.starting = true;
    this.runError = null;
    try {
      const r = await api.post<Run>('/optimisations', {});
      if (r?.id && !this.runs.some((x) => x.id === r.id)) this.runs = [r, ...this.runs];
      if (r?.id) {
        this.startedId = r.id;
        this.chosenId = null;
      }
      this.#schedule();
      return true;
    } catch (e) {
      this.runError = errorMessage(e);
      return false;
    } finally {
      this.starting = false;
    }
  }

  /** While a run is going on: read the runs again in a while. */
  #schedule() {
    if (this.#disposed || this.#timer || !this.runs.some(isActive)) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#disposed) void this.load(true);
    }, ACTIVE_POLL_MS);
  }

  /** In a page's `$effect`: joins the network room, follows the progress; the teardown leaves. */
  keepLive(): () => void {
    this.#disposed = false;
    const watch = live.watch([{ dashboard: 'network' }]);
    void watch.ready.then(() => {
      if (!this.#disposed && live.connected === false) this.notLive = true;
    });
    const offProgress = live.on('optimisation:progress', (e: OptimisationProgressEvent) => {
      if (!e?.optimisationId || typeof e.phase !== 'string') return;
      this.progress[e.optimisationId] = e;
      const known = this.runs.find((r) => r.id === e.optimisationId);
      if (!known || e.phase === 'done' || e.phase === 'failed' || (known.status === 'queued' && e.phase !== 'loading')) void this.load(true);
    });
    const offSync = live.onSync(() => {
      this.notLive = false;
      if (this.#fetchStartedAt < live.lastSyncAt) void this.load(true);
    });
    return () => {
      this.#disposed = true;
      offProgress();
      offSync();
      watch.release();
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      this.#token++;
    };
  }
}
