/**
 * Group commit per key: while one batch for a key is being committed, new items for that key wait and go
 * together in the next batch. There is no timer — a lone item goes at once — so batching only appears
 * under load, exactly when it pays. Items of different keys never wait for each other. Each item still
 * gets its own answer (or error) only after the batch that carried it has committed.
 */
export class KeyedBatcher<I, R> {
  private readonly pending = new Map<string, { item: I; resolve: (r: R) => void; reject: (e: unknown) => void }[]>();
  private readonly running = new Set<string>();

  /** `run` gets the items of one batch and answers each one, in order: a result or an Error to throw. */
  constructor(
    private readonly run: (key: string, items: I[]) => Promise<(R | Error)[]>,
    private readonly maxBatch = 200,
  ) {}

  submit(key: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const q = this.pending.get(key) ?? [];
      q.push({ item, resolve, reject });
      this.pending.set(key, q);
      if (!this.running.has(key)) void this.drain(key);
    });
  }

  private async drain(key: string) {
    this.running.add(key);
    try {
      for (;;) {
        const q = this.pending.get(key);
        if (!q || q.length === 0) break;
        const batch = q.splice(0, this.maxBatch);
        try {
          const out = await this.run(key, batch.map((w) => w.item));
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
