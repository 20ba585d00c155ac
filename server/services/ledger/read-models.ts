import type { Db } from '../../adapters/db/db.ts';
import { accountTotals, recentEntries } from '../../adapters/db/ledger-repo.ts';
import { findInvoice, invoiceCounterparties, linesOfInvoice, listInvoices, type InvoiceRow, type InvoiceWindow } from '../../adapters/db/invoices-repo.ts';
import type { LedgerAccountKind } from '../../domain/enums.ts';
import { badRequest, notFound } from '../../domain/errors.ts';
import { policy, type Principal } from '../../domain/principal.ts';
import type { Balance, InvoiceCounterparty, InvoiceDetail, InvoiceFilter, InvoiceSummary, Transfer } from '../../domain/schemas/finance.ts';
import { accountKindsOf, type LedgerAccounts } from './posting.ts';
import { pageOf } from '../../core/paging.ts';
import { nameUuid } from '../../core/identity.ts';

/**
 * What an organisation reads of the ledger: its balances, its recent transfers, its invoices.
 *
 * Balance sign convention: `balanceCents` is on the account's normal side — `forwarder_payable` is
 * debit-normal (debits − credits = what the forwarder owes), the others credit-normal (credits − debits:
 * what is owed to the operator, the platform's earned fees, money held in escrow).
 */

const DEBIT_NORMAL: ReadonlySet<LedgerAccountKind> = new Set(['forwarder_payable']);
const normalSide = (kind: LedgerAccountKind): 'debit' | 'credit' => (DEBIT_NORMAL.has(kind) ? 'debit' : 'credit');

/** Whose accounts `p` reads: its organisation's; the platform's own accounts have org_id null. */
const ledgerOwnerOf = (p: Principal): string | null => (policy.actsForAll(p) ? null : p.orgId);

function toInvoiceSummary(r: InvoiceRow): InvoiceSummary {
  return {
    id: r.id,
    number: r.number,
    kind: r.kind,
    issuerOrgId: r.issuer_org_id,
    issuerName: r.issuer_name,
    recipientOrgId: r.recipient_org_id,
    recipientName: r.recipient_name,
    netCents: r.net_cents,
    vatCents: r.vat_cents,
    totalCents: r.total_cents,
    currency: 'EUR',
    vatNote: r.vat_note,
    issuedAt: r.issued_at.toISOString(),
  };
}

export class LedgerReads {
  constructor(
    private readonly db: Db,
    private readonly accounts: LedgerAccounts,
  ) {}

  /** The caller's organisation's accounts with their balances (platform: the platform accounts). */
  async balance(p: Principal): Promise<Balance> {
    const owner = ledgerOwnerOf(p);
    for (const kind of accountKindsOf(p.orgKind)) await this.accounts.id(owner, kind);
    const rows = await accountTotals(this.db, owner);
    return {
      accounts: rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        orgId: r.org_id,
        normalSide: normalSide(r.kind),
        debitsCents: r.debits,
        creditsCents: r.credits,
        balanceCents: normalSide(r.kind) === 'debit' ? r.debits - r.credits : r.credits - r.debits,
      })),
    };
  }

  /** Recent entries on the caller's accounts, newest first, with their transaction. */
  async transfers(p: Principal, limit = 100): Promise<Transfer[]> {
    const rows = await recentEntries(this.db, ledgerOwnerOf(p), Math.max(1, Math.min(limit, 1000)));
    return rows.map((r) => ({
      entryId: Number(r.id),
      accountId: r.account_id,
      accountKind: r.account_kind,
      direction: r.direction,
      amountCents: r.amount_cents,
      transactionId: r.tx_id,
      kind: r.kind,
      description: r.description,
      bookingId: r.booking_id,
      createdAt: r.created_at.toISOString(),
    }));
  }

  /**
   * A page of the invoices and credit notes the caller's organisation issued or received (platform: all), newest first;
   * `next`: the cursor of the page after it (`<µs>_<seq>_<id>` of its last row), null on the last page.
   */
  async invoices(p: Principal, page: { limit: number; before?: string | undefined }, filter: InvoiceFilter = {}): Promise<{ items: InvoiceSummary[]; next: string | null }> {
    const cursor = page.before ? /^(\d{1,16})_(\d{1,10})_([0-9a-f-]{36})$/i.exec(page.before) : null;
    const key = cursor ? { atUs: Number(cursor[1]), seq: Number(cursor[2]), id: cursor[3]! } : undefined;
    const rows = await listInvoices(this.db, policy.scopeOf(p), page.limit + 1, key, invoiceWindow(filter));
    return pageOf(rows, page.limit, (last) => `${last.at_us}_${last.seq}_${last.id}`, toInvoiceSummary);
  }

  /** The organisations the caller has invoices with (the platform: all that have any), for the list's filter. */
  async counterparties(p: Principal): Promise<InvoiceCounterparty[]> {
    return (await invoiceCounterparties(this.db, policy.scopeOf(p))).map((r) => ({ orgId: r.org_id, name: r.name, invoices: r.invoices }));
  }

  /** One invoice with its lines: its issuer and recipient only (404 for anyone else). */
  async invoice(p: Principal, id: string): Promise<InvoiceDetail> {
    const r = await findInvoice(this.db, id);
    if (!r) throw notFound('invoice');
    policy.requireSeePrivate(p, [r.issuer_org_id, r.recipient_org_id], 'invoice');
    const lines = await linesOfInvoice(this.db, id);
    return {
      ...toInvoiceSummary(r),
      year: r.year,
      seq: r.seq,
      lines: lines.map((l, i) => ({
        id: nameUuid(r.id, `invoice-line:${String(l.id)}`),
        lineNo: i + 1,
        bookingId: l.booking_id,
        description: l.description,
        quantityTeu: l.quantity_teu,
        unitPriceCents: l.unit_price_cents,
        amountCents: l.amount_cents,
      })),
    };
  }
}

/** A filter's days as issue times: [from 00:00 UTC, the day after `to` 00:00 UTC); 400 for a day that does not exist. */
export function invoiceWindow(f: InvoiceFilter): InvoiceWindow {
  const day = (d: string | undefined, name: string) => {
    if (d === undefined) return undefined;
    const t = new Date(`${d}T00:00:00Z`);
    if (Number.isNaN(t.getTime()) || t.toISOString().slice(0, 10) !== d) throw badRequest('invalid_day', `${name} is not a calendar day (YYYY-MM-DD)`);
    return t;
  };
  const fromAt = day(f.from, 'from');
  const to = day(f.to, 'to');
  if (fromAt && to && to < fromAt) throw badRequest('invalid_period', 'to is before from');
  return { counterpartyOrgId: f.counterpartyOrgId?.toLowerCase(), fromAt, toBefore: to ? new Date(to.getTime() + 86_400_000) : undefined };
}
