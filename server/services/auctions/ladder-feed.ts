import type { LiveEvent, EventSink } from '../../adapters/realtime/events.ts';

/** A listing's book as a batch committed it: what its live ladder is rendered from, later. */
export interface CommittedBook {
  listingId: string;
  /** The book's newest seq at the commit: the book object has moved on (a later batch is deciding on it) when it differs. */
  seq: number;
  /** The book's current newest seq (the book object is the cache's: a later batch changes it in place). */
  currentSeq(): number;
  /** The `listing:update` of the book as committed; only called while `currentSeq() === seq`. */
  render(): LiveEvent;
}

/**
 * The live ladders of the listings bid on in this process, conflated per listing (issue 16). A ladder is a walk of
 * the book's winners and a payload of the same size, and a state: watchers only need the newest. So a batch's
 * commit no longer renders it; it leaves at once when the listing's last one left at least `intervalMs` ago, else
 * the newest committed state leaves when that window ends — rendered then, from the cached book, while the book is
 * still as committed. When a later batch has the book (changed in place, not yet committed), nothing is sent: that
 * batch's commit sends its own state (`committed`), its failure sends the stored one (`failed`, read again from
 * Postgres by `reload`). So a hot listing renders ≤ 1000 / intervalMs ladders a second per process however many
 * batches commit, and the last committed state always leaves.
 */
export class LadderFeed {
  private readonly pending = new Map<string, CommittedBook>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly last = new Map<string, number>();

  constructor(
    private readonly sink: EventSink,
    /** The stored ladder of a listing, read again (after a failed batch); undefined when it is no auction any more. */
    private readonly reload: (listingId: string) => Promise<LiveEvent | undefined>,
    private readonly intervalMs = 100,
  ) {}

  /** After the commit of a batch that changed these books. */
  committed(books: CommittedBook[]): void {
    const now = Date.now();
    const out: LiveEvent[] = [];
    for (const c of books) {
      this.pending.set(c.listingId, c);
      if (this.timers.has(c.listingId)) continue; // the window's end sends the newest
      const since = now - (this.last.get(c.listingId) ?? 0);
      if (since >= this.intervalMs) {
        const e = this.take(c.listingId, now);
        if (e) out.push(e);
        continue;
      }
      const t = setTimeout(() => {
        this.timers.delete(c.listingId);
        const e = this.take(c.listingId, Date.now());
        if (e) void this.sink.emit([e]).catch(() => {});
      }, this.intervalMs - since);
      t.unref();
      this.timers.set(c.listingId, t);
    }
    this.forget(now);
    if (out.length) void this.sink.emit(out).catch(() => {});
  }

  /** After a batch on these listings failed: a state held back because that batch had the book leaves now, read again. */
  async failed(listingIds: string[]): Promise<void> {
    const out: LiveEvent[] = [];
    for (const id of new Set(listingIds)) {
      const c = this.pending.get(id);
      if (!c || c.currentSeq() === c.seq) continue; // nothing held back: the book is as committed (its timer sends it)
      clearTimeout(this.timers.get(id));
      this.timers.delete(id);
      this.pending.delete(id);
      const e = await this.reload(id).catch(() => undefined);
      if (e) out.push(e);
      this.last.set(id, Date.now());
    }
    if (out.length) await this.sink.emit(out).catch(() => {});
  }

  /** Sends every state still waiting for its window (on shutdown, before the sink's own flush). */
  async flush(): Promise<void> {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    const out: LiveEvent[] = [];
    for (const id of [...this.pending.keys()]) {
      const e = this.take(id, Date.now()) ?? (await this.reload(id).catch(() => undefined));
      this.pending.delete(id);
      if (e) out.push(e);
    }
    if (out.length) await this.sink.emit(out).catch(() => {});
  }

  /** The listing's waiting state rendered, when its book is still as committed (else it stays, see `failed`). */
  private take(id: string, now: number): LiveEvent | undefined {
    const c = this.pending.get(id);
    if (!c || c.currentSeq() !== c.seq) return undefined;
    this.pending.delete(id);
    this.last.set(id, now);
    return c.render();
  }

  private forget(now: number) {
    if (this.last.size <= 10_000) return;
    for (const [id, t] of this.last) if (now - t > 10_000 && !this.pending.has(id)) this.last.delete(id);
  }
}
