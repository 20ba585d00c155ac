/** Departures board state: filters → list, grouped by corridor, kept live by availability events. */
import { api } from './api';
import { LoadState } from './load-state.svelte';
import { live } from './live.svelte';
import { refdata } from './refdata.svelte';
import { utcDayBounds } from './format';
import type { AvailabilityEvent, Corridor, Departure, Mode, Room } from './types';
import { applyAvailability } from './availability';
import { followFreeTeu } from './on-sale';

export { applyAvailability };

/**
 * After a change of availability, the whole board is read again within this time (one request, silent), so what is
 * ON SALE becomes exact: a frame carries free capacity only, and a listing opened, closed or sold out moves no frame.
 */
export const ON_SALE_REFRESH_MS = 10_000;
/** How long the board's first read waits for its corridor rooms to be joined (see load). */
const JOIN_WAIT_MS = 700;
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Merge a freshly read departure into the one shown, unless the shown one is newer. Returns true if availability changed. */
export function mergeFresh(dep: Departure, fresh: Departure): boolean {
  if (typeof dep.seq === 'number' && typeof fresh.seq === 'number' && fresh.seq < dep.seq) return false;
  const changed = dep.freeTeu !== fresh.freeTeu || dep.freeTonnes !== fresh.freeTonnes;
  for (const k of Object.keys(fresh) as (keyof Departure)[]) {
    if (k === 'listings' && !('listings' in dep)) continue;
    (dep as Record<keyof Departure, unknown>)[k] = fresh[k];
  }
  return changed;
}



export interface BoardFilters {
  from: string;
  to: string;
  mode: '' | Mode;
  date: string;
}

export interface CorridorGroup {
  corridorId: string;
  corridor: Corridor | undefined;
  /** "DEDUI-ITBLQ" */
  key: string;
  mode: Mode;
  title: string;
  departures: Departure[];
}

export class Flash {
  ids = $state<Record<string, number>>({});
  #n = 0;
  mark(id: string, ms = 1800) {
    const token = ++this.#n;
    this.ids[id] = token;
    setTimeout(() => {
      if (this.ids[id] === token) delete this.ids[id];
    }, ms);
  }
  has(id: string) {
    return id in this.ids;
  }
}

export class DeparturesBoard extends LoadState {
  departures = $state<Departure[]>([]);
  /** the server has more departures than one page for these filters (it names a next page): the board says so */
  more = $state(false);
  flash = new Flash();

  #filters: BoardFilters | null = null;
  #rooms: { release: () => void } | null = null;
  #extraRooms: { release: () => void } | null = null;
  #gapReads = new Set<string>();
  #onSaleTimer: ReturnType<typeof setTimeout> | null = null;

  groups: CorridorGroup[] = $derived.by(() => {
    const byId = new Map<string, CorridorGroup>();
    const out: CorridorGroup[] = [];
    for (const d of this.departures) {
      let g = byId.get(d.corridorId);
      if (!g) {
        const corridor = refdata.corridorById.get(d.corridorId);
        const codes = corridor ? refdata.corridorCodes(corridor) : { from: d.origin, to: d.destination };
        g = {
          corridorId: d.corridorId,
          corridor,
          key: `${codes.from}-${codes.to}`,
          mode: corridor?.mode ?? d.mode,
          title: corridor
            ? refdata.corridorTitle(corridor)
            : `${refdata.clusterName(d.origin)} → ${refdata.clusterName(d.destination)} · ${d.mode}`,
          departures: [],
        };
        byId.set(d.corridorId, g);
        out.push(g);
      }
      g.departures.push(d);
    }
    return out;
  });

  get filters() {
    return this.#filters;
  }

  /** Corridors that can appear on the board for these filters. */
  static matchingCorridors(f: BoardFilters): Corridor[] {
    return refdata.corridors.filter((c) => {
      const codes = refdata.corridorCodes(c);
      return (!f.from || codes.from === f.from) && (!f.to || codes.to === f.to) && (!f.mode || c.mode === f.mode);
    });
  }

