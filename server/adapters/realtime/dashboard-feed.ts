import type { Server } from 'socket.io';
import type { DepartureKey } from '../db/dashboard-repo.ts';
import { rooms, type LiveEvent } from './events.ts';

/** `stats:update`: what changed since the room's previous update; clients re-read the figures they show. */
export interface StatsUpdate {
  dashboard: 'network' | 'operator';
  /** When this update was sent: every change it stands for was committed before then. */
  asOf: string;
  departureIds: string[];
  corridorIds: string[];
  /** Departure days (YYYY-MM-DD, UTC) the changes fall on. */
  days: string[];
  /** More departures changed than an update lists (a burst): re-read everything shown. */
  truncated?: true;
}

/** The part of Socket.IO the feed needs: the dashboard rooms with a socket of this process, a local emit. */
export interface DashboardRooms {
  watched(): string[];
  emit(room: string, event: string, payload: unknown): void;
}

const OPERATOR_ROOM = rooms.operatorDashboard('');

/** DashboardRooms over a Socket.IO server (its in-memory room table holds this process's sockets only). */
export function dashboardRooms(io: Server): DashboardRooms {
  return {
    watched() {
      const out: string[] = [];
      for (const [name, members] of io.sockets.adapter.rooms) if (members.size > 0 && name.startsWith('dashboard:')) out.push(name);
      return out;
    },
    emit: (room, event, payload) => void io.local.to(room).emit(event, payload),
  };
}

/**
 * The departure whose figures an event changes, with its corridor when the event names it. Availability
 * (holds placed, released, expired; cancellations; auction closes) and confirmed bookings (held → booked)
 * cover every change of the figures on the trading path: `listing:closed` and `hold:expired` always come
 * with an availability event of the same departure.
 */
export function changedDeparture(e: LiveEvent): { departureId: string; corridorId?: string } | null {
  if (e.event !== 'departure:availability' && e.event !== 'booking:confirmed') return null;
  const id = (e.payload as { departureId?: unknown } | null)?.departureId;
  if (typeof id !== 'string') return null;
  const corridorRoom = e.rooms.find((r) => r.startsWith('corridor:'));
  return corridorRoom ? { departureId: id, corridorId: corridorRoom.slice('corridor:'.length) } : { departureId: id };
}

export interface DashboardFeedOptions {
  /** A room gets at most one update per this many ms (STATS_PUSH_MS). */
  intervalMs: number;
  /** Departures one update lists at most; beyond, the update says `truncated`. */
  maxDepartures?: number;
  /** Departure keys remembered (they never change). */
  cacheSize?: number;
  clock?: () => number;
  log?: { warn(obj: object, msg: string): void };
}

/**
 * Dashboard rooms of this server (`dashboard:network`, `dashboard:operator:<org>`): every server reads every
 * live event (StreamRelay) and hands it here as well as to the fan-out; the feed collects which departures
 * changed and, at most once every `intervalMs`, tells each watched room what changed — the network room
 * everything, an operator's room only its own departures (a room none of whose departures changed gets
 * nothing). The first change after a quiet interval goes out at once; later ones wait for the interval and
 * are merged. Corridor, operator and day of a departure come from `resolve` (one query per update for the
 * departures not seen before; they never change, so they are cached). Nothing is done while nobody here
 * watches a dashboard.
 */
export class DashboardFeed {
  /** Changed departures since the last update, with a corridor when an event named it. */
  private pending = new Map<string, string | undefined>();
  private overflow = false;
  private readonly keys = new Map<string, DepartureKey>();
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  private closed = false;
  private lastSent = -Infinity;
  private readonly maxDepartures: number;
  private readonly cacheSize: number;
  private readonly clock: () => number;
  /** Counters for tests and the benchmark. */
  readonly stats = { updates: 0, lookups: 0, lookupFailures: 0 };

  constructor(
    private readonly rooms: DashboardRooms,
    private readonly resolve: (ids: string[]) => Promise<DepartureKey[]>,
    private readonly opts: DashboardFeedOptions,
  ) {
    this.maxDepartures = opts.maxDepartures ?? 1000;
    this.cacheSize = opts.cacheSize ?? 50_000;
    this.clock = opts.clock ?? Date.now;
  }

