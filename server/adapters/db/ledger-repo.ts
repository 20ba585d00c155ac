import { sql } from 'kysely';
import { anyOf, type Db } from './db.ts';
import type { LedgerAccountKind } from '../../domain/enums.ts';

/**
 * The double-entry ledger's queries: accounts, transactions and entries (insert-only: a trigger refuses
 * UPDATE and DELETE, a deferred constraint trigger refuses any unbalanced transaction at commit), and the
 * bookings as settlement sees them (locked for settling, marked settled, still owed a charge or a refund).
 * Every function takes the caller's handle: the pool, or a transaction opened by the service.
 */

/** Idempotency keys of a booking's ledger transactions: unique, so each is posted at most once. */
export const ledgerKeys = {
  charge: (bookingId: string) => `booking:${bookingId}:charge`,
  release: (bookingId: string) => `booking:${bookingId}:release`,
  refund: (bookingId: string) => `booking:${bookingId}:refund`,
};
/** The same keys in SQL, for the booking row aliased `b` (kept beside `ledgerKeys` so both spell them alike). */
const chargeKeyOfB = sql<string>`'booking:' || b.id::text || ':charge'`;
const refundKeyOfB = sql<string>`'booking:' || b.id::text || ':refund'`;

/** The amount of a transaction: the sum of its debits. */
const debitSum = sql<number>`sum(e.amount_cents) filter (where e.direction = 'debit')::bigint`;
const debitsOf = sql<number>`coalesce(sum(e.amount_cents) filter (where e.direction = 'debit'), 0)::bigint`;
const creditsOf = sql<number>`coalesce(sum(e.amount_cents) filter (where e.direction = 'credit'), 0)::bigint`;

// --- accounts ---------------------------------------------------------------------------------------