  load(filters: BoardFilters, { silent = false } = {}) {
    this.#filters = filters;
    return this.run(async (current) => {
      let watch: { ready: Promise<void>; release: () => void } | null = null;
      try {
        await refdata.ensure();
        if (!current()) return;
        // join the corridor rooms first so that no change between the read and the join is missed — but a busy server
        // acknowledged 28 joins in 5 s and the board stayed blank: after JOIN_WAIT_MS the read goes ahead, and once the
        // joins are acknowledged the board is read again (silently), which covers what changed in between
        const rooms: Room[] = DeparturesBoard.matchingCorridors(filters).map((c) => ({ corridorId: c.id }));
        watch = live.watch(rooms);
        const joined = watch.ready;
        const inTime = await Promise.race([joined.then(() => true), delay(JOIN_WAIT_MS).then(() => false)]);
        if (!current()) return;

        const bounds = filters.date ? utcDayBounds(filters.date) : null;
        this.started();
        let next: string | null = null;
        const list = await api.get<Departure[]>('/departures', {
          onHeaders: (h) => (next = h.get('x-next-cursor')),
          query: {
            from: filters.from,
            to: filters.to,
            mode: filters.mode,
            after: bounds?.after,
            before: bounds?.before,
          },
        });
        if (!current()) return;
        this.more = next !== null;

        this.#rooms?.release();
        this.#rooms = watch;
        watch = null;
        if (!inTime) {
          const rooms = this.#rooms;
          void joined.then(() => {
            if (this.#rooms === rooms && this.#filters === filters) void this.load(filters, { silent: true });
          });
        }

        // corridors on the board that reference data did not know about
        const known = new Set(rooms.map((r) => (r as { corridorId: string }).corridorId));
        const extra = [...new Set(list.map((d) => d.corridorId))].filter((id) => !known.has(id));
        this.#extraRooms?.release();
        this.#extraRooms = extra.length ? live.watch(extra.map((corridorId) => ({ corridorId }))) : null;

        if (silent) this.#mergeList(list);
        else this.departures = sortByDeparture(list);
      } finally {
        watch?.release(); // rooms of a read that did not land
      }
    }, { silent });
  }

  retry() {
    if (this.#filters) void this.load(this.#filters);
  }

  /** the live connection (re)joined its rooms: re-read anything that may have been missed */
  onSync() {
    if (!this.#filters) return;
    if (this.status === 'error') return void this.load(this.#filters);
    if (this.status === 'ready' && this.readBefore(live.lastSyncAt)) void this.load(this.#filters, { silent: true });
  }

  applyEvent(e: AvailabilityEvent) {
    const dep = this.departures.find((d) => d.id === e?.departureId);
    if (!dep) return;
    const before = [dep.freeTeu, dep.freeTonnes];
    const r = applyAvailability(dep, e);
    if (r === 'stale') return;
    if (before[0] !== dep.freeTeu || before[1] !== dep.freeTonnes) this.flash.mark(dep.id);
    if (before[0] !== dep.freeTeu && dep.onSale) {
      followFreeTeu(dep.onSale, dep.freeTeu - before[0], dep.freeTeu);
      this.#refreshOnSaleSoon();
    }
    if (r === 'gap') void this.#reread(dep.id);
  }

  /** one silent re-read of the board a few seconds after changes (see ON_SALE_REFRESH_MS), however many there were */
  #refreshOnSaleSoon() {
    if (this.#onSaleTimer) return;
    this.#onSaleTimer = setTimeout(() => {
      this.#onSaleTimer = null;
      if (this.#filters && this.status === 'ready') void this.load(this.#filters, { silent: true });
    }, ON_SALE_REFRESH_MS);
  }

  async #reread(id: string) {
    if (this.#gapReads.has(id)) return;
    this.#gapReads.add(id);
    try {
      const fresh = await api.get<Departure>(`/departures/${encodeURIComponent(id)}`);
      const dep = this.departures.find((d) => d.id === id);
      if (dep && mergeFresh(dep, stripListings(fresh))) this.flash.mark(id);
    } catch {
      /* next event or reconnect will fix it */
    } finally {
      this.#gapReads.delete(id);
    }
  }

  #mergeList(list: Departure[]) {
    const cur = new Map(this.departures.map((d) => [d.id, d]));
    const next: Departure[] = [];
    for (const fresh of sortByDeparture(list)) {
      const dep = cur.get(fresh.id);
      if (dep) {
        if (mergeFresh(dep, fresh)) this.flash.mark(dep.id);
        next.push(dep);
      } else next.push(fresh);
    }
    this.departures = next;
  }

  dispose() {
    if (this.#onSaleTimer) clearTimeout(this.#onSaleTimer);
    this.#onSaleTimer = null;
    this.abandon();
    this.#rooms?.release();
    this.#extraRooms?.release();
    this.#rooms = this.#extraRooms = null;
  }
}

function stripListings(d: Departure): Departure {
  const { listings: _l, ...rest } = d;
  return rest;
}

function sortByDeparture(list: Departure[]) {
  return [...list].sort((a, b) => a.departsAt.localeCompare(b.departsAt));
}
