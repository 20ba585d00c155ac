import type { Db } from '../../adapters/db/db.ts';
import { inTransaction } from '../../adapters/db/db.ts';
import { audit } from '../../adapters/db/audit.ts';
import { postTransactions, transactionIdByKey } from '../../adapters/db/ledger-repo.ts';
import { issueInvoices, type InvoiceToIssue } from '../../adapters/db/invoices-repo.ts';
import { findProposal } from '../../adapters/db/optimisations-repo.ts';
import { dueRebates, itineraryBookings, itineraryStatus, lockRebateProposal, rebateKey } from '../../adapters/db/rebates-repo.ts';
import { shareOut } from '../../core/pooling/proposals.ts';
import { euros } from '../../core/settlement.ts';
import type { LedgerAccounts } from './posting.ts';

/**
 * Paying out a forwarder's share of the pool's saving (issue 13; the rule: server/core/pooling/proposals.ts).
 *
 * A shipment proposal accepted with a share books its itinerary at the listings' prices; the share is paid back when
 * it falls due — at the first leg's cut-off, so that a forwarder cannot take the share and cancel early — by the
 * operators of its legs (the pooled plan is what fills their departures and spares them the ones that do not run),
 * split across the legs in proportion to their price, each leg's part at most that leg's price:
 *
 *   pool_rebate   proposal:<id>:rebate   debit operator_receivable (each leg's operator), credit forwarder_payable
 *
 * with one credit note per operator to the forwarder (lines without a booking: no single booking's charge or refund).
 * Nothing is paid when a leg was cancelled by then (the itinerary is no longer what was pooled). Exactly once: the
 * ledger key is unique and the proposal row is locked while paying. The settlement sweep (every 30 s) pays what fell
 * due — Postgres decides, no job to lose.
 */

export type RebateResult =
  | { proposalId: string; paidCents: number; transactionId: string; creditNotes: string[] }
  | { proposalId: string; already: true }
  | { proposalId: string; skipped: 'not_found' | 'not_accepted' | 'no_share' | 'not_due' | 'leg_cancelled' };

export class PoolRebates {
  constructor(
    private readonly db: Db,
    private readonly accounts: LedgerAccounts,
    private readonly opts: { vatRateBps: number },
  ) {}

  async pay(proposalId: string, now = new Date()): Promise<RebateResult> {
    const pre = await findProposal(this.db, proposalId); // a plain read: which accounts the transaction will use
    if (!pre?.forwarder_org_id || !pre.itinerary_id) return { proposalId, skipped: 'not_found' };
    const legs0 = await itineraryBookings(this.db, pre.itinerary_id);
    const payable = await this.accounts.id(pre.forwarder_org_id, 'forwarder_payable');
    const receivable = new Map<string, string>();
    for (const l of legs0) receivable.set(l.operator_org_id, await this.accounts.id(l.operator_org_id, 'operator_receivable'));

    return inTransaction(this.db, async (tx): Promise<RebateResult> => {
      const p = await lockRebateProposal(tx, proposalId);
      if (!p || !p.itinerary_id || !p.forwarder_org_id) return { proposalId, skipped: 'not_found' };
      if (p.kind !== 'shipment' || p.status !== 'accepted') return { proposalId, skipped: 'not_accepted' };
      if (!p.share_cents || p.share_cents <= 0) return { proposalId, skipped: 'no_share' };
      if (await transactionIdByKey(tx, rebateKey(proposalId))) return { proposalId, already: true };
      const legs = await itineraryBookings(tx, p.itinerary_id);
      if (legs.length === 0) return { proposalId, skipped: 'not_found' };
      if (Math.min(...legs.map((l) => l.cutoff_at.getTime())) > now.getTime()) return { proposalId, skipped: 'not_due' };
      if (legs.some((l) => l.status === 'cancelled') || (await itineraryStatus(tx, p.itinerary_id)) !== 'confirmed') return { proposalId, skipped: 'leg_cancelled' };
      // the share split over the legs by price, each part at most its leg's price (handling is no leg's)
      const parts = shareOut(Math.min(p.share_cents, legs.reduce((s, l) => s + l.total_cents, 0)), legs.map((l) => l.total_cents)).map((x, i) =>
        Math.min(x, legs[i]!.total_cents),
      );
      const total = parts.reduce((s, x) => s + x, 0);
      const byOperator = new Map<string, { cents: number; slug: string; lines: InvoiceToIssue['lines'] }>();
      legs.forEach((l, i) => {
        const cents = parts[i]!;
        if (cents <= 0) return;
        const o = byOperator.get(l.operator_org_id) ?? { cents: 0, slug: l.operator_slug, lines: [] };
        o.cents += cents;
        o.lines.push({
          bookingId: null, description: `Pool share of proposal ${proposalId} — leg ${i + 1}, booking ${l.id}`, quantityTeu: l.teu,
          unitPriceCents: l.unit_price_cents, amountCents: cents,
        });
        byOperator.set(l.operator_org_id, o);
      });
      const [transactionId] = await postTransactions(tx, [
        {
          key: rebateKey(proposalId), kind: 'pool_rebate', bookingId: null,
          description: `Pool share of proposal ${proposalId}: ${euros(total)} back to the forwarder`,
          entries: [
            ...[...byOperator].map(([org, o]) => ({ accountId: receivable.get(org)!, direction: 'debit' as const, amountCents: o.cents })),
            { accountId: payable, direction: 'credit', amountCents: total },
          ],
        },
      ]);
      const notes = await issueInvoices(
        tx,
        [...byOperator].map(([org, o]) => ({
          kind: 'credit_note' as const, issuerOrgId: org, issuerSlug: o.slug, recipientOrgId: p.forwarder_org_id!, vatBps: this.opts.vatRateBps, now, lines: o.lines,
        })),
      );
      await audit(tx, null, 'ledger.pool_rebate', { type: 'proposal', id: proposalId }, { cents: total, transactionId, creditNotes: notes.map((n) => n.number) });
      return { proposalId, paidCents: total, transactionId: transactionId!, creditNotes: notes.map((n) => n.number) };
    });
  }

  /** Pays every share that fell due (a failing one is left for the next sweep, the rest go on). */
  async sweep(now = new Date(), limit = 200): Promise<{ paid: number; failed: number }> {
    let paid = 0;
    let failed = 0;
    for (const id of await dueRebates(this.db, now, limit)) {
      try {
        const r = await this.pay(id, now);
        if ('paidCents' in r) paid++;
      } catch {
        failed++;
      }
    }
    return { paid, failed };
  }
}
