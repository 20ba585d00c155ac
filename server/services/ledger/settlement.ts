import { inTransaction, type Db } from '../../adapters/db/db.ts';
import { audit, auditedIds, auditMany } from '../../adapters/db/audit.ts';
import { invoiceDepartures, invoiceNumberOfBooking } from '../../adapters/db/invoices-repo.ts';
import {
  chargesOf,
  ledgerKeys,
  lockBookingsForSettlement,
  markSettled,
  partiesOf,
  transactionIdByKey,
  unchargedBookings,
  unrefundedBookings,
} from '../../adapters/db/ledger-repo.ts';
import { decideSettlement, refundSplit, vatOf } from '../../core/settlement.ts';
import { KeyedBatcher } from '../batcher.ts';
import { eachIsolated, RecentFailures, type SweepLog } from '../sweep.ts';
import { invoiceEvents, tellWebhooks } from '../webhook-events.ts';
import {
  issueCreditNote,
  issueSettlementInvoices,
  postCharges,
  postRefund,
  postReleases,
  type LedgerAccounts,
  type SettlementAccounts,
  type SettlementPost,
  type SettlingBooking,
} from './posting.ts';

/**
 * Settlement: per booking, in ONE Postgres transaction, the charge and the release (posting.ts), the booking
 * → `settled`, the invoice (gapless number per issuer and year) and an audit row; for a booking cancelled
 * after it was charged, later, the refund and a credit note. The amount is the booking total, or only the
 * cancellation fee for a booking cancelled before settlement (nothing at all when that fee is 0); the
 * decision per booking is pure (`decideSettlement`, server/core/settlement.ts).
 *
 * Exactly once: settle and refund lock the booking row (FOR UPDATE) first — so do cancellation and each
 * other — then look for their idempotency key; the key is unique, so even a path that skipped the lock
 * could not post twice. Everything (transfers, status, invoice, counter, audit) commits or rolls back
 * together, so a crash anywhere leaves either all of it or nothing, and a retry finishes the job.
 */

export interface SettleResult {
  bookingId: string;
  already: boolean;
  /** What was charged (0: nothing posted — a booking cancelled free of charge before settlement). */
  amountCents: number;
  feeCents?: number;
  operatorCents?: number;
  chargeTransactionId?: string;
  releaseTransactionId?: string;
  invoiceId?: string;
  invoiceNumber?: string;
}

export interface RefundResult {
  bookingId: string;
  already?: boolean;
  skipped?: 'not_found' | 'not_cancelled' | 'not_charged' | 'nothing_to_refund';
  refundCents?: number;
  fromOperatorCents?: number;
  fromPlatformCents?: number;
  transactionId?: string;
  creditNoteId?: string;
  creditNoteNumber?: string;
}

export interface SettlementHooks {
  /**
   * Runs inside the settlement transaction, after a batch's charges are posted and before its releases.
   * A seam for tests only (test/helpers/worker-with-settle-pause.ts pauses here so that a worker can be
   * SIGKILLed half way through a settlement); production passes none.
   */
  afterCharges?(bookingIds: string[]): Promise<void>;
}

export interface SettlementOptions {
  /** Platform fee in basis points (fee = floor(amount × bps / 10 000)). */
  platformFeeBps: number;
  /** VAT printed on invoices, in basis points. */
  vatRateBps: number;
}

type Audit = { id: string; data: Record<string, unknown> };

/** The bookings, locked FOR UPDATE in id order, each with its departure (and operator slug). */
async function lockWithDepartures(tx: Db, ids: string[]): Promise<SettlingBooking[]> {
  const locked = await lockBookingsForSettlement(tx, ids);
  if (locked.length === 0) return [];
  const deps = await invoiceDepartures(tx, [...new Set(locked.map((b) => b.departure_id))]);
  const depOf = new Map(deps.map((d) => [d.id, d]));
  return locked.map((row) => ({ ...depOf.get(row.departure_id)!, ...row })); // the booking's id, not the departure's
}

