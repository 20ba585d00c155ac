/**
 * Pulls into the batch being run the items of its key, still waiting, that `accept` takes (in arrival order, up to
 * the batch's maximum); they are answered with the batch, after its own items. Called by a run that waited for
 * something (a lock) during which more items came: they go now instead of in a batch of their own after it.
 */
export type TakeLate<I> = (accept: (item: I) => boolean) => I[];

/**
 * Group commit per key: while one batch for a key is being committed, new items for that key wait and go
 * together in the next batch. There is no timer: a batch starts once the items that came in the same turn of
 * the event loop are in (a lone item goes at once), so batching only appears under load, exactly when it pays.
 * Items of different keys never wait for each other. Each item still gets its own answer (or error) only after
 * the batch that carried it has committed.
 */
export class KeyedBatcher<I, R> {
  private readonly pending = new Map<string, { item: I; resolve: (r: R) => void; reject: (e: unknown) => void }[]>();
  private readonly running = new Set<string>();

  /**
   * `run` gets the items of one batch and answers each one, in order: a result or an Error to throw. It may take
   * late items in with `takeLate` (see {@link TakeLate}) and then answers those too, after the others.
   */
  constructor(
    private readonly run: (key: string, items: I[], takeLate: TakeLate<I>) => Promise<(R | Error)[]>,
    private readonly maxBatch = 200,
  ) {}

  submit(key: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const q = this.pending.get(key) ?? [];
      q.push({ item, resolve, reject });
      this.pending.set(key, q);
      if (this.running.has(key)) return;
      this.running.add(key);
      setImmediate(() => void this.drain(key));
    });
  }

  private async drain(key: string) {
    try {
      for (;;) {
        const q = this.pending.get(key);
        if (!q || q.length === 0) break;
        const batch = q.splice(0, this.maxBatch);
        const takeLate: TakeLate<I> = (accept) => {
          const waiting = this.pending.get(key) ?? [];
          const taken: I[] = [];
          for (let i = 0; i < waiting.length && batch.length < this.maxBatch; ) {
            if (accept(waiting[i]!.item)) {
              const [w] = waiting.splice(i, 1);
              batch.push(w!);
              taken.push(w!.item);
            } else i++;
          }
          return taken;
        };
        try {
          const out = await this.run(key, batch.map((w) => w.item), takeLate);
          batch.forEach((w, i) => {
            const r = out[i];
            if (r instanceof Error) w.reject(r);
            else if (r === undefined) w.reject(new Error('batch answered fewer items than it was given'));
            else w.resolve(r);
          });
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.running.delete(key);
      if (this.pending.get(key)?.length === 0) this.pending.delete(key);
    }
  }
}
