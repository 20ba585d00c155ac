import type { Tx } from '../adapters/db/db.ts';
import { claimKey, releaseKey, storeAnswer, type IdemKey } from '../adapters/db/idempotency.ts';
import { AppError, conflict } from '../domain/errors.ts';

const nameOf = (k: IdemKey) => `${k.orgId}\n${k.key}`;

/**
 * The Idempotency-Keys of one group-committed batch, claimed inside its transaction. Keys are claimed in key
 * order (so concurrent batches never deadlock on them) before any row lock of the batch is taken; a key used
 * before replays its stored answer, a key used before (or earlier in this batch) with a different request is
 * refused for that item only, a repeat of a key within the batch gets the answer of its first item. After the
 * batch is decided, {@link finish} stores the answers of claimed keys, or gives a key up when its item was
 * refused (as a rollback would) — all in the batch's one commit; the refusal is then kept as the key's answer by
 * the service (kept-refusals.ts), so a repeat gets it again.
 */
export class BatchKeys<A> {
  /** Answers known before the batch is decided: replays and refused keys. */
  readonly known: (A | Error | undefined)[];
  private readonly claimed: number[] = [];
  private readonly sameKeyAs = new Map<number, number>();

  private constructor(n: number) {
    this.known = Array.from<A | Error | undefined>({ length: n });
  }

  static async claim<A>(tx: Tx, keys: readonly (IdemKey | undefined)[]): Promise<BatchKeys<A>> {
    const out = new BatchKeys<A>(keys.length);
    const firstOf = new Map<string, number>();
    const keyed = keys.flatMap((k, i) => (k ? [{ k, i }] : [])).sort((a, b) => (nameOf(a.k) < nameOf(b.k) ? -1 : nameOf(a.k) > nameOf(b.k) ? 1 : a.i - b.i));
    for (const { k, i } of keyed) {
      const first = firstOf.get(nameOf(k));
      if (first !== undefined) {
        const fk = keys[first]!;
        if (fk.route === k.route && fk.requestHash === k.requestHash) out.sameKeyAs.set(i, first);
        else out.known[i] = conflict('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
        continue;
      }
      firstOf.set(nameOf(k), i);
      try {
        const claim = await claimKey<A>(tx, k);
        if (claim.kind === 'replay') out.known[i] = claim.body;
        else out.claimed.push(i);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        out.known[i] = err; // idempotency_key_reused: this item only
      }
    }
    return out;
  }

  /** Whether item `i` is to be decided by the batch (its key, if any, does not answer it already). */
  toDecide(i: number): boolean {
    return this.known[i] === undefined && !this.sameKeyAs.has(i);
  }

  /** Stores the answer (with `status`) of every claimed key whose item succeeded, gives up the others; answers repeats. */
  async finish(tx: Tx, keys: readonly (IdemKey | undefined)[], answers: (A | Error | undefined)[], status: number): Promise<void> {
    for (const i of this.claimed) {
      const a = answers[i];
      if (a === undefined || a instanceof Error) await releaseKey(tx, keys[i]!);
      else await storeAnswer(tx, keys[i]!, status, a);
    }
    for (const [i, first] of this.sameKeyAs) answers[i] = answers[first];
  }
}
