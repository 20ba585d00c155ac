import type { Db } from '../../adapters/db/db.ts';
import { findOrCreateAccount, ledgerKeys, postTransactions, type SettlingBookingRow, type TransactionInput } from '../../adapters/db/ledger-repo.ts';
import { issueInvoices, type InvoiceDepartureRow, type InvoiceToIssue } from '../../adapters/db/invoices-repo.ts';
import { euros, type refundSplit } from '../../core/settlement.ts';
import type { LedgerAccountKind, OrgKind } from '../../domain/enums.ts';

/**
 * Posting: which accounts a booking's charge, release and refund move, and what its invoice or credit note
 * says. Exactly-once and transactions are the settlement's business (settlement.ts); this module only
 * shapes the transfers and documents and writes them through the repositories.
 *
 *   charge   booking:<id>:charge    debit forwarder_payable A     credit escrow A
 *   release  booking:<id>:release   debit escrow A                credit operator_receivable A − fee,
 *                                                                 credit platform_revenue fee
 *   refund   booking:<id>:refund    debit operator_receivable, debit platform_revenue, credit forwarder_payable
 */

/** The accounts an organisation of this kind owns (the platform's have org_id null). */
export function accountKindsOf(kind: OrgKind): LedgerAccountKind[] {
  switch (kind) {
    case 'forwarder':
      return ['forwarder_payable'];
    case 'operator':
      return ['operator_receivable'];
    case 'platform':
      return ['escrow', 'platform_revenue'];
    default:
      return [];
  }
}

/** The accounts one settlement batch posts to. */
export interface SettlementAccounts {
  escrow: string;
  revenue: string;
  /** forwarder org → its forwarder_payable */
  payable: Map<string, string>;
  /** operator org → its operator_receivable */
  receivable: Map<string, string>;
}

/**
 * Account ids by (org, kind), each created on first use by its own autocommit statement — outside any
 * settlement transaction, so settlement transactions never wait on each other's account inserts. Ids never
 * change once created, so they are remembered per process (saves two queries per account).
 */
export class LedgerAccounts {
  private readonly ids = new Map<string, string>();

  constructor(private readonly db: Db) {}

  async id(orgId: string | null, kind: LedgerAccountKind): Promise<string> {
    const memo = `${orgId ?? 'platform'}:${kind}`;
    const known = this.ids.get(memo);
    if (known) return known;
    const id = await findOrCreateAccount(this.db, orgId, kind);
    if (this.ids.size > 50_000) this.ids.clear();
    this.ids.set(memo, id);
    return id;
  }

  /** The platform's accounts and those of every forwarder and operator of these bookings. */
  async forSettlement(parties: { forwarder_org_id: string; operator_org_id: string }[]): Promise<SettlementAccounts> {
    const [escrow, revenue] = await Promise.all([this.id(null, 'escrow'), this.id(null, 'platform_revenue')]);
    const payable = new Map<string, string>();
    const receivable = new Map<string, string>();
    for (const p of parties) {
      payable.set(p.forwarder_org_id, await this.id(p.forwarder_org_id, 'forwarder_payable'));
      receivable.set(p.operator_org_id, await this.id(p.operator_org_id, 'operator_receivable'));
    }
    return { escrow, revenue, payable, receivable };
  }
}

/** A locked booking with its departure (the booking's id and status win): what settlement, refund and invoice lines need. */
export type SettlingBooking = Omit<InvoiceDepartureRow, keyof SettlingBookingRow> & SettlingBookingRow;

/** What one booking's settlement posts (decided by the pure core, `decideSettlement`). */
export interface SettlementPost {
  b: SettlingBooking;
  amountCents: number;
  operatorCents: number;
  feeCents: number;
  /** Cancelled before settlement: only the cancellation fee is charged. */
  cancelled: boolean;
}

function routeText(b: SettlingBooking): string {
  const mode = b.mode.charAt(0).toUpperCase() + b.mode.slice(1);
  const when = b.departs_at.toISOString().slice(0, 16).replace('T', ' ');
  return `${mode} ${b.origin}→${b.destination}, ${b.asset_name}, departs ${when} UTC, ${b.teu} TEU × ${euros(b.unit_price_cents)}`;
}

const what = (p: SettlementPost) => (p.cancelled ? `cancellation fee of booking ${p.b.id}` : `booking ${p.b.id}`);

