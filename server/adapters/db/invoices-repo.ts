import { sql } from 'kysely';
import { anyOf, epochMicros, fromEpochMicros, type Db } from './db.ts';
import { departureQuery } from './departures-repo.ts';
import { invoiceNumber, vatNote, vatOf } from '../../core/settlement.ts';
import type { Scope } from '../../domain/principal.ts';

/**
 * Invoices and credit notes (operator → forwarder, one line per booking), their lines and the gapless
 * number counter per issuer and year. Insert-only like the ledger: a trigger refuses UPDATE and DELETE.
 */

export interface InvoiceToIssue {
  kind: 'invoice' | 'credit_note';
  issuerOrgId: string;
  issuerSlug: string;
  recipientOrgId: string;
  vatBps: number;
  /**
   * The issue time: never before the latest the issuer's counter handed out, so numbers and times rise together —
   * unless `exactTime` (a batch that settles the past, the history seed, keeps its simulated time).
   */
  now: Date;
  exactTime?: boolean;
  /** bookingId null: a line of no single booking's charge or refund (a pool share's credit note). */
  lines: { bookingId: string | null; description: string; quantityTeu: number; unitPriceCents: number; amountCents: number }[];
}

/**
 * Issues many invoices: each issuer's counter (locked in issuer order, so batches never deadlock) moves by
 * the number it issues here, and the numbers are handed out in the order given — gapless as one by one.
 * All invoices of one call carry the year of the first one's `now`.
 */
export async function issueInvoices(tx: Db, list: InvoiceToIssue[]): Promise<{ id: string; number: string; issuedAt: Date }[]> {
  if (list.length === 0) return [];
  const year = list[0]!.now.getUTCFullYear();
  const next = await takeNumbers(tx, year, list);
  const rows = list.map((o) => {
    const { seq, issuedAt } = next.get(o.issuerOrgId)!;
    next.set(o.issuerOrgId, { seq: seq + 1, issuedAt });
    const at = o.exactTime ? o.now : issuedAt;
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
      issued_at: at,
    };
  });
  // per-row values as arrays (unnest): a few parameters however many invoices (see anyOf in ./db.ts)
  const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
  const inserted = await sql<{ id: string; number: string }>`
    insert into invoices (issuer_org_id, recipient_org_id, year, seq, number, kind, net_cents, vat_cents, total_cents, vat_note, issued_at)
    select * from unnest(${col('issuer_org_id')}::uuid[], ${col('recipient_org_id')}::uuid[], ${col('year')}::int[], ${col('seq')}::int[],
      ${col('number')}::text[], ${col('kind')}::text[], ${col('net_cents')}::bigint[], ${col('vat_cents')}::bigint[], ${col('total_cents')}::bigint[],
      ${col('vat_note')}::text[], ${rows.map((r) => r.issued_at.toISOString())}::timestamptz[])
    returning id, number`.execute(tx);
  const idOf = new Map(inserted.rows.map((r) => [r.number, r.id]));
  const lines = list.flatMap((o, i) => o.lines.map((l) => ({ invoiceId: idOf.get(rows[i]!.number)!, ...l })));
  await sql`
    insert into invoice_lines (invoice_id, booking_id, description, quantity_teu, unit_price_cents, amount_cents)
    select * from unnest(${lines.map((l) => l.invoiceId)}::uuid[], ${lines.map((l) => l.bookingId ?? null)}::uuid[], ${lines.map((l) => l.description)}::text[],
      ${lines.map((l) => l.quantityTeu)}::int[], ${lines.map((l) => l.unitPriceCents)}::bigint[], ${lines.map((l) => l.amountCents)}::bigint[])`.execute(tx);
  return rows.map((r) => ({ id: idOf.get(r.number)!, number: r.number, issuedAt: r.issued_at }));
}

/**
 * Moves each issuer's counter of `year` by how many invoices it issues here (counter rows locked by the upsert, in
 * issuer order); issuer → its first new number and the issue time of its invoices: the later of their own time and
 * the latest the counter handed out before, so that an issuer's numbers and issue times rise together even when
 * settlement lanes that started in one order take the counter in the other.
 */
