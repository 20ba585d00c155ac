import { sql } from 'kysely';
import type { Db, Tx } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { departureQuery } from '../adapters/db/departures-repo.ts';
import type { LedgerAccountKind, OrgKind } from '../domain/enums.ts';
import type { Config } from '../config.ts';
import { decideSettlement, euros, invoiceNumber, refundSplit, vatNote, vatOf } from '../core/settlement.ts';
import { KeyedBatcher } from './batcher.ts';
import { eachIsolated, RecentFailures, type SweepLog } from './sweep.ts';
import { notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';

/**
 * Double-entry ledger, settlement and invoices (issue 4, money part).
 *
 * Accounts: per organisation a forwarder's `forwarder_payable` and an operator's `operator_receivable`;
 * platform-wide (org_id null) `escrow` and `platform_revenue`. Per booking, in ONE Postgres transaction:
 *
 *   charge   booking:<id>:charge    debit forwarder_payable A     credit escrow A
 *   release  booking:<id>:release   debit escrow A                credit operator_receivable A − fee,
 *                                                                 credit platform_revenue fee
 *   + the invoice (operator → forwarder), gapless number per issuer and year
 *
 * and, for a booking cancelled after it was charged, later:
 *
 *   refund   booking:<id>:refund    debit operator_receivable, debit platform_revenue, credit forwarder_payable
 *   + a credit note
 *
 * A = total for a confirmed booking; the cancellation fee for one cancelled before settlement.
 * Entries are never updated or deleted (a trigger refuses it); a deferred constraint trigger refuses any
 * transaction whose debits and credits differ at commit.
 *
 * Exactly once: settle and refund lock the booking row (FOR UPDATE) first — so do cancellation and each
 * other — then look for their idempotency key; the key is unique, so even a path that skipped the lock
 * could not post twice. Everything (transfers, status, invoice, counter, audit) commits or rolls back
 * together, so a crash anywhere leaves either all of it or nothing, and a retry finishes the job.
 *
 * Balance sign convention: `balanceCents` is on the account's normal side — `forwarder_payable` is
 * debit-normal (debits − credits = what the forwarder owes), the others credit-normal (credits − debits:
 * what is owed to the operator, the platform's earned fees, money held in escrow).
 */

export const ledgerKeys = {
  charge: (bookingId: string) => `booking:${bookingId}:charge`,
  release: (bookingId: string) => `booking:${bookingId}:release`,
  refund: (bookingId: string) => `booking:${bookingId}:refund`,
};

const DEBIT_NORMAL: ReadonlySet<LedgerAccountKind> = new Set(['forwarder_payable']);
export const normalSide = (kind: LedgerAccountKind): 'debit' | 'credit' => (DEBIT_NORMAL.has(kind) ? 'debit' : 'credit');

/** The accounts an organisation of this kind owns (the platform's have org_id null). */
function accountKindsOf(kind: OrgKind): LedgerAccountKind[] {
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

type Entry = { accountId: string; direction: 'debit' | 'credit'; amountCents: number };

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

export interface Account {
  id: string;
  kind: LedgerAccountKind;
  orgId: string | null;
  normalSide: 'debit' | 'credit';
  debitsCents: number;
  creditsCents: number;
  balanceCents: number;
}

export interface Transfer {
  entryId: number;
  accountId: string;
  accountKind: LedgerAccountKind;
  direction: 'debit' | 'credit';
  amountCents: number;
  transactionId: string;
  kind: string;
  description: string;
  bookingId: string | null;
  createdAt: string;
}

export interface InvoiceSummary {
  id: string;
  number: string;
  kind: 'invoice' | 'credit_note';
  issuerOrgId: string;
  issuerName: string;
  recipientOrgId: string;
  recipientName: string;
  netCents: number;
  vatCents: number;
  totalCents: number;
  currency: 'EUR';
  vatNote: string | null;
  issuedAt: string;
}

export interface InvoiceLine {
  id: number;
  bookingId: string | null;
  description: string;
  quantityTeu: number;
  unitPriceCents: number;
  amountCents: number;
}

export type InvoiceDetail = InvoiceSummary & { year: number; seq: number; lines: InvoiceLine[] };

/** Departures with what an invoice line says of them: the shared departure fragment plus the operator's slug. */
function departuresForInvoice(tx: Tx) {
  return departureQuery(tx).select('op.slug as operator_slug');
}

/** The booking with everything a settlement, a refund or an invoice line needs (locked FOR UPDATE). */
async function lockBooking(tx: Tx, bookingId: string) {
  const b = await tx
    .selectFrom('bookings')
    .select(['id', 'status', 'forwarder_org_id', 'departure_id', 'teu', 'unit_price_cents', 'total_cents', 'cancellation_fee_cents'])
    .where('id', '=', bookingId)
    .forUpdate()
    .executeTakeFirst();
  if (!b) return null;
  const d = await departuresForInvoice(tx).where('d.id', '=', b.departure_id).executeTakeFirstOrThrow();
  return { ...d, ...b }; // the booking's id, not the departure's
}
type LockedBooking = NonNullable<Awaited<ReturnType<typeof lockBooking>>>;

function routeText(b: LockedBooking): string {
  const mode = b.mode.charAt(0).toUpperCase() + b.mode.slice(1);
  const when = b.departs_at.toISOString().slice(0, 16).replace('T', ' ');
  return `${mode} ${b.origin}→${b.destination}, ${b.asset_name}, departs ${when} UTC, ${b.teu} TEU × ${euros(b.unit_price_cents)}`;
}

async function postTransaction(
  tx: Tx,
  t: { key: string; kind: string; bookingId: string; description: string },
  entries: Entry[],
): Promise<string> {
  const [id] = await postTransactions(tx, [{ ...t, entries }]);
  return id!;
}

/** Issues an invoice or credit note with the issuer's next number of the year (counter row locked by the upsert). */
async function issueInvoice(
  tx: Tx,
  o: {
    kind: 'invoice' | 'credit_note';
    issuerOrgId: string;
    issuerSlug: string;
    recipientOrgId: string;
    vatBps: number;
    now: Date;
    lines: { bookingId: string; description: string; quantityTeu: number; unitPriceCents: number; amountCents: number }[];
  },
): Promise<{ id: string; number: string }> {
  const [inv] = await issueInvoices(tx, [o]);
  return inv!;
}

/** Posts many balanced transactions with two statements; returns their ids in the order given. */
async function postTransactions(
  tx: Tx,
  ts: { key: string; kind: string; bookingId: string; description: string; entries: Entry[] }[],
): Promise<string[]> {
  if (ts.length === 0) return [];
  const rows = await tx
    .insertInto('ledger_transactions')
    .values(ts.map((t) => ({ idempotency_key: t.key, kind: t.kind, booking_id: t.bookingId, description: t.description })))
    .returning(['id', 'idempotency_key'])
    .execute();
  const idOf = new Map(rows.map((r) => [r.idempotency_key, r.id]));
  const ids = ts.map((t) => idOf.get(t.key)!);
  await tx
    .insertInto('ledger_entries')
    .values(
      ts.flatMap((t, i) =>
        t.entries.filter((e) => e.amountCents > 0).map((e) => ({ transaction_id: ids[i]!, account_id: e.accountId, direction: e.direction, amount_cents: e.amountCents })),
      ),
    )
    .execute();
  return ids;
}

type InvoiceInput = Parameters<typeof issueInvoice>[1];

/**
 * Issues many invoices: each issuer's counter (locked in issuer order, so batches never deadlock) moves by
 * the number it issues here, and the numbers are handed out in the order given — gapless as one by one.
 */
async function issueInvoices(tx: Tx, list: InvoiceInput[]): Promise<{ id: string; number: string }[]> {
  if (list.length === 0) return [];
  const year = list[0]!.now.getUTCFullYear();
  const countOf = new Map<string, number>();
  for (const o of list) countOf.set(o.issuerOrgId, (countOf.get(o.issuerOrgId) ?? 0) + 1);
  const next = new Map<string, number>(); // issuer → first number of this batch
  for (const issuer of [...countOf.keys()].sort()) {
    const k = countOf.get(issuer)!;
    const c = await tx
      .insertInto('invoice_counters')
      .values({ issuer_org_id: issuer, year, last_number: k })
      .onConflict((oc) => oc.columns(['issuer_org_id', 'year']).doUpdateSet({ last_number: sql`invoice_counters.last_number + ${k}` }))
      .returning('last_number')
      .executeTakeFirstOrThrow();
    next.set(issuer, c.last_number - k + 1);
  }
  const rows = list.map((o) => {
    const seq = next.get(o.issuerOrgId)!;
    next.set(o.issuerOrgId, seq + 1);
    const net = o.lines.reduce((s, l) => s + l.amountCents, 0);
    const vat = vatOf(net, o.vatBps);
    return {
      issuer_org_id: o.issuerOrgId,
      recipient_org_id: o.recipientOrgId,
      year,
      seq,
      number: invoiceNumber(o.issuerSlug, year, seq),
      kind: o.kind,
      net_cents: net,
      vat_cents: vat,
      total_cents: net + vat,
      vat_note: vatNote(o.vatBps),
      issued_at: o.now,
    };
  });
  const inserted = await tx.insertInto('invoices').values(rows).returning(['id', 'number']).execute();
  const idOf = new Map(inserted.map((r) => [r.number, r.id]));
  await tx
    .insertInto('invoice_lines')
    .values(
      list.flatMap((o, i) =>
        o.lines.map((l) => ({
          invoice_id: idOf.get(rows[i]!.number)!,
          booking_id: l.bookingId,
          description: l.description,
          quantity_teu: l.quantityTeu,
          unit_price_cents: l.unitPriceCents,
          amount_cents: l.amountCents,
        })),
      ),
    )
    .execute();
  return rows.map((r) => ({ id: idOf.get(r.number)!, number: r.number }));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class LedgerService {
  constructor(
    private readonly db: Db,
    private readonly cfg: Config,
  ) {}

  /**
   * The account of (org, kind), created on first use. Runs outside the settlement transaction (its own
   * autocommit statement), so settlement transactions never wait on each other's account inserts.
   */
  /** Account ids never change once created: remembered per process (saves two queries per account). */
  private readonly accountIds = new Map<string, string>();

  async account(orgId: string | null, kind: LedgerAccountKind): Promise<string> {
    const memo = `${orgId ?? 'platform'}:${kind}`;
    const known = this.accountIds.get(memo);
    if (known) return known;
    await this.db
      .insertInto('ledger_accounts')
      .values({ org_id: orgId, kind })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const row = await this.db
      .selectFrom('ledger_accounts')
      .select('id')
      .where((eb) => (orgId === null ? eb('org_id', 'is', null) : eb('org_id', '=', orgId)))
      .where('kind', '=', kind)
      .executeTakeFirstOrThrow();
    if (this.accountIds.size > 50_000) this.accountIds.clear();
    this.accountIds.set(memo, row.id);
    return row.id;
  }

  /** The forwarder and the operator of a booking (to find their accounts before the transaction). */
  private partiesOf(bookingId: string) {
    return this.db
      .selectFrom('bookings as b')
      .innerJoin('departures as d', 'd.id', 'b.departure_id')
      .select(['b.forwarder_org_id', 'd.operator_org_id'])
      .where('b.id', '=', bookingId)
      .executeTakeFirst();
  }

  /**
   * Posts a booking's charge and release and issues its invoice, exactly once (see the class comment).
   * A booking cancelled before settlement is charged its cancellation fee only (nothing at all if 0).
   */
  async settleBooking(bookingId: string): Promise<SettleResult> {
    const [r] = await this.settleBookings([bookingId]);
    if (r instanceof Error) throw r;
    return r!;
  }

  /**
   * What the settlement job calls: bookings settled at the same moment in this process share one
   * transaction (group commit, no timer: a lone booking goes at once). If a shared transaction fails,
   * each of its bookings is tried on its own, so one bad booking cannot hold up the others.
   */
  settleQueued(bookingId: string): Promise<SettleResult> {
    // two lanes: while one batch commits, the other is being written (they meet only at the invoice counter)
    return this.settleBatcher.submit(`settle:${this.lane++ % 4}`, bookingId);
  }

  private lane = 0;

  private readonly settleBatcher = new KeyedBatcher<string, SettleResult>(async (_key, ids) => {
    try {
      return await this.settleBookings(ids);
    } catch (err) {
      if (ids.length === 1) throw err;
      const out: (SettleResult | Error)[] = [];
      for (const id of ids) out.push(await this.settleBooking(id).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
      return out;
    }
  }, 1000);

  /**
   * Settles many bookings in one transaction, each exactly as settleBooking would on its own: bookings
   * locked in id order, then set-based inserts of the transfers, entries, invoices and audit rows, and the
   * invoice counter of each issuer (locked in issuer order) moved by the number of invoices it issues —
   * still gapless, numbers in booking-id order. All of it commits or none of it does.
   */
  async settleBookings(bookingIds: string[]): Promise<(SettleResult | Error)[]> {
    const ids = [...new Set(bookingIds)].sort();
    const results = new Map<string, SettleResult>();
    const missing = (id: string): SettleResult => ({ bookingId: id, already: false, amountCents: 0 });
    if (ids.length === 0) return [];
    // accounts outside the transaction (their own autocommit inserts; ids remembered per process)
    const parties = await this.db
      .selectFrom('bookings as b')
      .innerJoin('departures as d', 'd.id', 'b.departure_id')
      .select(['b.id', 'b.forwarder_org_id', 'd.operator_org_id'])
      .where('b.id', 'in', ids)
      .execute();
    const [escrow, revenue] = await Promise.all([this.account(null, 'escrow'), this.account(null, 'platform_revenue')]);
    const payable = new Map<string, string>();
    const receivable = new Map<string, string>();
    for (const p of parties) {
      payable.set(p.forwarder_org_id, await this.account(p.forwarder_org_id, 'forwarder_payable'));
      receivable.set(p.operator_org_id, await this.account(p.operator_org_id, 'operator_receivable'));
    }

    await inTransaction(this.db, async (tx) => {
      results.clear();
      const locked = await tx
        .selectFrom('bookings')
        .select(['id', 'status', 'forwarder_org_id', 'departure_id', 'teu', 'unit_price_cents', 'total_cents', 'cancellation_fee_cents'])
        .where('id', 'in', ids)
        .orderBy('id')
        .forUpdate()
        .execute();
      if (locked.length === 0) return;
      const lockedIds = locked.map((b) => b.id);
      const deps = await departuresForInvoice(tx)
        .where('d.id', 'in', [...new Set(locked.map((b) => b.departure_id))])
        .execute();
      const depOf = new Map(deps.map((d) => [d.id, d]));
      const charged = await tx
        .selectFrom('ledger_transactions as t')
        .innerJoin('ledger_entries as e', 'e.transaction_id', 't.id')
        .select(['t.id', 't.booking_id', sql<number>`sum(e.amount_cents) filter (where e.direction = 'debit')::bigint`.as('amount')])
        .where('t.idempotency_key', 'in', lockedIds.map(ledgerKeys.charge))
        .groupBy('t.id')
        .execute();
      const chargeOf = new Map(charged.map((c) => [c.booking_id!, c]));
      const freeSeen = new Set(
        (
          await tx
            .selectFrom('audit_log')
            .select('entity_id')
            .where('action', '=', 'ledger.settle')
            .where('entity_type', '=', 'booking')
            .where('entity_id', 'in', lockedIds)
            .execute()
        ).map((r) => r.entity_id),
      );

      type Post = { b: LockedBooking; amount: number; operatorCents: number; feeCents: number; cancelled: boolean; what: string };
      const posts: Post[] = [];
      const audits: { id: string; data: Record<string, unknown> }[] = [];
      for (const row of locked) {
        const d = depOf.get(row.departure_id)!;
        const b: LockedBooking = { ...d, ...row }; // the booking's id, not the departure's
        const decision = decideSettlement(
          { status: b.status, totalCents: b.total_cents, cancellationFeeCents: b.cancellation_fee_cents },
          { chargedCents: chargeOf.get(b.id)?.amount ?? null, freeRecorded: freeSeen.has(b.id) },
          this.cfg.platformFeeBps,
        );
        if (decision.kind === 'already') {
          results.set(b.id, { bookingId: b.id, already: true, amountCents: decision.amountCents, chargeTransactionId: chargeOf.get(b.id)?.id });
        } else if (decision.kind === 'free') {
          audits.push({ id: b.id, data: { amountCents: 0, reason: 'cancelled_free' } });
          results.set(b.id, { bookingId: b.id, already: false, amountCents: 0 });
        } else {
          const what = decision.cancelled ? `cancellation fee of booking ${b.id}` : `booking ${b.id}`;
          posts.push({ b, amount: decision.amountCents, operatorCents: decision.operatorCents, feeCents: decision.feeCents, cancelled: decision.cancelled, what });
        }
      }

      if (posts.length > 0) {
        const chargeIds = await postTransactions(
          tx,
          posts.map((p) => ({
            key: ledgerKeys.charge(p.b.id),
            kind: 'charge',
            bookingId: p.b.id,
            description: `Charge for ${p.what}`,
            entries: [
              { accountId: payable.get(p.b.forwarder_org_id)!, direction: 'debit' as const, amountCents: p.amount },
              { accountId: escrow, direction: 'credit' as const, amountCents: p.amount },
            ],
          })),
        );
        // TEST-ONLY fault injection (SETTLE_PAUSE_MS): hold the transaction open half way so that a test can
        // SIGKILL the worker here and show that nothing of the settlement survives.
        if (this.cfg.settlePauseMs > 0) await sleep(this.cfg.settlePauseMs);
        const releaseIds = await postTransactions(
          tx,
          posts.map((p) => ({
            key: ledgerKeys.release(p.b.id),
            kind: 'release',
            bookingId: p.b.id,
            description: `Release of ${p.what}: operator ${euros(p.operatorCents)}, platform fee ${euros(p.feeCents)} (${this.cfg.platformFeeBps} bp)`,
            entries: [
              { accountId: escrow, direction: 'debit' as const, amountCents: p.amount },
              { accountId: receivable.get(p.b.operator_org_id)!, direction: 'credit' as const, amountCents: p.operatorCents },
              { accountId: revenue, direction: 'credit' as const, amountCents: p.feeCents },
            ],
          })),
        );
        const confirmed = posts.filter((p) => p.b.status === 'confirmed').map((p) => p.b.id);
        if (confirmed.length > 0) {
          await tx.updateTable('bookings').set({ status: 'settled' }).where('id', 'in', confirmed).where('status', '=', 'confirmed').execute();
        }
        const now = new Date();
        const invoices = await issueInvoices(
          tx,
          posts.map((p) => ({
            kind: 'invoice' as const,
            issuerOrgId: p.b.operator_org_id,
            issuerSlug: p.b.operator_slug,
            recipientOrgId: p.b.forwarder_org_id,
            vatBps: this.cfg.vatRateBps,
            now,
            lines: [
              p.cancelled
                ? {
                    bookingId: p.b.id,
                    description: `Cancellation fee (${euros(p.amount)} of ${euros(p.b.total_cents)}) — ${routeText(p.b)}`,
                    quantityTeu: p.b.teu,
                    unitPriceCents: p.b.unit_price_cents,
                    amountCents: p.amount,
                  }
                : { bookingId: p.b.id, description: routeText(p.b), quantityTeu: p.b.teu, unitPriceCents: p.b.unit_price_cents, amountCents: p.amount },
            ],
          })),
        );
        posts.forEach((p, i) => {
          const r: SettleResult = {
            bookingId: p.b.id,
            already: false,
            amountCents: p.amount,
            feeCents: p.feeCents,
            operatorCents: p.operatorCents,
            chargeTransactionId: chargeIds[i]!,
            releaseTransactionId: releaseIds[i]!,
            invoiceId: invoices[i]!.id,
            invoiceNumber: invoices[i]!.number,
          };
          results.set(p.b.id, r);
          const { bookingId: _b, already: _a, amountCents, ...rest } = r;
          audits.push({ id: p.b.id, data: { amountCents, ...rest, cancelled: p.cancelled } });
        });
      }
      if (audits.length > 0) {
        await tx
          .insertInto('audit_log')
          .values(audits.map((a) => ({ action: 'ledger.settle', entity_type: 'booking', entity_id: a.id, data: JSON.stringify(a.data) })))
          .execute();
      }
    });
    // the same booking twice in one batch (a retried job): the first did the work, the others find it done
    const seen = new Set<string>();
    return bookingIds.map((id) => {
      const r = results.get(id) ?? missing(id);
      if (seen.has(id)) return { ...r, already: true };
      seen.add(id);
      return r;
    });
  }

  /**
   * For a cancelled booking that was charged: gives back charge − cancellation fee, taken from the operator's
   * and the platform's shares (see `refundSplit`), with a credit note. Never charged yet → nothing to do:
   * the settlement will then charge the fee only. Safe in any order with settleBooking (both lock the booking).
   */
  async refundBooking(bookingId: string): Promise<RefundResult> {
    const pre = await this.partiesOf(bookingId);
    if (!pre) return { bookingId, skipped: 'not_found' };
    const [payable, receivable, revenue] = await Promise.all([
      this.account(pre.forwarder_org_id, 'forwarder_payable'),
      this.account(pre.operator_org_id, 'operator_receivable'),
      this.account(null, 'platform_revenue'),
    ]);

    return inTransaction(this.db, async (tx): Promise<RefundResult> => {
      const b = await lockBooking(tx, bookingId);
      if (!b) return { bookingId, skipped: 'not_found' };
      if (b.status !== 'cancelled') return { bookingId, skipped: 'not_cancelled' };
      const done = await tx.selectFrom('ledger_transactions').select('id').where('idempotency_key', '=', ledgerKeys.refund(bookingId)).executeTakeFirst();
      if (done) return { bookingId, already: true, transactionId: done.id };
      const charge = await tx
        .selectFrom('ledger_transactions as t')
        .innerJoin('ledger_entries as e', 'e.transaction_id', 't.id')
        .select(sql<number>`sum(e.amount_cents) filter (where e.direction = 'debit')::bigint`.as('amount'))
        .where('t.idempotency_key', '=', ledgerKeys.charge(bookingId))
        .groupBy('t.id')
        .executeTakeFirst();
      if (!charge) return { bookingId, skipped: 'not_charged' };
      const split = refundSplit(charge.amount, b.cancellation_fee_cents ?? 0, this.cfg.platformFeeBps);
      if (split.refundCents <= 0) return { bookingId, skipped: 'nothing_to_refund', refundCents: 0 };

      const transactionId = await postTransaction(
        tx,
        {
          key: ledgerKeys.refund(bookingId),
          kind: 'refund',
          bookingId,
          description: `Refund of cancelled booking ${bookingId}: ${euros(split.refundCents)} (fee kept ${euros(b.cancellation_fee_cents ?? 0)})`,
        },
        [
          { accountId: receivable, direction: 'debit', amountCents: split.fromOperatorCents },
          { accountId: revenue, direction: 'debit', amountCents: split.fromPlatformCents },
          { accountId: payable, direction: 'credit', amountCents: split.refundCents },
        ],
      );
      const original = await tx
        .selectFrom('invoice_lines as l')
        .innerJoin('invoices as i', 'i.id', 'l.invoice_id')
        .select('i.number')
        .where('l.booking_id', '=', bookingId)
        .where('i.kind', '=', 'invoice')
        .executeTakeFirst();
      const note = await issueInvoice(tx, {
        kind: 'credit_note',
        issuerOrgId: b.operator_org_id,
        issuerSlug: b.operator_slug,
        recipientOrgId: b.forwarder_org_id,
        vatBps: this.cfg.vatRateBps,
        now: new Date(),
        lines: [
          {
            bookingId,
            description: `Refund on cancellation${original ? ` (invoice ${original.number})` : ''}, fee kept ${euros(b.cancellation_fee_cents ?? 0)} — ${routeText(b)}`,
            quantityTeu: b.teu,
            unitPriceCents: b.unit_price_cents,
            amountCents: split.refundCents,
          },
        ],
      });
      await audit(tx, null, 'ledger.refund', { type: 'booking', id: bookingId }, {
        ...split,
        transactionId,
        creditNoteId: note.id,
        creditNoteNumber: note.number,
      });
      return { bookingId, ...split, transactionId, creditNoteId: note.id, creditNoteNumber: note.number };
    });
  }

  /**
   * The safety net behind the outbox and BullMQ: settles every booking that should have been charged but
   * was not (a job lost, or stuck on a killed worker until BullMQ's stalled-job check), and refunds every
   * cancelled, charged booking without its refund. Idempotent like the jobs it stands in for.
   */
  async sweep(olderThanMs = 5_000, limit = 500, log?: SweepLog): Promise<{ settled: number; refunded: number; failed: number }> {
    const cutoff = new Date(Date.now() - olderThanMs);
    const chargeKey = sql<string>`'booking:' || b.id::text || ':charge'`;
    // Only bookings with something to charge: a confirmed booking of 0 cents (possible before the 1-cent
    // minimum price) would be chosen — and stay unsettleable — on every sweep, crowding real ones out of the
    // batch. Bookings whose settlement just failed are left out for a while (back-off) for the same reason.
    const skip = this.sweepFailures.excluded();
    let q = this.db
      .selectFrom('bookings as b')
      .select('b.id')
      .where((eb) =>
        eb.or([
          eb.and([eb('b.status', '=', 'confirmed'), eb('b.total_cents', '>', 0)]),
          eb.and([eb('b.status', '=', 'cancelled'), eb('b.cancellation_fee_cents', '>', 0)]),
        ]),
      )
      .where('b.created_at', '<=', cutoff)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('ledger_transactions as t').select('t.id').where('t.idempotency_key', '=', chargeKey))));
    if (skip.length) q = q.where('b.id', 'not in', skip);
    const unsettled = await q.orderBy('b.created_at').orderBy('b.id').limit(limit).execute();
    const opts = { failures: this.sweepFailures, ...(log ? { log } : {}) };
    const s1 = await eachIsolated('booking.settle', unsettled, (b) => b.id, async ({ id }) => !(await this.settleBooking(id)).already, opts);
    const settled = s1.done;

    let rq = this.db
      .selectFrom('bookings as b')
      .innerJoin('ledger_transactions as t', (j) => j.on('t.idempotency_key', '=', chargeKey))
      .select('b.id')
      .where('b.status', '=', 'cancelled')
      .where('b.cancelled_at', '<=', cutoff)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('ledger_transactions as r').select('r.id').where('r.idempotency_key', '=', sql<string>`'booking:' || b.id::text || ':refund'`))),
      )
      .where(
        sql<boolean>`(select sum(e.amount_cents) from ledger_entries e where e.transaction_id = t.id and e.direction = 'debit') > coalesce(b.cancellation_fee_cents, 0)`,
      );
    if (skip.length) rq = rq.where('b.id', 'not in', skip);
    const unrefunded = await rq.orderBy('b.cancelled_at').orderBy('b.id').limit(limit).execute();
    const s2 = await eachIsolated('booking.refund', unrefunded, (b) => b.id, async ({ id }) => {
      const r = await this.refundBooking(id);
      return !!r.transactionId && !r.already;
    }, opts);
    return { settled, refunded: s2.done, failed: s1.failed + s2.failed };
  }

  private readonly sweepFailures = new RecentFailures();

  /** The caller's organisation's accounts with their balances (platform: the platform accounts). */
  async balance(p: Principal): Promise<{ accounts: Account[] }> {
    const orgId = p.orgKind === 'platform' ? null : p.orgId;
    for (const kind of accountKindsOf(p.orgKind)) await this.account(orgId, kind);
    const rows = await this.db
      .selectFrom('ledger_accounts as a')
      .leftJoin('ledger_entries as e', 'e.account_id', 'a.id')
      .select([
        'a.id',
        'a.kind',
        'a.org_id',
        sql<number>`coalesce(sum(e.amount_cents) filter (where e.direction = 'debit'), 0)::bigint`.as('debits'),
        sql<number>`coalesce(sum(e.amount_cents) filter (where e.direction = 'credit'), 0)::bigint`.as('credits'),
      ])
      .where((eb) => (orgId === null ? eb('a.org_id', 'is', null) : eb('a.org_id', '=', orgId)))
      .groupBy(['a.id', 'a.kind', 'a.org_id'])
      .orderBy('a.kind')
      .execute();
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
    const orgId = p.orgKind === 'platform' ? null : p.orgId;
    const rows = await this.db
      .selectFrom('ledger_entries as e')
      .innerJoin('ledger_accounts as a', 'a.id', 'e.account_id')
      .innerJoin('ledger_transactions as t', 't.id', 'e.transaction_id')
      .select(['e.id', 'e.account_id', 'a.kind as account_kind', 'e.direction', 'e.amount_cents', 't.id as tx_id', 't.kind', 't.description', 't.booking_id', 't.created_at'])
      .where((eb) => (orgId === null ? eb('a.org_id', 'is', null) : eb('a.org_id', '=', orgId)))
      .orderBy('e.id', 'desc')
      .limit(Math.max(1, Math.min(limit, 1000)))
      .execute();
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

  private invoiceQuery() {
    return this.db
      .selectFrom('invoices as i')
      .innerJoin('organisations as io', 'io.id', 'i.issuer_org_id')
      .innerJoin('organisations as ro', 'ro.id', 'i.recipient_org_id')
      .select([
        'i.id', 'i.number', 'i.kind', 'i.issuer_org_id', 'io.name as issuer_name', 'i.recipient_org_id', 'ro.name as recipient_name',
        'i.net_cents', 'i.vat_cents', 'i.total_cents', 'i.vat_note', 'i.issued_at', 'i.year', 'i.seq',
      ]);
  }

  private static summary(r: {
    id: string; number: string; kind: 'invoice' | 'credit_note'; issuer_org_id: string; issuer_name: string; recipient_org_id: string;
    recipient_name: string; net_cents: number; vat_cents: number; total_cents: number; vat_note: string | null; issued_at: Date;
  }): InvoiceSummary {
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

  /** Invoices and credit notes the caller's organisation issued or received (platform: all), newest first. */
  async invoices(p: Principal, limit = 1000): Promise<InvoiceSummary[]> {
    let q = this.invoiceQuery();
    if (p.orgKind !== 'platform') q = q.where((eb) => eb.or([eb('i.issuer_org_id', '=', p.orgId), eb('i.recipient_org_id', '=', p.orgId)]));
    const rows = await q.orderBy('i.issued_at', 'desc').orderBy('i.seq', 'desc').limit(limit).execute();
    return rows.map(LedgerService.summary);
  }

  /** One invoice with its lines: its issuer and recipient only (404 for anyone else). */
  async invoice(p: Principal, id: string): Promise<InvoiceDetail> {
    const r = await this.invoiceQuery().where('i.id', '=', id).executeTakeFirst();
    if (!r) throw notFound('invoice');
    policy.requireSeePrivate(p, [r.issuer_org_id, r.recipient_org_id], 'invoice');
    const lines = await this.db.selectFrom('invoice_lines').selectAll().where('invoice_id', '=', id).orderBy('id').execute();
    return {
      ...LedgerService.summary(r),
      year: r.year,
      seq: r.seq,
      lines: lines.map((l) => ({
        id: Number(l.id),
        bookingId: l.booking_id,
        description: l.description,
        quantityTeu: l.quantity_teu,
        unitPriceCents: l.unit_price_cents,
        amountCents: l.amount_cents,
      })),
    };
  }

  /** A print-ready HTML page of one invoice (same permission as `invoice`). */
  async invoiceHtml(p: Principal, id: string): Promise<string> {
    const inv = await this.invoice(p, id);
    const title = inv.kind === 'credit_note' ? 'Credit note' : 'Invoice';
    const rows = inv.lines
      .map(
        (l) => `<tr><td>${esc(l.description)}</td><td class="num">${l.quantityTeu}</td><td class="num">${euros(l.unitPriceCents)}</td><td class="num">${euros(l.amountCents)}</td></tr>`,
      )
      .join('\n');
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title} ${esc(inv.number)}</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; color: #111; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
  .meta, .parties { display: flex; justify-content: space-between; gap: 2rem; margin: 1rem 0; }
  table { width: 100%; border-collapse: collapse; margin-top: 1rem; }
  th, td { border-bottom: 1px solid #ccc; padding: .4rem .3rem; text-align: left; vertical-align: top; }
  .num { text-align: right; white-space: nowrap; }
  tfoot td { border: none; font-weight: 600; }
  .note { margin-top: 1.5rem; font-size: .9rem; color: #333; }
  .credit { color: #a00; }
  @page { size: A4; margin: 18mm; }
  @media print {
    body { margin: 0; max-width: none; font-size: 11pt; }
    .noprint { display: none; }
    tr { page-break-inside: avoid; }
  }
</style>
</head>
<body>
<p class="noprint">Print this page (Ctrl+P / ⌘P) or save it as PDF.</p>
<h1 class="${inv.kind === 'credit_note' ? 'credit' : ''}">${title} ${esc(inv.number)}</h1>
<div class="meta"><div>Issued ${esc(inv.issuedAt.slice(0, 10))}</div><div>Currency EUR</div></div>
<div class="parties">
  <div><strong>From</strong><br>${esc(inv.issuerName)}</div>
  <div><strong>To</strong><br>${esc(inv.recipientName)}</div>
</div>
<table>
<thead><tr><th>Description</th><th class="num">TEU</th><th class="num">Unit price</th><th class="num">Amount</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot>
<tr><td colspan="3" class="num">Net</td><td class="num">${euros(inv.netCents)}</td></tr>
<tr><td colspan="3" class="num">VAT</td><td class="num">${euros(inv.vatCents)}</td></tr>
<tr><td colspan="3" class="num">${inv.kind === 'credit_note' ? 'Total credited' : 'Total due'}</td><td class="num">${euros(inv.totalCents)}</td></tr>
</tfoot>
</table>
${inv.vatNote ? `<p class="note">${esc(inv.vatNote)}</p>` : ''}
<p class="note">Issued through Cluster Exchange on behalf of ${esc(inv.issuerName)}.</p>
</body>
</html>
`;
  }

  /** The caller's invoices as CSV (amounts in cents; credit notes carry positive amounts and kind credit_note). */
  async invoicesCsv(p: Principal): Promise<string> {
    const list = await this.invoices(p, 100_000);
    const head = ['number', 'kind', 'issued_at', 'issuer', 'recipient', 'net_cents', 'vat_cents', 'total_cents', 'currency', 'id'];
    const lines = list.map((i) =>
      [i.number, i.kind, i.issuedAt, i.issuerName, i.recipientName, i.netCents, i.vatCents, i.totalCents, i.currency, i.id].map(csvCell).join(','),
    );
    return [head.join(','), ...lines].join('\r\n') + '\r\n';
  }

  verify(): Promise<LedgerVerification> {
    return verifyLedger(this.db);
  }
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** RFC 4180 quoting; text starting with = + - @ is prefixed with ' so spreadsheets do not run it as a formula. */
function csvCell(v: string | number): string {
  if (typeof v === 'number') return String(v);
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export interface CheckResult {
  ok: boolean;
  /** How many items were checked. */
  checked: number;
  /** How many broke the rule. */
  violations: number;
  /** Up to 5 offending ids or descriptions. */
  examples: string[];
}
export interface LedgerVerification {
  ok: boolean;
  checks: Record<string, CheckResult & { rule: string }>;
}

/**
 * Checks the whole ledger (reusable from tests and `npm run ledger:verify`). Every rule is computed from
 * the raw rows, and balances two independent ways (per transaction and per account).
 */
export async function verifyLedger(db: Db): Promise<LedgerVerification> {
  const checks: LedgerVerification['checks'] = {};
  const add = (name: string, rule: string, checked: number, bad: string[]) => {
    checks[name] = { rule, ok: bad.length === 0, checked, violations: bad.length, examples: bad.slice(0, 5) };
  };

  // 1. Per transaction: debits = credits, and at least two entries.
  const perTx = await sql<{ id: string; kind: string; booking_id: string | null; n: number; d: number; c: number }>`
    select t.id, t.kind, t.booking_id, count(e.id)::int as n,
           coalesce(sum(e.amount_cents) filter (where e.direction = 'debit'), 0)::bigint as d,
           coalesce(sum(e.amount_cents) filter (where e.direction = 'credit'), 0)::bigint as c
      from ledger_transactions t left join ledger_entries e on e.transaction_id = t.id
     group by t.id`.execute(db);
  const txs = perTx.rows;
  add('transactions_balanced', 'every transaction has debits = credits', txs.length, txs.filter((t) => t.d !== t.c).map((t) => `${t.id}: debits ${t.d} credits ${t.c}`));
  add('transactions_have_entries', 'every transaction has at least two entries', txs.length, txs.filter((t) => t.n < 2).map((t) => `${t.id}: ${t.n} entries`));

  // 2. Per account, two ways: one aggregate over entries, and the fold of per-(transaction, account) subtotals.
  const perAccount = await sql<{ id: string; kind: LedgerAccountKind; d: number; c: number }>`
    select a.id, a.kind,
           coalesce(sum(e.amount_cents) filter (where e.direction = 'debit'), 0)::bigint as d,
           coalesce(sum(e.amount_cents) filter (where e.direction = 'credit'), 0)::bigint as c
      from ledger_accounts a left join ledger_entries e on e.account_id = a.id
     group by a.id`.execute(db);
  const parts = await sql<{ account_id: string; net: number }>`
    select account_id, sum(case when direction = 'debit' then amount_cents else -amount_cents end)::bigint as net
      from ledger_entries group by transaction_id, account_id`.execute(db);
  const folded = new Map<string, number>();
  for (const p of parts.rows) folded.set(p.account_id, (folded.get(p.account_id) ?? 0) + p.net);
  const accBad: string[] = [];
  for (const a of perAccount.rows) {
    const viaTx = folded.get(a.id) ?? 0;
    if (a.d - a.c !== viaTx) accBad.push(`${a.id} (${a.kind}): per-account ${a.d - a.c}, per-transaction ${viaTx}`);
    folded.delete(a.id);
  }
  for (const [id] of folded) accBad.push(`entries on unknown account ${id}`);
  add('account_balances_agree', "each account's balance is the same summed per account and per transaction", perAccount.rows.length, accBad);

  // 3. Trial balance: all debit-minus-credit balances add up to zero, both from accounts and from transactions.
  const sumAccounts = perAccount.rows.reduce((s, a) => s + a.d - a.c, 0);
  const sumTx = txs.reduce((s, t) => s + t.d - t.c, 0);
  const totalD = txs.reduce((s, t) => s + t.d, 0);
  const totalC = perAccount.rows.reduce((s, a) => s + a.c, 0);
  add('trial_balance', 'the sum of all account balances is zero; total debits = total credits', 1, [
    ...(sumAccounts !== 0 ? [`accounts sum to ${sumAccounts}`] : []),
    ...(sumTx !== 0 ? [`transactions sum to ${sumTx}`] : []),
    ...(totalD !== totalC ? [`total debits ${totalD} ≠ total credits ${totalC}`] : []),
  ]);

  // 4. Bookings: one charge each, released in full, refunds within the charge, settled ⇒ charged.
  const charges = new Map<string, number>();
  const releases = new Map<string, number>();
  const refunds = new Map<string, number>();
  const chargeBad: string[] = [];
  for (const t of txs) {
    if (!t.booking_id) continue;
    const m = t.kind === 'charge' ? charges : t.kind === 'release' ? releases : t.kind === 'refund' ? refunds : null;
    if (!m) continue;
    if (m.has(t.booking_id)) chargeBad.push(`booking ${t.booking_id} has two ${t.kind} transactions`);
    m.set(t.booking_id, (m.get(t.booking_id) ?? 0) + t.d);
  }
  add('one_charge_per_booking', 'no booking has two charge (or release, or refund) transactions', charges.size, chargeBad);
  const escrowBad: string[] = [];
  for (const [b, amount] of charges) if (releases.get(b) !== amount) escrowBad.push(`booking ${b}: charged ${amount}, released ${releases.get(b) ?? 0}`);
  for (const [b] of releases) if (!charges.has(b)) escrowBad.push(`booking ${b}: released without a charge`);
  add('escrow_released', "every charge is released from escrow in full, in the same booking's release", charges.size, escrowBad);
  const bookingRows = await db.selectFrom('bookings').select(['id', 'status', 'cancellation_fee_cents']).execute();
  const byId = new Map(bookingRows.map((b) => [b.id, b]));
  const refundBad: string[] = [];
  for (const [b, amount] of refunds) {
    const charged = charges.get(b) ?? 0;
    const fee = byId.get(b)?.cancellation_fee_cents ?? 0;
    if (byId.get(b)?.status !== 'cancelled') refundBad.push(`booking ${b}: refunded but not cancelled`);
    if (amount !== charged - Math.min(fee, charged)) refundBad.push(`booking ${b}: refunded ${amount}, charged ${charged}, fee ${fee}`);
  }
  add('refunds_match', 'a refund is exactly charge − cancellation fee, and only for a cancelled booking', refunds.size, refundBad);
  const settled = bookingRows.filter((b) => b.status === 'settled');
  add('settled_bookings_charged', "every booking in status 'settled' has its charge", settled.length, settled.filter((b) => !charges.has(b.id)).map((b) => b.id));

  // 5. Invoices: numbers 1..n per issuer and year without gaps, counters agree, totals add up, one document per posting.
  const invs = await db.selectFrom('invoices').select(['id', 'issuer_org_id', 'year', 'seq', 'number', 'kind', 'net_cents', 'vat_cents', 'total_cents']).execute();
  const counters = await db.selectFrom('invoice_counters').selectAll().execute();
  const seqs = new Map<string, number[]>();
  for (const i of invs) {
    const k = `${i.issuer_org_id}/${i.year}`;
    seqs.set(k, [...(seqs.get(k) ?? []), i.seq]);
  }
  const numBad: string[] = [];
  for (const [k, list] of seqs) {
    list.sort((a, b) => a - b);
    list.forEach((s, idx) => {
      if (s !== idx + 1) numBad.push(`${k}: position ${idx + 1} has number ${s}`);
    });
    const c = counters.find((c) => `${c.issuer_org_id}/${c.year}` === k);
    if (!c || c.last_number !== list.length) numBad.push(`${k}: counter ${c?.last_number ?? 'missing'} but ${list.length} invoices`);
  }
  for (const c of counters) if (!seqs.has(`${c.issuer_org_id}/${c.year}`) && c.last_number !== 0) numBad.push(`${c.issuer_org_id}/${c.year}: counter ${c.last_number} but no invoices`);
  if (new Set(invs.map((i) => i.number)).size !== invs.length) numBad.push('two invoices share a number');
  add('invoice_numbers_gapless', 'invoice numbers per issuer and year are 1..n without gaps or duplicates', invs.length, numBad);

  const lineSums = await db
    .selectFrom('invoice_lines')
    .select(['invoice_id', sql<number>`sum(amount_cents)::bigint`.as('sum'), sql<string | null>`min(booking_id::text)`.as('booking_id'), sql<number>`count(*)::int`.as('n')])
    .groupBy('invoice_id')
    .execute();
  const linesOf = new Map(lineSums.map((l) => [l.invoice_id, l]));
  const totBad: string[] = [];
  const docs = new Map<string, number>();
  for (const i of invs) {
    const l = linesOf.get(i.id);
    if (!l || l.sum !== i.net_cents) totBad.push(`${i.number}: net ${i.net_cents}, lines ${l?.sum ?? 0}`);
    if (i.total_cents !== i.net_cents + i.vat_cents) totBad.push(`${i.number}: total ≠ net + VAT`);
    if (l?.booking_id) {
      const k = `${i.kind}:${l.booking_id}`;
      docs.set(k, (docs.get(k) ?? 0) + 1);
      const posted = i.kind === 'invoice' ? charges.get(l.booking_id) : refunds.get(l.booking_id);
      if (l.n === 1 && posted !== undefined && posted !== i.net_cents) totBad.push(`${i.number}: net ${i.net_cents}, ledger ${posted}`);
    }
  }
  for (const [b] of charges) if (docs.get(`invoice:${b}`) !== 1) totBad.push(`booking ${b}: ${docs.get(`invoice:${b}`) ?? 0} invoices for one charge`);
  for (const [b] of refunds) if (docs.get(`credit_note:${b}`) !== 1) totBad.push(`booking ${b}: ${docs.get(`credit_note:${b}`) ?? 0} credit notes for one refund`);
  add('invoices_match_ledger', 'totals add up; one invoice per charge and one credit note per refund, for the posted amount', invs.length, totBad);

  return { ok: Object.values(checks).every((c) => c.ok), checks };
}
