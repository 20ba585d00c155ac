import type { Db, Tx } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import type { DepartureLoad } from '../adapters/db/departures-repo.ts';
import { placeHoldsMulti, type HoldItem, type HoldItemResult } from '../adapters/db/holds-repo.ts';
import type { IdemKey } from '../adapters/db/idempotency.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import { totalCents } from '../core/pricing.ts';
import { AppError, conflict } from '../domain/errors.ts';
import type { Hold } from '../domain/schemas/trade.ts';
import { BatchKeys } from './batch-keys.ts';
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

export type HoldAnswer = HoldOutcome | Error;
type Answer = HoldAnswer;

/** A refusal code of the hold path (core rules, Redis admission, cx_place_holds_multi) as the API error. */
export function holdRefusal(code: string, sharePct: number, message?: string): AppError {
  switch (code) {
    case 'hold_share_exceeded':
      return conflict('hold_share_exceeded', message ?? `one organisation may hold at most ${sharePct} % of a departure at once`);
    case 'past_cutoff':
      return conflict('past_cutoff', message ?? 'the cut-off for this departure has passed');
    case 'listing_closed':
      return conflict('listing_closed', message ?? 'this listing is no longer open');
    case 'listing_not_open':
      return conflict('listing_not_open', message ?? 'this listing is not open yet');
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
 * A batch with Idempotency-Keys runs in a transaction and handles its keys as bids do (BatchKeys: claimed
 * in key order, replayed, stored, or given up when refused) — then one commit. One departure's refusal never fails the others.
 */
export class HoldBatches {
  /** Lanes per process: a departure always goes through the same one. */
  private static readonly LANES = 4;
  private readonly batcher = new KeyedBatcher<HoldRequest, HoldOutcome>((_lane, items) => this.run(items), 400);
  /** The seconds this process has sent an expiry sweep for (forgotten once they are past). */
  private readonly sweepsSent = new Set<number>();

  constructor(
    private readonly db: Db,
    private readonly queues: Queues | null,
    private readonly opts: { holdTtlMs: number; sharePct: number },
  ) {}

  submit(req: HoldRequest): Promise<HoldOutcome> {
    return this.batcher.submit(`lane:${parseInt(req.departureId.slice(-2), 16) % HoldBatches.LANES}`, req);
  }

  /**
   * Places holds decided at `at` — a simulated clock (batch work: the history seed) — in one statement,
   * outside the group commit: the same statement and rules as every hold (cx_place_holds_multi). Sends no
   * expiry jobs (the holds sweep ends any hold left active past its time).
   */
  placeAt(items: HoldRequest[], at: Date): Promise<HoldAnswer[]> {
    return this.retrying(() => this.place(this.db, items, at));
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
    const keys = items.map((it) => it.idem);
    const claimed = await BatchKeys.claim<Hold>(tx, keys);
    const answers: (Answer | undefined)[] = claimed.known.map((k) => (k === undefined || k instanceof Error ? k : { replay: true, hold: k }));
    const todo = items.flatMap((_, i) => (claimed.toDecide(i) ? [i] : []));
    const placed = await this.place(tx, todo.map((i) => items[i]!), at);
    todo.forEach((i, n) => (answers[i] = placed[n]));
    const bodies = answers.map((a) => (a === undefined || a instanceof Error ? a : a.hold));
    await claimed.finish(tx, keys, bodies, 201);
    // a repeat of a key within the batch answers as a replay of its first item's hold
    return answers.map((a, i) => a ?? (bodies[i] instanceof Error ? bodies[i] : { replay: true, hold: bodies[i]! }));
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
   * Expiry of the holds a batch placed: a delayed `holds.sweep` at the second each one is due (ceil), one job per second
   * whatever the number of holds, processes and batches (its id is the second: BullMQ keeps one) — a job per hold cost
   * more than the rest of the hold's Redis work (measured: accepted holds/s on 16 departures 12 → 17 % of the ceiling
   * without them). The sweep expires every hold then due, each on its own; a hold is expired at most about a second after
   * its time (and nothing can use it meanwhile: a confirmation needs `expires_at` > now in Postgres). Sent without
   * waiting: the answer never waits for Redis (the periodic sweep expires a hold whose job could not be enqueued).
   */
  private scheduleExpiry(answers: Answer[]) {
    const now = Date.now();
    const due = new Set<number>();
    for (const a of answers) if (!(a instanceof Error) && !a.replay) due.add(Math.ceil(Date.parse(a.hold.expiresAt) / 1000));
    for (const s of this.sweepsSent) if (s * 1000 < now) this.sweepsSent.delete(s);
    const jobs = [...due]
      .filter((s) => !this.sweepsSent.has(s))
      .map((s) => ({ name: 'holds.sweep' as const, data: {}, opts: { jobId: `holds.sweep-at-${s}`, delay: Math.max(0, s * 1000 - now) } }));
    if (jobs.length === 0 || !this.queues) return;
    for (const s of due) this.sweepsSent.add(s);
    void this.queues.addBulk(jobs).catch(() => {
      for (const s of due) this.sweepsSent.delete(s); // the next batch due in that second tries again
    });
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
