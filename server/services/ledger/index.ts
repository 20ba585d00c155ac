import type { Db } from '../../adapters/db/db.ts';
import type { Principal } from '../../domain/principal.ts';
import type { Balance, InvoiceCounterparty, InvoiceDetail, InvoiceFilter, InvoiceSummary, Transfer } from '../../domain/schemas/finance.ts';
import type { SweepLog } from '../sweep.ts';
import { invoiceHtml, invoicesCsv } from './invoice-documents.ts';
import { LedgerAccounts } from './posting.ts';
import { LedgerReads } from './read-models.ts';
import { PoolRebates, type RebateResult } from './rebates.ts';
import { Settlement, type RefundResult, type SettlementHooks, type SettlementOptions, type SettleResult } from './settlement.ts';

/**
 * Double-entry ledger, settlement and invoices (issue 4, money part) — the service the context builds, in
 * one place for the routes and the jobs. Each concern lives in its own module of this folder:
 *
 *   posting.ts            accounts, and what a charge, release, refund, invoice and credit note post
 *   settlement.ts         settle (one booking, a batch, the group-committed job), refund, sweep — exactly once
 *   rebates.ts            pay a pooled forwarder its share of the pool's saving when it falls due — exactly once
 *   read-models.ts        balances, transfers, invoices as an organisation sees them
 *   invoice-documents.ts  print HTML and CSV
 *   verifier.ts           verifyLedger: every ledger and invoice invariant, from the raw rows
 *
 * and the SQL in server/adapters/db/ledger-repo.ts and invoices-repo.ts. Accounts: per organisation a
 * forwarder's `forwarder_payable` and an operator's `operator_receivable`; platform-wide (org_id null)
 * `escrow` and `platform_revenue`. Entries are never updated or deleted (a trigger refuses it); a deferred
 * constraint trigger refuses any transaction whose debits and credits differ at commit.
 */
/** The largest page of `GET /api/invoices` (and its size when none is asked). */
export const INVOICE_LIST_LIMIT = 1000;

export class LedgerService {
  private readonly settlement: Settlement;
  private readonly reads: LedgerReads;
  private readonly rebates: PoolRebates;

  constructor(db: Db, opts: SettlementOptions, hooks: SettlementHooks = {}) {
    const accounts = new LedgerAccounts(db);
    this.rebates = new PoolRebates(db, accounts, { vatRateBps: opts.vatRateBps });
    this.settlement = new Settlement(db, accounts, { platformFeeBps: opts.platformFeeBps, vatRateBps: opts.vatRateBps }, hooks);
    this.reads = new LedgerReads(db, accounts);
  }

  /** See Settlement.settleBooking. */
  settleBooking(bookingId: string): Promise<SettleResult> {
    return this.settlement.settleBooking(bookingId);
  }

  /**
   * Settles many bookings in one transaction (see Settlement.settleBookings); `now` dates the invoices (batch
   * work that settles the past — the history seed — passes its simulated time).
   */
  settleBookings(bookingIds: string[], now?: Date): Promise<(SettleResult | Error)[]> {
    return this.settlement.settleBookings(bookingIds, now);
  }

  /** What the `bookings.settle` job calls (see Settlement.settleQueuedMany). */
  settleQueuedMany(bookingIds: string[]): Promise<{ settled: number; already: number }> {
    return this.settlement.settleQueuedMany(bookingIds);
  }

  /** What the `booking.settle` job calls (group commit; see Settlement.settleQueued). */
  settleQueued(bookingId: string): Promise<SettleResult> {
    return this.settlement.settleQueued(bookingId);
  }

  /** What the `booking.refund` job calls (see Settlement.refundBooking). */
  refundBooking(bookingId: string): Promise<RefundResult> {
    return this.settlement.refundBooking(bookingId);
  }

  /** What the `settlement.sweep` job calls (see Settlement.sweep). */
  sweep(olderThanMs?: number, limit?: number, log?: SweepLog): Promise<{ settled: number; refunded: number; failed: number }> {
    return this.settlement.sweep(olderThanMs, limit, log);
  }

  /** Pays one accepted proposal's pool share if it is due (see PoolRebates.pay). */
  payRebate(proposalId: string, now?: Date): Promise<RebateResult> {
    return this.rebates.pay(proposalId, now);
  }

  /** Pays every pool share that fell due (the `settlement.sweep` job, beside the settlement sweep). */
  payDueRebates(now?: Date): Promise<{ paid: number; failed: number }> {
    return this.rebates.sweep(now);
  }

  balance(p: Principal): Promise<Balance> {
    return this.reads.balance(p);
  }

  transfers(p: Principal, limit?: number): Promise<Transfer[]> {
    return this.reads.transfers(p, limit);
  }

  /** A page of the caller's invoices, newest first (`limit`: default and at most INVOICE_LIST_LIMIT). */
  invoices(p: Principal, page: { limit?: number | undefined; before?: string | undefined } & InvoiceFilter = {}): Promise<{ items: InvoiceSummary[]; next: string | null }> {
    return this.reads.invoices(p, { limit: Math.min(page.limit ?? INVOICE_LIST_LIMIT, INVOICE_LIST_LIMIT), before: page.before }, page);
  }

  /** The organisations the caller has invoices with, for the list's filter. */
  invoiceCounterparties(p: Principal): Promise<InvoiceCounterparty[]> {
    return this.reads.counterparties(p);
  }

  invoice(p: Principal, id: string): Promise<InvoiceDetail> {
    return this.reads.invoice(p, id);
  }

  /** A print-ready HTML page of one invoice (same permission as `invoice`). */
  async invoiceHtml(p: Principal, id: string): Promise<string> {
    return invoiceHtml(await this.reads.invoice(p, id));
  }

  /** The caller's invoices as CSV (up to 100,000 at once, not a page of the JSON list). */
  async invoicesCsv(p: Principal, filter: InvoiceFilter = {}): Promise<string> {
    return invoicesCsv((await this.reads.invoices(p, { limit: 100_000 }, filter)).items);
  }
}