async function takeNumbers(tx: Db, year: number, list: InvoiceToIssue[]): Promise<Map<string, { seq: number; issuedAt: Date }>> {
  const of = new Map<string, { k: number; now: Date }>();
  for (const o of list) {
    const c = of.get(o.issuerOrgId);
    of.set(o.issuerOrgId, { k: (c?.k ?? 0) + 1, now: c && c.now > o.now ? c.now : o.now });
  }
  const next = new Map<string, { seq: number; issuedAt: Date }>();
  for (const issuer of [...of.keys()].sort()) {
    const { k, now } = of.get(issuer)!;
    const c = await tx
      .insertInto('invoice_counters')
      .values({ issuer_org_id: issuer, year, last_number: k, last_issued_at: now })
      .onConflict((oc) =>
        oc.columns(['issuer_org_id', 'year']).doUpdateSet({
          last_number: sql`invoice_counters.last_number + ${k}`,
          last_issued_at: sql`greatest(invoice_counters.last_issued_at, excluded.last_issued_at)`,
        }),
      )
      .returning(['last_number', 'last_issued_at'])
      .executeTakeFirstOrThrow();
    next.set(issuer, { seq: c.last_number - k + 1, issuedAt: c.last_issued_at });
  }
  return next;
}

/** Departures with what an invoice line says of them: the shared departure fragment plus the operator's slug. */
export function invoiceDepartures(tx: Db, departureIds: string[]) {
  return departureQuery(tx).select('op.slug as operator_slug').where('d.id', '=', anyOf(departureIds)).execute();
}
export type InvoiceDepartureRow = Awaited<ReturnType<typeof invoiceDepartures>>[number];

/** The number of the invoice that charged this booking, if any (a credit note refers to it). */
export async function invoiceNumberOfBooking(tx: Db, bookingId: string): Promise<string | undefined> {
  const r = await tx
    .selectFrom('invoice_lines as l')
    .innerJoin('invoices as i', 'i.id', 'l.invoice_id')
    .select('i.number')
    .where('l.booking_id', '=', bookingId)
    .where('i.kind', '=', 'invoice')
    .executeTakeFirst();
  return r?.number;
}

/** Reusable fragment: an invoice with its issuer's and recipient's names. */
function invoiceQuery(db: Db) {
  return db
    .selectFrom('invoices as i')
    .innerJoin('organisations as io', 'io.id', 'i.issuer_org_id')
    .innerJoin('organisations as ro', 'ro.id', 'i.recipient_org_id')
    .select([
      'i.id', 'i.number', 'i.kind', 'i.issuer_org_id', 'io.name as issuer_name', 'i.recipient_org_id', 'ro.name as recipient_name',
      'i.net_cents', 'i.vat_cents', 'i.total_cents', 'i.vat_note', 'i.issued_at', 'i.year', 'i.seq',
    ]);
}
export type InvoiceRow = Awaited<ReturnType<ReturnType<typeof invoiceQuery>['executeTakeFirstOrThrow']>>;

/** What narrows a list of invoices: the other party, and issue times in [fromAt, toBefore). */
export interface InvoiceWindow {
  counterpartyOrgId?: string | undefined;
  fromAt?: Date | undefined;
  toBefore?: Date | undefined;
}

/** The organisations `scope` has invoices with (the platform: every issuer and recipient), with how many, by name. */
export async function invoiceCounterparties(db: Db, scope: Scope): Promise<{ org_id: string; name: string; invoices: number }[]> {
  const counted =
    scope.kind === 'all'
      ? sql`select x.org_id, count(*) as n from invoices i cross join lateral unnest(array[i.issuer_org_id, i.recipient_org_id]) as x(org_id) group by 1`
      : sql`select case when i.issuer_org_id = ${scope.orgId} then i.recipient_org_id else i.issuer_org_id end as org_id, count(*) as n
              from invoices i where i.issuer_org_id = ${scope.orgId} or i.recipient_org_id = ${scope.orgId} group by 1`;
  const r = await sql<{ org_id: string; name: string; invoices: number }>`
    select o.id as org_id, o.name, c.n::int as invoices from (${counted}) c join organisations o on o.id = c.org_id order by o.name, o.id`.execute(db);
  return r.rows;
}

