/**
 * Batch loops that must never be blocked by one bad row (sweeps, fallbacks of group commits).
 *
 * `eachIsolated` runs one item at a time on its own: a failure is logged and counted and the loop carries
 * on. `RecentFailures` remembers what failed, with a growing back-off, so that the next selection can leave
 * those rows out: a batch of `limit` rows can then never be filled by the same failing rows every time
 * (starvation) while each of them is still retried now and then.
 */

export interface SweepLog {
  error(message: string): void;
}

const consoleSweepLog: SweepLog = { error: (m) => console.error(m) };

interface IsolatedOutcome {
  /** Items for which `fn` returned true (did something). */
  done: number;
  /** Items that threw. */
  failed: number;
}

export async function eachIsolated<T>(
  what: string,
  items: readonly T[],
  keyOf: (item: T) => string,
  fn: (item: T) => Promise<boolean>,
  opts: { log?: SweepLog; failures?: RecentFailures } = {},
): Promise<IsolatedOutcome> {
  const log = opts.log ?? consoleSweepLog;
  let done = 0;
  let failed = 0;
  for (const item of items) {
    const key = keyOf(item);
    try {
      if (await fn(item)) done++;
      opts.failures?.succeeded(key);
    } catch (err) {
      failed++;
      const n = opts.failures?.failed(key) ?? 1;
      log.error(`${what} ${key} failed (attempt ${n}), skipped this round: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { done, failed };
}

/** Ids that failed recently, each kept out of selections for base × 2^(n−1) (capped) after its n-th failure. */
export class RecentFailures {
  private readonly entries = new Map<string, { n: number; until: number }>();

  constructor(
    private readonly baseMs = 30_000,
    private readonly maxMs = 30 * 60_000,
    private readonly maxEntries = 1000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records a failure; returns how many times in a row `id` has failed. */
  failed(id: string): number {
    const n = (this.entries.get(id)?.n ?? 0) + 1;
    this.entries.delete(id); // re-insert: the map stays in last-failure order
    this.entries.set(id, { n, until: this.clock() + Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n - 1, 20)) });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return n;
  }

  succeeded(id: string): void {
    this.entries.delete(id);
  }

  /** Ids still backing off (to leave out of the next selection). */
  excluded(): string[] {
    const now = this.clock();
    const out: string[] = [];
    for (const [id, e] of this.entries) if (e.until > now) out.push(id);
    return out;
  }
}
