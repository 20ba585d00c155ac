import type { EventSink, LiveEvent } from './events.ts';

/**
 * Conflation of states before they leave the process, as market-data feeds do: an event with a coalescing key goes out
 * at once when its key was not sent in the last `windowMs`; otherwise it waits — replacing any older state of its key
 * — and the newest goes out when the window ends. A listing bid on hundreds of times a second thus writes its ladder
 * to the event stream at most about 1000 / windowMs times a second per process, always ending on the newest state;
 * when bids are rare, each ladder goes out at once. Events without a key pass straight through, in order.
 *
 * `flush()` sends whatever waits (shutdown). Errors of a deferred send are swallowed like every live push (best
 * effort: clients re-read on a seq gap or a resync).
 */
export class ConflatedSink implements EventSink {
  private readonly sentAt = new Map<string, number>();
  private readonly waiting = new Map<string, LiveEvent>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sink: EventSink,
    private readonly windowMs = 50,
    private readonly clock: () => number = Date.now,
  ) {}

  emit(events: LiveEvent[]): Promise<void> {
    const now = this.clock();
    if (this.sentAt.size > 10_000) for (const [k, at] of this.sentAt) if (now - at >= this.windowMs && !this.waiting.has(k)) this.sentAt.delete(k);
    const out: LiveEvent[] = [];
    for (const e of events) {
      const k = e.coalesceKey;
      if (k === undefined) {
        out.push(e);
        continue;
      }
      const at = this.sentAt.get(k);
      if (!this.waiting.has(k) && (at === undefined || now - at >= this.windowMs)) {
        this.sentAt.set(k, now);
        out.push(e);
      } else {
        this.waiting.set(k, e); // a newer state of the key: the older one waiting is superseded
        this.arm();
      }
    }
    return out.length > 0 ? this.sink.emit(out) : Promise.resolve();
  }

  /** Sends every waiting state now. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.clock();
    for (const [k, at] of this.sentAt) if (now - at >= this.windowMs && !this.waiting.has(k)) this.sentAt.delete(k); // bounded
    if (this.waiting.size === 0) return;
    const out = [...this.waiting.values()];
    for (const k of this.waiting.keys()) this.sentAt.set(k, now);
    this.waiting.clear();
    await this.sink.emit(out).catch(() => {});
  }

  private arm() {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.windowMs);
    this.timer.unref();
  }
}
