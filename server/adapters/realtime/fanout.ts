import type { LiveEvent } from './events.ts';

/** The part of Socket.IO the fan-out needs: room sizes, a local (this process only) broadcast, the budget. */
export interface LocalRooms {
  size(room: string): number;
  emit(rooms: string[], event: string, payload: unknown): void;
  /** Deliveries (one event to one socket) this process may send per second now; may change with load. */
  budgetPerSec(): number;
}

export interface FanoutOptions {
  /** A coalesced key is sent at most once per this many ms. */
  minIntervalMs: number;
  /** How often waiting updates are looked at. */
  tickMs: number;
}

export const defaultFanoutOptions: FanoutOptions = { minIntervalMs: 100, tickMs: 25 };

/**
 * The delivery budget of a server: `framesPerSocket` updates a second for each connected socket while it
 * has room, falling linearly to `busyFramesPerSocket` as `pressure` goes from 0 to 1 — people trading come
 * before people watching. Never below `floor` a second.
 */
export function liveBudget(sockets: number, pressure: number, o: { framesPerSocket: number; busyFramesPerSocket: number; floor: number }) {
  const p = Math.min(1, Math.max(0, pressure));
  const perSocket = o.framesPerSocket - (o.framesPerSocket - o.busyFramesPerSocket) * p;
  return Math.max(o.floor, Math.round(sockets * perSocket));
}

/**
 * How hard a server is pressed, 0..1: the larger of its event-loop utilisation between 80 % and 95 %, and
 * its rate of trading requests (holds, bids, confirmations…) between 25 and 100 a second.
 */
export function pressure(loopUtilisation: number, tradesPerSec: number) {
  const clamp = (x: number) => Math.min(1, Math.max(0, x));
  return Math.max(clamp((loopUtilisation - 0.8) / 0.15), clamp((tradesPerSec - 25) / 75));
}

type Waiting = { rooms: string[]; event: string; payload: unknown };

/**
 * Delivers live events to the sockets of this process, within a delivery budget.
 *
 * Every server reads every live event (from any server or worker) and hands it here. Events without a
 * `coalesceKey` (bookings, expiries, closes) go out at once, always. Events with one (availability, listing
 * updates) carry the full latest state, so when many arrive for the same key only the newest matters:
 * a key is sent at most once per `minIntervalMs`, and only while the token bucket (deliveries per second,
 * a second's worth of burst) allows; otherwise the newest value waits — oldest waiting key first — and
 * replaces whatever was waiting before it. Nothing is ever lost except superseded states, and the last
 * state of every key is always delivered. This keeps the cost of watchers bounded, so 5,000 people
 * watching a corridor cannot starve the accept path of the people trading on it.
 */
export class LocalFanout {
  private tokens: number;
  private budget: number;
  private lastRefill: number;
  private readonly lastSent = new Map<string, number>();
  private readonly waiting = new Map<string, Waiting>();
  /** Highest version seen per key: an older state arriving late (from another process) is dropped. */
  private readonly newest = new Map<string, number>();
  /** Keys whose next frame stands for several states (some were superseded). */
  private readonly skipped = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** Counters for /health and the benchmark. */
  readonly stats = { sent: 0, superseded: 0, deliveries: 0 };

  constructor(
    private readonly rooms: LocalRooms,
    private readonly opts: FanoutOptions = defaultFanoutOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.budget = rooms.budgetPerSec();
    this.tokens = this.budget;
    this.lastRefill = clock();
  }

  /** Refills the bucket at the current budget; it holds at most one second's worth. */
  private refill(now: number) {
    this.budget = this.rooms.budgetPerSec();
    this.tokens = Math.min(this.budget, this.tokens + ((now - this.lastRefill) * this.budget) / 1000);
    this.lastRefill = now;
  }

  private cost(rooms: string[]) {
    let n = 0;
    for (const r of rooms) n += this.rooms.size(r);
    return n;
  }

  private send(rooms: string[], event: string, payload: unknown, cost: number) {
    this.tokens -= cost;
    this.stats.sent++;
    this.stats.deliveries += cost;
    this.rooms.emit(rooms, event, payload);
  }

  /** May this coalesced update go now? A send larger than the whole bucket goes when the bucket is full. */
  private affordable(cost: number) {
    return cost <= this.tokens || this.tokens >= this.budget;
  }

  deliver(events: LiveEvent[]) {
    const now = this.clock();
    this.refill(now);
    for (const e of events) {
      if (e.rooms.length === 0) continue;
      const cost = this.cost(e.rooms);
      if (!e.coalesceKey) {
        if (cost > 0) this.send(e.rooms, e.event, e.payload, cost);
        continue;
      }
      const key = e.coalesceKey;
      if (e.version !== undefined) {
        if (e.version <= (this.newest.get(key) ?? -Infinity)) {
          this.stats.superseded++;
          continue;
        }
        if (this.newest.size >= 100_000) this.newest.clear(); // bounded; clients ignore stale seqs anyway
        this.newest.set(key, e.version);
      }
      if (cost === 0) {
        // nobody here watches it: nothing to send, and nothing older may be sent later either
        if (this.waiting.delete(key)) this.stats.superseded++;
        continue;
      }
      const free = !this.waiting.has(key) && now - (this.lastSent.get(key) ?? -Infinity) >= this.opts.minIntervalMs;
      if (free && this.affordable(cost)) {
        this.lastSent.set(key, now);
        this.send(e.rooms, e.event, this.mark(key, e.payload), cost);
        continue;
      }
      if (this.waiting.has(key)) {
        this.stats.superseded++;
        this.skipped.add(key);
      }
      // keep the key's place in line (oldest waiting first); only its value is replaced
      this.waiting.set(key, { rooms: e.rooms, event: e.event, payload: e.payload });
      this.arm();
    }
  }

  private arm() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
    }, this.opts.tickMs);
    this.timer.unref();
  }

  /** Sends waiting updates the interval and the budget allow; re-arms while any wait. */
  tick() {
    const now = this.clock();
    this.refill(now);
    for (const [key, w] of this.waiting) {
      if (now - (this.lastSent.get(key) ?? -Infinity) < this.opts.minIntervalMs) continue;
      const cost = this.cost(w.rooms);
      if (cost === 0) {
        this.waiting.delete(key);
        continue;
      }
      if (!this.affordable(cost)) break; // budget spent: the rest keep their place for the next tick
      this.waiting.delete(key);
      this.lastSent.set(key, now);
      this.send(w.rooms, w.event, this.mark(key, w.payload), cost);
    }
    if (this.lastSent.size > 100_000) {
      for (const [k, t] of this.lastSent) {
        if (now - t > 10_000 && !this.waiting.has(k)) {
          this.lastSent.delete(k);
          this.newest.delete(k);
        }
      }
    }
    if (this.waiting.size > 0) this.arm();
  }

  /** A frame that stands for several states says so (`coalesced: true`): clients need not re-read. */
  private mark(key: string, payload: unknown) {
    if (!this.skipped.delete(key) || !payload || typeof payload !== 'object' || Array.isArray(payload)) return payload;
    return { ...(payload as Record<string, unknown>), coalesced: true };
  }

  /** Sends everything still waiting, whatever the budget (on shutdown). */
  flush() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [key, w] of this.waiting) this.send(w.rooms, w.event, this.mark(key, w.payload), this.cost(w.rooms));
    this.waiting.clear();
  }

  get waitingCount() {
    return this.waiting.size;
  }
}