/** The id of the account of (org, kind) — org null for the platform's — created on first use (autocommit). */
export async function findOrCreateAccount(db: Db, orgId: string | null, kind: LedgerAccountKind): Promise<string> {
  await db
    .insertInto('ledger_accounts')
    .values({ org_id: orgId, kind })
    .onConflict((oc) => oc.doNothing())
    .execute();
  const row = await db
    .selectFrom('ledger_accounts')
    .select('id')
    .where((eb) => (orgId === null ? eb('org_id', 'is', null) : eb('org_id', '=', orgId)))
    .where('kind', '=', kind)
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The accounts of one owner (null: the platform's) with their debit and credit totals, by kind. */
export function accountTotals(db: Db, ownerOrgId: string | null) {
  return db
    .selectFrom('ledger_accounts as a')
    .leftJoin('ledger_entries as e', 'e.account_id', 'a.id')
    .select(['a.id', 'a.kind', 'a.org_id', debitsOf.as('debits'), creditsOf.as('credits')])
    .where((eb) => (ownerOrgId === null ? eb('a.org_id', 'is', null) : eb('a.org_id', '=', ownerOrgId)))
    .groupBy(['a.id', 'a.kind', 'a.org_id'])
    .orderBy('a.kind')
    .execute();
}

/** The newest entries on one owner's accounts (null: the platform's), with their transaction. */
export function recentEntries(db: Db, ownerOrgId: string | null, limit: number) {
  return db
    .selectFrom('ledger_entries as e')
    .innerJoin('ledger_accounts as a', 'a.id', 'e.account_id')
    .innerJoin('ledger_transactions as t', 't.id', 'e.transaction_id')
    .select(['e.id', 'e.account_id', 'a.kind as account_kind', 'e.direction', 'e.amount_cents', 't.id as tx_id', 't.kind', 't.description', 't.booking_id', 't.created_at'])
    .where((eb) => (ownerOrgId === null ? eb('a.org_id', 'is', null) : eb('a.org_id', '=', ownerOrgId)))
    .orderBy('e.id', 'desc')
    .limit(limit)
    .execute();
}

// --- transactions ---------------------------------------------------------------------------------------

export interface EntryInput {
  accountId: string;
  direction: 'debit' | 'credit';
  amountCents: number;
}
export interface TransactionInput {
  key: string;
  /** pool_rebate: a forwarder's share of the pool's saving (issue 13), not tied to one booking. */
  kind: 'charge' | 'release' | 'refund' | 'pool_rebate';
  bookingId: string | null;
  description: string;
  entries: EntryInput[];
}

/** Posts many balanced transactions with two statements (entries of 0 cents are left out); ids in the order given. */
export async function postTransactions(tx: Db, ts: TransactionInput[]): Promise<string[]> {
  if (ts.length === 0) return [];
  // per-row values travel as arrays (unnest): a statement of four parameters however many rows — a VALUES list of
  // thousands of parameters costs more to build, send and parse than the rows cost to insert
  const rows = await sql<{ id: string; idempotency_key: string }>`
    insert into ledger_transactions (idempotency_key, kind, booking_id, description)
    select * from unnest(${ts.map((t) => t.key)}::text[], ${ts.map((t) => t.kind)}::text[], ${ts.map((t) => t.bookingId ?? null)}::uuid[],
      ${ts.map((t) => t.description)}::text[])
    returning id, idempotency_key`.execute(tx);
  const idOf = new Map(rows.rows.map((r) => [r.idempotency_key, r.id]));
  const ids = ts.map((t) => idOf.get(t.key)!);
  const entries = ts.flatMap((t, i) => t.entries.filter((e) => e.amountCents > 0).map((e) => ({ tx: ids[i]!, ...e })));
  await sql`
    insert into ledger_entries (transaction_id, account_id, direction, amount_cents)
    select * from unnest(${entries.map((e) => e.tx)}::uuid[], ${entries.map((e) => e.accountId)}::uuid[], ${entries.map((e) => e.direction)}::text[],
      ${entries.map((e) => e.amountCents)}::bigint[])`.execute(tx);
  return ids;
}

/** The charges already posted for these bookings: transaction id and amount per booking. */
export function chargesOf(tx: Db, bookingIds: string[]) {
  return tx
    .selectFrom('ledger_transactions as t')
    .innerJoin('ledger_entries as e', 'e.transaction_id', 't.id')
    .select(['t.id', 't.booking_id', debitSum.as('amount')])
    .where('t.idempotency_key', '=', anyOf(bookingIds.map(ledgerKeys.charge), 'text'))
    .groupBy('t.id')
    .execute();
}

/** The id of the transaction posted under `key`, if any. */
export async function transactionIdByKey(tx: Db, key: string): Promise<string | undefined> {
  return (await tx.selectFrom('ledger_transactions').select('id').where('idempotency_key', '=', key).executeTakeFirst())?.id;
}

// --- bookings, as settlement sees them ------------------------------------------------------------------

/** The forwarder and the operator of each booking (to find their accounts before the transaction). */
export function partiesOf(db: Db, bookingIds: string[]) {
  return db
    .selectFrom('bookings as b')
    .innerJoin('departures as d', 'd.id', 'b.departure_id')
    .select(['b.id', 'b.forwarder_org_id', 'd.operator_org_id'])
    .where('b.id', '=', anyOf(bookingIds))
    .execute();
}

/** Locks these bookings FOR UPDATE, in id order (so concurrent batches never deadlock); what settling needs of each. */
export function lockBookingsForSettlement(tx: Db, bookingIds: string[]) {
  return tx
    .selectFrom('bookings')
    .select(['id', 'status', 'forwarder_org_id', 'departure_id', 'teu', 'unit_price_cents', 'total_cents', 'cancellation_fee_cents'])
    .where('id', '=', anyOf(bookingIds))
    .orderBy('id')
    .forUpdate()
    .execute();
}
export type SettlingBookingRow = Awaited<ReturnType<typeof lockBookingsForSettlement>>[number];

/** confirmed → settled for these bookings (a booking cancelled meanwhile keeps its status). */
export async function markSettled(tx: Db, bookingIds: string[]): Promise<void> {
  if (bookingIds.length === 0) return;
  await tx.updateTable('bookings').set({ status: 'settled' }).where('id', '=', anyOf(bookingIds)).where('status', '=', 'confirmed').execute();
}

/**
 * Bookings created before `cutoff` that should have been charged but were not, oldest first. Only those with
 * something to charge: a confirmed booking of 0 cents (possible before the 1-cent minimum price) would be
 * chosen — and stay unsettleable — on every sweep, crowding real ones out of the batch.
 */
export function unchargedBookings(db: Db, o: { cutoff: Date; skip: string[]; limit: number }) {
  let q = db
    .selectFrom('bookings as b')
    .select('b.id')
    .where((eb) =>
      eb.or([
        eb.and([eb('b.status', '=', 'confirmed'), eb('b.total_cents', '>', 0)]),
        eb.and([eb('b.status', '=', 'cancelled'), eb('b.cancellation_fee_cents', '>', 0)]),
      ]),
    )
    .where('b.created_at', '<=', o.cutoff)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('ledger_transactions as t').select('t.id').where('t.idempotency_key', '=', chargeKeyOfB))));
  if (o.skip.length) q = q.where('b.id', 'not in', o.skip);
  return q.orderBy('b.created_at').orderBy('b.id').limit(o.limit).execute();
}