export class Settlement {
  /** Group-commit lanes: while one batch commits, the others are being written (they meet only at the invoice counter). */
  private static readonly LANES = 4;
  private lane = 0;
  private readonly sweepFailures = new RecentFailures();

  private readonly batcher = new KeyedBatcher<string, SettleResult>(async (_key, ids) => {
    try {
      return await this.settleBookings(ids);
    } catch (err) {
      if (ids.length === 1) throw err;
      const out: (SettleResult | Error)[] = [];
      for (const id of ids) out.push(await this.settleBooking(id).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
      return out;
    }
  }, 1000);

  constructor(
    private readonly db: Db,
    private readonly accounts: LedgerAccounts,
    private readonly opts: SettlementOptions,
    private readonly hooks: SettlementHooks = {},
  ) {}

  /**
   * Posts a booking's charge and release and issues its invoice, exactly once (see the module comment).
   * A booking cancelled before settlement is charged its cancellation fee only (nothing at all if 0).
   */
  async settleBooking(bookingId: string): Promise<SettleResult> {
    const [r] = await this.settleBookings([bookingId]);
    if (r instanceof Error) throw r;
    return r!;
  }

  /**
   * What the settlement job calls: bookings settled at the same moment in this process share one
   * transaction (group commit, no timer: a lone booking goes at once), in four lanes. If a shared
   * transaction fails, each of its bookings is tried on its own, so one bad booking cannot hold up the others.
   */
  settleQueued(bookingId: string): Promise<SettleResult> {
    return this.batcher.submit(`settle:${this.lane++ % Settlement.LANES}`, bookingId);
  }

  /**
   * What the `bookings.settle` job calls: every booking through the group commit, as settleQueued (so the bookings
   * of concurrent jobs share transactions and lanes). All are tried; if any failed, this throws after the others
   * committed, so the job is retried and its retry finds those done (`already`).
   */
  async settleQueuedMany(bookingIds: string[]): Promise<{ settled: number; already: number }> {
    const rs = await Promise.allSettled(bookingIds.map((id) => this.settleQueued(id)));
    const failed = rs.flatMap((r, i) => (r.status === 'rejected' ? [`${bookingIds[i]}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : []));
    if (failed.length) throw new Error(`${failed.length} of ${bookingIds.length} bookings not settled (${failed.slice(0, 3).join('; ')})`);
    const already = rs.filter((r) => r.status === 'fulfilled' && r.value.already).length;
    return { settled: bookingIds.length - already, already };
  }

  /**
   * Settles many bookings in one transaction, each exactly as settleBooking would on its own: bookings
   * locked in id order, then set-based inserts of the transfers, entries, invoices and audit rows, and the
   * invoice counter of each issuer (locked in issuer order) moved by the number of invoices it issues —
   * still gapless, numbers in booking-id order. All of it commits or none of it does. `now`: the invoices' issue
   * date (a batch that settles the past — the history seed — passes its simulated time; default: the wall clock).
   */
  async settleBookings(bookingIds: string[], at?: Date): Promise<(SettleResult | Error)[]> {
    const ids = [...new Set(bookingIds)].sort();
    if (ids.length === 0) return [];
    // accounts outside the transaction (their own autocommit inserts; ids remembered per process)
    const acc = await this.accounts.forSettlement(await partiesOf(this.db, ids));
    // a given time is kept exactly (the past being settled); the wall clock never runs behind an issuer's last invoice
    const results = await inTransaction(this.db, (tx) => this.settleLocked(tx, ids, acc, at ?? new Date(), at !== undefined));
    // the same booking twice in one batch (a retried job): the first did the work, the others find it done
    const seen = new Set<string>();
    return bookingIds.map((id) => {
      const r = results.get(id) ?? { bookingId: id, already: false, amountCents: 0 };
      if (seen.has(id)) return { ...r, already: true };
      seen.add(id);
      return r;
    });
  }

  /** Inside the transaction: lock, decide each booking (pure core), post what is to be posted. */
  private async settleLocked(tx: Db, ids: string[], acc: SettlementAccounts, now: Date, exactTime: boolean): Promise<Map<string, SettleResult>> {
    const results = new Map<string, SettleResult>();
    const bookings = await lockWithDepartures(tx, ids);
    if (bookings.length === 0) return results;
    const lockedIds = bookings.map((b) => b.id);
    const chargeOf = new Map((await chargesOf(tx, lockedIds)).map((c) => [c.booking_id!, c]));
    // only a booking with nothing to charge can have been recorded free (the audit log has no index for this look-up)
    const freeable = bookings.filter((b) => (b.status === 'cancelled' ? (b.cancellation_fee_cents ?? 0) : b.total_cents) <= 0).map((b) => b.id);
    const freeSeen = freeable.length ? await auditedIds(tx, 'ledger.settle', 'booking', freeable) : new Set<string>();

    const posts: SettlementPost[] = [];
    const audits: Audit[] = [];
    for (const b of bookings) {
      const decision = decideSettlement(
        { status: b.status, totalCents: b.total_cents, cancellationFeeCents: b.cancellation_fee_cents },
        { chargedCents: chargeOf.get(b.id)?.amount ?? null, freeRecorded: freeSeen.has(b.id) },
        this.opts.platformFeeBps,
      );
      if (decision.kind === 'already') {
        results.set(b.id, { bookingId: b.id, already: true, amountCents: decision.amountCents, chargeTransactionId: chargeOf.get(b.id)?.id });
      } else if (decision.kind === 'free') {
        audits.push({ id: b.id, data: { amountCents: 0, reason: 'cancelled_free' } });
        results.set(b.id, { bookingId: b.id, already: false, amountCents: 0 });
      } else {
        posts.push({ b, amountCents: decision.amountCents, operatorCents: decision.operatorCents, feeCents: decision.feeCents, cancelled: decision.cancelled });
      }
    }
    (await this.post(tx, posts, acc, now, exactTime)).forEach((r, i) => {
      results.set(r.bookingId, r);
      const { bookingId: _b, already: _a, amountCents, ...rest } = r;
      audits.push({ id: r.bookingId, data: { amountCents, ...rest, cancelled: posts[i]!.cancelled } });
    });
    await auditMany(tx, 'ledger.settle', 'booking', audits);
    return results;
  }

  /** Charges, releases, settled status and invoices of the bookings to post, set-based; their results in order. */
  private async post(tx: Db, posts: SettlementPost[], acc: SettlementAccounts, now: Date, exactTime: boolean): Promise<SettleResult[]> {
    if (posts.length === 0) return [];
    const chargeIds = await postCharges(tx, posts, acc);
    await this.hooks.afterCharges?.(posts.map((p) => p.b.id));
    const releaseIds = await postReleases(tx, posts, acc, this.opts.platformFeeBps);
    await markSettled(tx, posts.filter((p) => p.b.status === 'confirmed').map((p) => p.b.id));
    const invoices = await issueSettlementInvoices(tx, posts, this.opts.vatRateBps, now, exactTime);
    await tellWebhooks(tx, invoiceEvents(posts.map((p, i) => ({
      id: invoices[i]!.id, number: invoices[i]!.number, issuerOrgId: p.b.operator_org_id, recipientOrgId: p.b.forwarder_org_id, bookingId: p.b.id,
      netCents: p.amountCents, vatCents: vatOf(p.amountCents, this.opts.vatRateBps), issuedAt: invoices[i]!.issuedAt,
    }))));
    return posts.map((p, i) => ({
      bookingId: p.b.id,
      already: false,
      amountCents: p.amountCents,
      feeCents: p.feeCents,
      operatorCents: p.operatorCents,
      chargeTransactionId: chargeIds[i]!,
      releaseTransactionId: releaseIds[i]!,
      invoiceId: invoices[i]!.id,
      invoiceNumber: invoices[i]!.number,
    }));
  }

  /**
   * For a cancelled booking that was charged: gives back charge − cancellation fee, taken from the operator's
   * and the platform's shares (see `refundSplit`), with a credit note. Never charged yet → nothing to do:
   * the settlement will then charge the fee only. Safe in any order with settleBooking (both lock the booking).
   */
  async refundBooking(bookingId: string): Promise<RefundResult> {
    const [pre] = await partiesOf(this.db, [bookingId]);
    if (!pre) return { bookingId, skipped: 'not_found' };
    const [payable, receivable, revenue] = await Promise.all([
      this.accounts.id(pre.forwarder_org_id, 'forwarder_payable'),
      this.accounts.id(pre.operator_org_id, 'operator_receivable'),
      this.accounts.id(null, 'platform_revenue'),
    ]);

    return inTransaction(this.db, async (tx): Promise<RefundResult> => {
      const [b] = await lockWithDepartures(tx, [bookingId]);
      if (!b) return { bookingId, skipped: 'not_found' };
      if (b.status !== 'cancelled') return { bookingId, skipped: 'not_cancelled' };
      const done = await transactionIdByKey(tx, ledgerKeys.refund(bookingId));
      if (done) return { bookingId, already: true, transactionId: done };
      const [charge] = await chargesOf(tx, [bookingId]);
      if (!charge) return { bookingId, skipped: 'not_charged' };
      const split = refundSplit(charge.amount, b.cancellation_fee_cents ?? 0, this.opts.platformFeeBps);
      if (split.refundCents <= 0) return { bookingId, skipped: 'nothing_to_refund', refundCents: 0 };

      const transactionId = await postRefund(tx, b, split, { payable, receivable, revenue });
      const invoiceNumber = await invoiceNumberOfBooking(tx, bookingId);
      const note = await issueCreditNote(tx, b, split.refundCents, { vatBps: this.opts.vatRateBps, now: new Date(), invoiceNumber });
      const refund = { ...split, transactionId, creditNoteId: note.id, creditNoteNumber: note.number };
      await audit(tx, null, 'ledger.refund', { type: 'booking', id: bookingId }, refund);
      return { bookingId, ...refund };
    });
  }

  /**
   * The safety net behind the outbox and BullMQ: settles every booking that should have been charged but
   * was not (a job lost, or stuck on a killed worker until BullMQ's stalled-job check), and refunds every
   * cancelled, charged booking without its refund. Idempotent like the jobs it stands in for.
   */
  async sweep(olderThanMs = 5_000, limit = 500, log?: SweepLog): Promise<{ settled: number; refunded: number; failed: number }> {
    const cutoff = new Date(Date.now() - olderThanMs);
    // Bookings whose settlement just failed are left out for a while (back-off), so that they cannot fill
    // the batch on every sweep; 0-cent bookings are never selected, for the same reason (see the repository).
    const skip = this.sweepFailures.excluded();
    const opts = { failures: this.sweepFailures, ...(log ? { log } : {}) };
    const unsettled = await unchargedBookings(this.db, { cutoff, skip, limit });
    const s1 = await eachIsolated('booking.settle', unsettled, (b) => b.id, async ({ id }) => !(await this.settleBooking(id)).already, opts);
    const unrefunded = await unrefundedBookings(this.db, { cutoff, skip, limit });
    const s2 = await eachIsolated('booking.refund', unrefunded, (b) => b.id, async ({ id }) => {
      const r = await this.refundBooking(id);
      return !!r.transactionId && !r.already;
    }, opts);
    return { settled: s1.done, refunded: s2.done, failed: s1.failed + s2.failed };
  }
}