  observe(events: readonly LiveEvent[]): void {
    if (this.closed) return;
    for (const e of events) {
      const c = changedDeparture(e);
      if (!c) continue;
      if (!this.pending.has(c.departureId) && this.pending.size >= this.maxDepartures) {
        this.overflow = true;
        continue;
      }
      this.pending.set(c.departureId, c.corridorId ?? this.pending.get(c.departureId));
    }
    if (this.pending.size > 0 || this.overflow) this.arm();
  }

  private arm() {
    if (this.timer || this.flushing || this.closed) return;
    const delay = Math.max(0, this.lastSent + this.opts.intervalMs - this.clock());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delay);
    this.timer.unref();
  }

  /** Sends one update to each watched room that a pending change concerns. */
  async flush(): Promise<void> {
    if (this.flushing || this.closed) return;
    const watched = this.rooms.watched();
    const batch = this.pending;
    const overflow = this.overflow;
    this.pending = new Map();
    this.overflow = false;
    if (watched.length === 0 || (batch.size === 0 && !overflow)) return; // nobody here to tell
    this.flushing = true;
    try {
      const keys = await this.keysOf([...batch.keys()]);
      if (this.closed) return;
      const asOf = new Date(this.clock()).toISOString();
      for (const room of watched) {
        let update: StatsUpdate | null = null;
        if (room === rooms.networkDashboard()) {
          const corridors = new Set<string>();
          for (const [id, hint] of batch) {
            const k = keys.get(id);
            if (k) corridors.add(k.corridorId);
            else if (hint) corridors.add(hint);
          }
          update = this.update('network', asOf, [...batch.keys()], corridors, keys, overflow);
        } else if (room.startsWith(OPERATOR_ROOM)) {
          const org = room.slice(OPERATOR_ROOM.length);
          // a departure that could not be resolved (database away) is not attributed to any operator
          const mine = [...batch.keys()].filter((id) => keys.get(id)?.operatorOrgId === org);
          if (mine.length === 0 && !overflow) continue;
          update = this.update('operator', asOf, mine, new Set(mine.map((id) => keys.get(id)!.corridorId)), keys, overflow);
        }
        if (!update) continue;
        this.rooms.emit(room, 'stats:update', update);
        this.stats.updates++;
      }
      this.lastSent = this.clock();
    } finally {
      this.flushing = false;
      if (this.pending.size > 0 || this.overflow) this.arm();
    }
  }

  private update(dashboard: StatsUpdate['dashboard'], asOf: string, ids: string[], corridors: Set<string>, keys: Map<string, DepartureKey>, truncated: boolean): StatsUpdate {
    const days = new Set<string>();
    for (const id of ids) {
      const d = keys.get(id)?.day;
      if (d) days.add(d);
    }
    return {
      dashboard,
      asOf,
      departureIds: ids.sort(),
      corridorIds: [...corridors].sort(),
      days: [...days].sort(),
      ...(truncated ? { truncated: true as const } : {}),
    };
  }

  /** The keys of these departures: from the cache, the rest in one look-up (unknown ids stay unknown). */
  private async keysOf(ids: string[]): Promise<Map<string, DepartureKey>> {
    const out = new Map<string, DepartureKey>();
    const missing: string[] = [];
    for (const id of ids) {
      const k = this.keys.get(id);
      if (k) out.set(id, k);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    try {
      this.stats.lookups++;
      for (const k of await this.resolve(missing)) {
        out.set(k.id, k);
        this.keys.set(k.id, k);
      }
      // oldest first out (insertion order); what is evicted is simply looked up again
      for (const id of this.keys.keys()) {
        if (this.keys.size <= this.cacheSize) break;
        this.keys.delete(id);
      }
    } catch (err) {
      this.stats.lookupFailures++;
      this.opts.log?.warn({ err: (err as Error).message }, 'dashboard feed: departure look-up failed; update sent without it');
    }
    return out;
  }

  /** Stops the feed; nothing more is sent. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