/** Posts the charges (forwarder → escrow) of these settlements; transaction ids in the order given. */
export function postCharges(tx: Db, posts: SettlementPost[], acc: SettlementAccounts): Promise<string[]> {
  return postTransactions(
    tx,
    posts.map((p) => ({
      key: ledgerKeys.charge(p.b.id),
      kind: 'charge',
      bookingId: p.b.id,
      description: `Charge for ${what(p)}`,
      entries: [
        { accountId: acc.payable.get(p.b.forwarder_org_id)!, direction: 'debit', amountCents: p.amountCents },
        { accountId: acc.escrow, direction: 'credit', amountCents: p.amountCents },
      ],
    })),
  );
}

/** Posts the releases (escrow → operator and platform fee) of these settlements; transaction ids in the order given. */
export function postReleases(tx: Db, posts: SettlementPost[], acc: SettlementAccounts, feeBps: number): Promise<string[]> {
  return postTransactions(
    tx,
    posts.map((p) => ({
      key: ledgerKeys.release(p.b.id),
      kind: 'release',
      bookingId: p.b.id,
      description: `Release of ${what(p)}: operator ${euros(p.operatorCents)}, platform fee ${euros(p.feeCents)} (${feeBps} bp)`,
      entries: [
        { accountId: acc.escrow, direction: 'debit', amountCents: p.amountCents },
        { accountId: acc.receivable.get(p.b.operator_org_id)!, direction: 'credit', amountCents: p.operatorCents },
        { accountId: acc.revenue, direction: 'credit', amountCents: p.feeCents },
      ],
    })),
  );
}

/** Issues one invoice per settlement (operator → forwarder, one line), numbers in the order given; `exactTime`: see InvoiceToIssue. */
export function issueSettlementInvoices(tx: Db, posts: SettlementPost[], vatBps: number, now: Date, exactTime = false): Promise<{ id: string; number: string; issuedAt: Date }[]> {
  return issueInvoices(
    tx,
    posts.map((p) => ({
      kind: 'invoice',
      issuerOrgId: p.b.operator_org_id,
      issuerSlug: p.b.operator_slug,
      recipientOrgId: p.b.forwarder_org_id,
      vatBps,
      now,
      exactTime,
      lines: [
        {
          bookingId: p.b.id,
          description: p.cancelled ? `Cancellation fee (${euros(p.amountCents)} of ${euros(p.b.total_cents)}) — ${routeText(p.b)}` : routeText(p.b),
          quantityTeu: p.b.teu,
          unitPriceCents: p.b.unit_price_cents,
          amountCents: p.amountCents,
        },
      ],
    })),
  );
}

/** The accounts a refund moves money between. */
export interface RefundAccounts {
  payable: string;
  receivable: string;
  revenue: string;
}

/** Posts a cancelled booking's refund (operator and platform → forwarder); its transaction id. */
export async function postRefund(tx: Db, b: SettlingBooking, split: ReturnType<typeof refundSplit>, acc: RefundAccounts): Promise<string> {
  const refund: TransactionInput = {
    key: ledgerKeys.refund(b.id),
    kind: 'refund',
    bookingId: b.id,
    description: `Refund of cancelled booking ${b.id}: ${euros(split.refundCents)} (fee kept ${euros(b.cancellation_fee_cents ?? 0)})`,
    entries: [
      { accountId: acc.receivable, direction: 'debit', amountCents: split.fromOperatorCents },
      { accountId: acc.revenue, direction: 'debit', amountCents: split.fromPlatformCents },
      { accountId: acc.payable, direction: 'credit', amountCents: split.refundCents },
    ],
  };
  const [id] = await postTransactions(tx, [refund]);
  return id!;
}

/** Issues the credit note of a refund (referring to the booking's invoice when there is one). */
export async function issueCreditNote(
  tx: Db,
  b: SettlingBooking,
  refundCents: number,
  o: { vatBps: number; now: Date; invoiceNumber: string | undefined },
): Promise<{ id: string; number: string }> {
  const note: InvoiceToIssue = {
    kind: 'credit_note',
    issuerOrgId: b.operator_org_id,
    issuerSlug: b.operator_slug,
    recipientOrgId: b.forwarder_org_id,
    vatBps: o.vatBps,
    now: o.now,
    lines: [
      {
        bookingId: b.id,
        description: `Refund on cancellation${o.invoiceNumber ? ` (invoice ${o.invoiceNumber})` : ''}, fee kept ${euros(b.cancellation_fee_cents ?? 0)} — ${routeText(b)}`,
        quantityTeu: b.teu,
        unitPriceCents: b.unit_price_cents,
        amountCents: refundCents,
      },
    ],
  };
  const [inv] = await issueInvoices(tx, [note]);
  return inv!;
}
