import type { Db, Tx } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import type { DepartureLoad } from '../adapters/db/departures-repo.ts';
import { placeHoldsMulti, type HoldItem, type HoldItemResult } from '../adapters/db/holds-repo.ts';
import { claimKey, releaseKey, storeAnswer, type IdemKey } from '../adapters/db/idempotency.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import { totalCents } from '../core/pricing.ts';
import { AppError, conflict } from '../domain/errors.ts';
import type { Hold } from '../domain/schemas/trade.ts';
import { KeyedBatcher } from './batcher.ts';

/** One hold request on its way to the database; `idem`: its Idempotency-Key, if it came with one. */
export interface HoldRequest extends HoldItem {
  departureId: string;
  idem?: IdemKey;
}

/** A hold placed by this request (with its departure's new load), or the stored answer of an earlier one. */
export type HoldOutcome =
  | { replay: false; hold: Hold; departure: DepartureLoad; listingRemaining: number }
  | { replay: true; hold: Hold };

type Answer = HoldOutcome | Error;

/** A refusal code of the hold path (core rules, Redis admission, cx_place_holds_multi) as the API error. */
export function holdRefusal(code: string, sharePct: number, message?: string): AppError {
  switch (code) {
    case 'hold_share_exceeded':
      return conflict('hold_share_exceeded', message ?? `one organisation may hold at most ${sharePct} % of a departure at once`);
    case 'past_cutoff':
      return conflict('past_cutoff', message ?? 'the cut-off for this departure has passed');
    case 'listing_closed':
      return conflict('listing_closed', message ?? 'this listing is no longer open');
    case 'invalid_quantity':
      return new AppError(400, 'invalid_quantity', message ?? 'teu must be a whole number ≥ 1 and tonnes at least 1 per TEU');
    default:
      return conflict('insufficient_capacity', message ?? 'not enough free capacity on this departure');
  }
}

/**
 * The one write path of holds: group commit. Holds that arrive while a batch is in flight wait for the next
 * one and go together (no timer: a lone hold goes at once), in a few lanes per process (a departure always in
 * the same lane). A batch is one statement, cx_place_holds_multi, and one commit; each request gets its own
 * answer only after that commit.
 *
 * A batch with Idempotency-Keys runs in a transaction: the keys are claimed (in key order, so concurrent
 * batches never deadlock on them), keys already used replay their stored answer, the other items are placed,
 * the answers of placed holds are stored and the keys of refused ones given up (a retry may claim them
 * again) — then one commit. One departure's refusal never fails the others.
 */
export class HoldBatches {
  /** Lanes per process: a departure always goes through the same one. */
  private static readonly LANES = 4;
  private readonly batcher = new KeyedBatcher<HoldRequest, HoldOutcome>((_lane, items) => this.run(items), 400);

  constructor(
    private readonly db: Db,
    private readonly queues: Queues | null,
    private readonly opts: { holdTtlMs: number; sharePct: number },
  ) {}

  submit(req: HoldRequest): Promise<HoldOutcome> {
    return this.batcher.submit(`lane:${parseInt(req.departureId.slice(-2), 16) % HoldBatches.LANES}`, req);
  }

  private async run(items: HoldRequest[]): Promise<Answer[]> {
    const at = new Date();
    const answers = items.some((it) => it.idem)
      ? await inTransaction(this.db, (tx) => this.runKeyed(tx, items, at))
      : await this.retrying(() => this.place(this.db, items, at));
    this.scheduleExpiry(answers);
    return answers;
  }

