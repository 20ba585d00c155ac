import type { EventSink, LiveEvent } from './events.ts';

/**
 * Coalesces events at their source before they are published: events with a `coalesceKey` carry the
 * whole latest state, so a key is passed on at most once per `intervalMs` (the first at once, then the
 * newest after the interval — last value wins). Events without a key pass straight through.
 * Keeps a hot departure from writing hundreds of stream entries a second that every server must read.
 */
export class CoalescingSink implements EventSink {
  private readonly last = new Map<string, number>();
  private readonly pending = new Map<string, LiveEvent>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly newest = new Map<string, number>();

  constructor(private readonly inner: EventSink, private readonly intervalMs = 100) {}

  async emit(events: LiveEvent[]): Promise<void> {
    const now = Date.now();
    const out: LiveEvent[] = [];
    for (const e of events) {
      const key = e.coalesceKey;
      if (!key) {
        out.push(e);
        continue;
      }
      if (e.version !== undefined) {
        if (e.version <= (this.newest.get(key) ?? -Infinity)) continue; // an older state, committed earlier, told later
        this.newest.set(key, e.version);
      }
      const since = now - (this.last.get(key) ?? 0);
      if (since >= this.intervalMs && !this.timers.has(key)) {
        this.last.set(key, now);
        out.push(e);
        continue;
      }
      const replaced = this.pending.get(key);
      this.pending.set(key, replaced ? markCoalesced(e) : e);
      if (this.timers.has(key)) continue;
      const t = setTimeout(() => {
        this.timers.delete(key);
        const p = this.pending.get(key);
        this.pending.delete(key);
        if (!p) return;
        this.last.set(key, Date.now());
        void this.inner.emit([p]).catch(() => {});
      }, this.intervalMs - since);
      t.unref();
      this.timers.set(key, t);
    }
    if (this.last.size > 50_000) {
      for (const [k, t] of this.last) {
        if (now - t > 10_000 && !this.pending.has(k)) {
          this.last.delete(k);
          this.newest.delete(k);
        }
      }
    }
    if (out.length) await this.inner.emit(out);
  }

  /** Publishes whatever is still waiting (on shutdown). */
  async flush(): Promise<void> {
    const rest = [...this.pending.values()];
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.pending.clear();
    if (rest.length) await this.inner.emit(rest).catch(() => {});
  }
}

/** Marks an event that stands for several states (`coalesced: true` in its payload). */
function markCoalesced(e: LiveEvent): LiveEvent {
  if (!e.payload || typeof e.payload !== 'object' || Array.isArray(e.payload)) return e;
  return { ...e, payload: { ...(e.payload as Record<string, unknown>), coalesced: true } };
}