/** Bookings cancelled before `cutoff`, charged more than their cancellation fee and not yet refunded, oldest first. */
export function unrefundedBookings(db: Db, o: { cutoff: Date; skip: string[]; limit: number }) {
  let q = db
    .selectFrom('bookings as b')
    .innerJoin('ledger_transactions as t', (j) => j.on('t.idempotency_key', '=', chargeKeyOfB))
    .select('b.id')
    .where('b.status', '=', 'cancelled')
    .where('b.cancelled_at', '<=', o.cutoff)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('ledger_transactions as r').select('r.id').where('r.idempotency_key', '=', refundKeyOfB))))
    .where(
      sql<boolean>`(select sum(e.amount_cents) from ledger_entries e where e.transaction_id = t.id and e.direction = 'debit') > coalesce(b.cancellation_fee_cents, 0)`,
    );
  if (o.skip.length) q = q.where('b.id', 'not in', o.skip);
  return q.orderBy('b.cancelled_at').orderBy('b.id').limit(o.limit).execute();
}

// --- whole-ledger reads (the verifier) ------------------------------------------------------------------

/** Every transaction with its entry count and its debit and credit totals. */
export async function transactionTotals(db: Db) {
  const r = await sql<{ id: string; kind: string; booking_id: string | null; n: number; d: number; c: number }>`
    select t.id, t.kind, t.booking_id, count(e.id)::int as n,
           coalesce(sum(e.amount_cents) filter (where e.direction = 'debit'), 0)::bigint as d,
           coalesce(sum(e.amount_cents) filter (where e.direction = 'credit'), 0)::bigint as c
      from ledger_transactions t left join ledger_entries e on e.transaction_id = t.id
     group by t.id`.execute(db);
  return r.rows;
}

/** Every account with its debit and credit totals, aggregated over its entries. */
export async function allAccountTotals(db: Db) {
  const r = await sql<{ id: string; kind: LedgerAccountKind; d: number; c: number }>`
    select a.id, a.kind,
           coalesce(sum(e.amount_cents) filter (where e.direction = 'debit'), 0)::bigint as d,
           coalesce(sum(e.amount_cents) filter (where e.direction = 'credit'), 0)::bigint as c
      from ledger_accounts a left join ledger_entries e on e.account_id = a.id
     group by a.id`.execute(db);
  return r.rows;
}

/** Net (debits − credits) per (transaction, account): folded per account, a second way to each balance. */
export async function transactionAccountNets(db: Db) {
  const r = await sql<{ account_id: string; net: number }>`
    select account_id, sum(case when direction = 'debit' then amount_cents else -amount_cents end)::bigint as net
      from ledger_entries group by transaction_id, account_id`.execute(db);
  return r.rows;
}

/** Up to 100 entries naming a transaction that does not exist (refused at insert per statement, migration 20261204T1500). */
export function orphanEntries(db: Db) {
  return db
    .selectFrom('ledger_entries as e')
    .select(['e.id', 'e.transaction_id'])
    .where((eb) => eb.not(eb.exists(eb.selectFrom('ledger_transactions as t').select('t.id').whereRef('t.id', '=', 'e.transaction_id'))))
    .limit(100)
    .execute();
}

/** Every booking's status and cancellation fee. */
export function bookingStatuses(db: Db) {
  return db.selectFrom('bookings').select(['id', 'status', 'cancellation_fee_cents']).execute();
}