/** Where a page of invoices ends: the last row's issue time in Postgres's microseconds, its number's sequence, its id. */
export interface InvoiceKey {
  atUs: number;
  seq: number;
  id: string;
}

/**
 * Invoices within `scope`, newest first (then highest number first): all of them, or those its organisation issued
 * or received; `before`: only those after that row in this order (keyset paging, stable while new invoices arrive).
 */
export function listInvoices(db: Db, scope: Scope, limit: number, before?: InvoiceKey, filter: InvoiceWindow = {}): Promise<(InvoiceRow & { at_us: number })[]> {
  let q = invoiceQuery(db).select(epochMicros('i.issued_at').as('at_us'));
  if (scope.kind !== 'all') q = q.where((eb) => eb.or([eb('i.issuer_org_id', '=', scope.orgId), eb('i.recipient_org_id', '=', scope.orgId)]));
  const other = filter.counterpartyOrgId;
  if (other) {
    q = scope.kind === 'all'
      ? q.where((eb) => eb.or([eb('i.issuer_org_id', '=', other), eb('i.recipient_org_id', '=', other)]))
      : q.where((eb) => eb.or([
          eb.and([eb('i.issuer_org_id', '=', scope.orgId), eb('i.recipient_org_id', '=', other)]),
          eb.and([eb('i.recipient_org_id', '=', scope.orgId), eb('i.issuer_org_id', '=', other)]),
        ]));
  }
  if (filter.fromAt) q = q.where('i.issued_at', '>=', filter.fromAt);
  if (filter.toBefore) q = q.where('i.issued_at', '<', filter.toBefore);
  if (before) {
    q = q.where(sql<boolean>`(i.issued_at, i.seq, i.id) < (${fromEpochMicros(before.atUs)}, ${before.seq}::bigint, ${before.id}::uuid)`);
  }
  return q.orderBy('i.issued_at', 'desc').orderBy('i.seq', 'desc').orderBy('i.id', 'desc').limit(limit).execute();
}

export function findInvoice(db: Db, id: string): Promise<InvoiceRow | undefined> {
  return invoiceQuery(db).where('i.id', '=', id).executeTakeFirst();
}

export function linesOfInvoice(db: Db, invoiceId: string) {
  return db.selectFrom('invoice_lines').selectAll().where('invoice_id', '=', invoiceId).orderBy('id').execute();
}

// --- whole-register reads (the verifier) ----------------------------------------------------------------

export function allInvoices(db: Db) {
  return db.selectFrom('invoices').select(['id', 'issuer_org_id', 'year', 'seq', 'number', 'kind', 'net_cents', 'vat_cents', 'total_cents']).execute();
}

export function allInvoiceCounters(db: Db) {
  return db.selectFrom('invoice_counters').selectAll().execute();
}

/** Up to 100 invoice lines naming an invoice that does not exist (refused at insert per statement, migration 20261204T1500). */
export function orphanInvoiceLines(db: Db) {
  return db
    .selectFrom('invoice_lines as l')
    .select(['l.id', 'l.invoice_id'])
    .where((eb) => eb.not(eb.exists(eb.selectFrom('invoices as i').select('i.id').whereRef('i.id', '=', 'l.invoice_id'))))
    .limit(100)
    .execute();
}

/** Per invoice: the sum of its lines, their number and (the first) booking they are for. */
export function invoiceLineSums(db: Db) {
  return db
    .selectFrom('invoice_lines')
    .select(['invoice_id', sql<number>`sum(amount_cents)::bigint`.as('sum'), sql<string | null>`min(booking_id::text)`.as('booking_id'), sql<number>`count(*)::int`.as('n')])
    .groupBy('invoice_id')
    .execute();
}