  /** A batch with keys: claim, replay, place the rest, store or give up each key — one transaction. */
  private async runKeyed(tx: Tx, items: HoldRequest[], at: Date): Promise<Answer[]> {
    const answers = new Array<Answer | undefined>(items.length);
    const sameKeyAs = new Map<number, number>(); // a repeat of a key within this batch → its first item
    const firstOfKey = new Map<string, number>();
    const keyed = items.map((it, i) => ({ it, i })).filter((x) => x.it.idem);
    keyed.sort((a, b) => compareKeys(a.it.idem!, b.it.idem!));
    for (const { it, i } of keyed) {
      const k = it.idem!;
      const first = firstOfKey.get(`${k.orgId}\n${k.key}`);
      if (first !== undefined) {
        const fk = items[first]!.idem!;
        if (fk.route === k.route && fk.requestHash === k.requestHash) sameKeyAs.set(i, first);
        else answers[i] = conflict('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
        continue;
      }
      firstOfKey.set(`${k.orgId}\n${k.key}`, i);
      try {
        const claim = await claimKey<Hold>(tx, k);
        if (claim.kind === 'replay') answers[i] = { replay: true, hold: claim.body };
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        answers[i] = err; // idempotency_key_reused: this item only
      }
    }
    const todo = items.flatMap((_, i) => (answers[i] === undefined && !sameKeyAs.has(i) ? [i] : []));
    const placed = await this.place(tx, todo.map((i) => items[i]!), at);
    for (const [n, i] of todo.entries()) {
      const a = placed[n]!;
      answers[i] = a;
      const k = items[i]!.idem;
      if (!k) continue;
      if (a instanceof Error) await releaseKey(tx, k);
      else await storeAnswer(tx, k, 201, a.hold);
    }
    for (const [i, first] of sameKeyAs) {
      const a = answers[first]!;
      answers[i] = a instanceof Error || a.replay ? a : { replay: true, hold: a.hold };
    }
    return answers as Answer[];
  }

  /** Places the items (grouped by departure) with one cx_place_holds_multi; answers in the items' order. */
  private async place(db: Db | Tx, items: HoldRequest[], at: Date): Promise<Answer[]> {
    if (items.length === 0) return [];
    const byDep = new Map<string, number[]>();
    items.forEach((it, i) => byDep.set(it.departureId, [...(byDep.get(it.departureId) ?? []), i]));
    const batches = [...byDep].map(([departureId, idx]) => ({ departureId, items: idx.map((i) => holdItem(items[i]!)) }));
    const decided = await placeHoldsMulti(db, batches, at, this.opts.holdTtlMs, this.opts.sharePct);
    const out = new Array<Answer>(items.length);
    for (const { departureId, results, departure } of decided) {
      byDep.get(departureId)!.forEach((i, k) => {
        out[i] = this.answer(items[i]!, results[k] ?? { status: 'insufficient_capacity' }, departure, at);
      });
    }
    return out;
  }

  private answer(it: HoldRequest, r: HoldItemResult, departure: DepartureLoad, at: Date): Answer {
    if (r.status !== 'ok') return holdRefusal(r.status, this.opts.sharePct);
    const hold: Hold = {
      id: r.id!,
      listingId: it.listingId,
      departureId: it.departureId,
      teu: it.teu,
      tonnes: it.tonnes,
      unitPriceCents: it.unitPriceCents,
      totalCents: totalCents(it.unitPriceCents, it.teu),
      status: 'active',
      expiresAt: new Date(r.expiresAt ?? it.expiresAt).toISOString(),
      createdAt: at.toISOString(),
    };
    return { replay: false, hold, departure, listingRemaining: r.listingRemaining! };
  }

  /**
   * Expiry jobs of the holds a batch placed, in one round trip, not awaited: the answer never waits for Redis
   * (the periodic sweep expires a hold whose job could not be enqueued).
   */
  private scheduleExpiry(answers: Answer[]) {
    const now = Date.now();
    const jobs = answers.flatMap((a) => {
      if (a instanceof Error || a.replay) return [];
      const id = a.hold.id;
      return [{ name: 'hold.expire' as const, data: { holdId: id }, opts: { jobId: `hold.expire-${id}`, delay: Math.max(0, Date.parse(a.hold.expiresAt) - now) } }];
    });
    if (jobs.length) void this.queues?.addBulk(jobs).catch(() => {});
  }

  /** Retries a statement that met a deadlock or serialization failure (it ran alone: nothing to roll back). */
  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt >= 5 || (code !== '40P01' && code !== '40001')) throw err;
      }
    }
  }
}

function holdItem(r: HoldRequest): HoldItem {
  return {
    listingId: r.listingId, teu: r.teu, tonnes: r.tonnes, unitPriceCents: r.unitPriceCents, expiresAt: r.expiresAt,
    orgId: r.orgId, userId: r.userId, apiKeyId: r.apiKeyId,
  };
}

function compareKeys(a: IdemKey, b: IdemKey): number {
  return a.orgId < b.orgId ? -1 : a.orgId > b.orgId ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
