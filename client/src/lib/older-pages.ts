/**
 * Keeps "Show older" and the silent re-reads of a keyset-paged list (newest first) from undoing each other.
 *
 * A list shows its newest rows and appends older pages on demand; a live event re-reads the newest rows, keeping as
 * many as were shown. Two races lost a click: a re-read that started before the click answered after the older page
 * and replaced it, and a re-read that started after the click made the older page's cursor stale (it was dropped)
 * while reading only as many rows as were shown before the click. So:
 *
 * - a click records how many rows it wants, and every later re-read reads at least that many (`limit`);
 * - an older page waits for a re-read in flight and starts from that read's cursor (`beforeOlder`);
 * - an older page overtaken by a re-read is dropped (`isCurrent`), and its caller waits for that re-read (`settled`),
 *   which by the first rule already holds the rows asked for.
 *
 * ```ts
 * const gate = new OlderPages(100);
 * const limit = gate.limit(rows.length);            // in the re-read, before its request
 * await gate.reading(reRead());                      // around the re-read
 * const token = await gate.beforeOlder(rows.length); // in "Show older", before its request
 * if (!gate.isCurrent(token)) return gate.settled();
 * ```
 */
export class OlderPages {
  #wanted = 0;
  #gen = 0;
  #reading: Promise<unknown> | null = null;

  /** `page`: rows per older page; `max`: the most one request of the API returns */
  constructor(
    readonly page: number,
    readonly max = 1000,
  ) {}

  /** The limit of a re-read of the newest rows: what is shown, what a click asked for, at least one page. */
  limit(shown: number): number {
    return Math.min(this.max, Math.max(this.page, shown, this.#wanted));
  }

  /** Wraps a re-read: an older page in flight is overtaken by it, and the next waits for it. */
  reading<T>(p: Promise<T>): Promise<T> {
    this.#gen++;
    this.#reading = p;
    const clear = () => {
      if (this.#reading === p) this.#reading = null;
    };
    p.then(clear, clear);
    return p;
  }

  /** Before an older page's request: records the rows wanted and waits for a re-read in flight; returns a token. */
  async beforeOlder(shown: number): Promise<number> {
    this.#wanted = Math.max(this.#wanted, shown + this.page);
    await this.settled();
    return this.#gen;
  }

  /** Whether no re-read started since `beforeOlder` gave this token. */
  isCurrent(token: number): boolean {
    return token === this.#gen;
  }

  /** Resolves when no re-read is in flight. */
  async settled(): Promise<void> {
    while (this.#reading) await this.#reading.catch(() => undefined);
  }
}
