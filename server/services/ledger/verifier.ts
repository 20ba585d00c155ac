import type { Db } from '../../adapters/db/db.ts';
import { allAccountTotals, bookingStatuses, orphanEntries, transactionAccountNets, transactionTotals } from '../../adapters/db/ledger-repo.ts';
import { allInvoiceCounters, allInvoices, invoiceLineSums, orphanInvoiceLines } from '../../adapters/db/invoices-repo.ts';
import { rebatePostings } from '../../adapters/db/rebates-repo.ts';

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

type Add = (name: string, rule: string, checked: number, bad: string[]) => void;
type Tx = Awaited<ReturnType<typeof transactionTotals>>[number];
type AccountTotal = Awaited<ReturnType<typeof allAccountTotals>>[number];
/** Per booking, the amount (sum of debits) of its charge, release and refund transactions. */
type Postings = { charges: Map<string, number>; releases: Map<string, number>; refunds: Map<string, number> };

/**
 * Checks the whole ledger (reusable from tests and `npm run ledger:verify`). Every rule is computed from
 * the raw rows, and balances two independent ways (per transaction and per account).
 */
export async function verifyLedger(db: Db): Promise<LedgerVerification> {
  const checks: LedgerVerification['checks'] = {};
  const add: Add = (name, rule, checked, bad) => {
    checks[name] = { rule, ok: bad.length === 0, checked, violations: bad.length, examples: bad.slice(0, 5) };
  };
  const txs = await transactionTotals(db);
  checkTransactions(add, txs);
  const accounts = await allAccountTotals(db);
  checkBalances(add, txs, accounts, await transactionAccountNets(db));
  const postings = checkBookings(add, txs, await bookingStatuses(db));
  await checkInvoices(add, db, postings);
  await checkRebates(add, db);
  await checkReferences(add, db, txs);
  return { ok: Object.values(checks).every((c) => c.ok), checks };
}

/** 0. References: every entry names an existing transaction, every invoice line an existing invoice (accounts: check 2). */
async function checkReferences(add: Add, db: Db, txs: Tx[]): Promise<void> {
  const entries = await orphanEntries(db);
  const lines = await orphanInvoiceLines(db);
  const bad = [...entries.map((e) => `entry ${e.id}: unknown transaction ${e.transaction_id}`), ...lines.map((l) => `invoice line ${l.id}: unknown invoice ${l.invoice_id}`)];
  add('references_exist', 'every ledger entry names an existing transaction and every invoice line an existing invoice', txs.reduce((s, t) => s + t.n, 0) + bad.length, bad);
}

/** 1. Per transaction: debits = credits, and at least two entries. */
function checkTransactions(add: Add, txs: Tx[]): void {
  add('transactions_balanced', 'every transaction has debits = credits', txs.length, txs.filter((t) => t.d !== t.c).map((t) => `${t.id}: debits ${t.d} credits ${t.c}`));
  add('transactions_have_entries', 'every transaction has at least two entries', txs.length, txs.filter((t) => t.n < 2).map((t) => `${t.id}: ${t.n} entries`));
}

/**
 * 2. Per account, two ways: one aggregate over entries, and the fold of per-(transaction, account) subtotals.
 * 3. Trial balance: all debit-minus-credit balances add up to zero, both from accounts and from transactions.
 */
function checkBalances(add: Add, txs: Tx[], accounts: AccountTotal[], parts: { account_id: string; net: number }[]): void {
  const folded = new Map<string, number>();
  for (const p of parts) folded.set(p.account_id, (folded.get(p.account_id) ?? 0) + p.net);
  const accBad: string[] = [];
  for (const a of accounts) {
    const viaTx = folded.get(a.id) ?? 0;
    if (a.d - a.c !== viaTx) accBad.push(`${a.id} (${a.kind}): per-account ${a.d - a.c}, per-transaction ${viaTx}`);
    folded.delete(a.id);
  }
  for (const [id] of folded) accBad.push(`entries on unknown account ${id}`);
  add('account_balances_agree', "each account's balance is the same summed per account and per transaction", accounts.length, accBad);

  const sumAccounts = accounts.reduce((s, a) => s + a.d - a.c, 0);
  const sumTx = txs.reduce((s, t) => s + t.d - t.c, 0);
  const totalD = txs.reduce((s, t) => s + t.d, 0);
  const totalC = accounts.reduce((s, a) => s + a.c, 0);
  add('trial_balance', 'the sum of all account balances is zero; total debits = total credits', 1, [
    ...(sumAccounts !== 0 ? [`accounts sum to ${sumAccounts}`] : []),
    ...(sumTx !== 0 ? [`transactions sum to ${sumTx}`] : []),
    ...(totalD !== totalC ? [`total debits ${totalD} ≠ total credits ${totalC}`] : []),
  ]);
}

/** 4. Bookings: one charge each, released in full, refunds within the charge, settled ⇒ charged. */
function checkBookings(add: Add, txs: Tx[], bookingRows: { id: string; status: string; cancellation_fee_cents: number | null }[]): Postings {
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
  return { charges, releases, refunds };
}

/** 6. Pool shares: each paid once (unique key), for an accepted proposal, never more than its share. */
async function checkRebates(add: Add, db: Db): Promise<void> {
  const rows = await rebatePostings(db);
  const bad = rows
    .filter((r) => !r.proposal_id || r.status !== 'accepted' || r.share_cents === null || Number(r.amount) > Number(r.share_cents) || Number(r.amount) <= 0)
    .map((r) => `${r.key}: paid ${r.amount}, share ${r.share_cents ?? 'none'}, proposal ${r.status ?? 'missing'}`);
  add('pool_shares_match', 'a pool share is paid for an accepted proposal only, at most its share', rows.length, bad);
}

/** 5. Invoices: numbers 1..n per issuer and year without gaps, counters agree, totals add up, one document per posting. */
async function checkInvoices(add: Add, db: Db, { charges, refunds }: Postings): Promise<void> {
  const invs = await allInvoices(db);
  const counters = await allInvoiceCounters(db);
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

  const linesOf = new Map((await invoiceLineSums(db)).map((l) => [l.invoice_id, l]));
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
}
