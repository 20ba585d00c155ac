import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { ledgerKeys } from '../../server/adapters/db/ledger-repo.ts';
import type { LedgerService } from '../../server/services/ledger/index.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

type BookingJson = { id: string; totalCents: number; status: string; cancellationFeeCents: number | null };

/** Settlement of bookings: double-entry transfers, platform fee, invoices, refunds — exactly once (issue 4). */
describe('settlement: ledger transfers and invoices, exactly once', () => {
  let env: TestEnv;
  let built: App;
  let ledger: LedgerService;
  let f1: Session;
  let op1: Session;
  let admin: Session;
  let opSlug: string;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    ledger = built.ctx.services.ledger;
    [f1, op1, admin] = await Promise.all([
      signIn(built.app, 'forwarder1@demo.test'),
      signIn(built.app, 'operator1@demo.test'),
      signIn(built.app, 'admin@demo.test'),
    ]);
    const org = await env.db.selectFrom('organisations').select('slug').where('id', '=', op1.me.org.id).executeTakeFirstOrThrow();
    opSlug = org.slug.toUpperCase();
  });
  afterEach(async () => {
    const v = await verifyLedger(env.db);
    expect(v.ok, JSON.stringify(v.checks, null, 2)).toBe(true);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  /** A departure of operator1 with one fixed listing (~2 days to the cut-off unless told otherwise). */
  async function departure(o: { unitPriceCents: number; cutoffInMs?: number }) {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 80, capacityTonnes: 2000, listedTeu: 40, ...o });
    await env.db.updateTable('departures').set({ operator_org_id: op1.me.org.id }).where('id', '=', d.departureId).execute();
    return d;
  }

  async function book(listingId: string, teu: number): Promise<BookingJson> {
    const h = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId, teu, tonnes: teu * 10 } });
    expect(h.statusCode, h.body).toBe(201);
    const b = await as(built.app, f1)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} });
    expect(b.statusCode, b.body).toBe(201);
    return b.json();
  }

  /** Balances on the normal side: forwarder owes, operator is owed, platform earned, escrow holds. */
  async function balances() {
    const get = async (s: Session) => {
      const r = await as(built.app, s)({ method: 'GET', url: '/api/ledger/balance' });
      expect(r.statusCode).toBe(200);
      return Object.fromEntries((r.json().accounts as { kind: string; balanceCents: number }[]).map((a) => [a.kind, a.balanceCents]));
    };
    const [f, o, p] = await Promise.all([get(f1), get(op1), get(admin)]);
    return { forwarder: f.forwarder_payable!, operator: o.operator_receivable!, revenue: p.platform_revenue!, escrow: p.escrow! };
  }

  async function ledgerOf(bookingId: string) {
    const txs = await env.db.selectFrom('ledger_transactions').selectAll().where('booking_id', '=', bookingId).orderBy('created_at').execute();
    const entries = txs.length
      ? await env.db
          .selectFrom('ledger_entries as e')
          .innerJoin('ledger_accounts as a', 'a.id', 'e.account_id')
          .select(['e.transaction_id', 'e.direction', 'e.amount_cents', 'a.kind'])
          .where('e.transaction_id', 'in', txs.map((t) => t.id))
          .execute()
      : [];
    const docs = await env.db
      .selectFrom('invoices as i')
      .innerJoin('invoice_lines as l', 'l.invoice_id', 'i.id')
      .select(['i.id', 'i.kind', 'i.number', 'i.seq', 'i.net_cents', 'i.vat_cents', 'i.total_cents', 'i.vat_note', 'i.issuer_org_id', 'i.recipient_org_id', 'l.description', 'l.quantity_teu', 'l.amount_cents'])
      .where('l.booking_id', '=', bookingId)
      .orderBy('i.seq')
      .execute();
    const of = (kind: string) => entries.filter((e) => e.transaction_id === txs.find((t) => t.kind === kind)?.id);
    return { txs, entries, docs, of };
  }

  async function lastSeq(): Promise<number> {
    const year = new Date().getUTCFullYear();
    const c = await env.db.selectFrom('invoice_counters').select('last_number').where('issuer_org_id', '=', op1.me.org.id).where('year', '=', year).executeTakeFirst();
    return c?.last_number ?? 0;
  }

  it('settles a booking once whatever the retries: twice in a row, then 5× at once on another booking', async () => {
    // 3 TEU × €333.33 = €999.99; fee = floor(99 999 × 300 / 10 000) = 2 999 (the 0.97 cent goes to the operator)
    const d = await departure({ unitPriceCents: 33_333 });
    const before = await balances();
    const seq0 = await lastSeq();

    const b = await book(d.listingId, 3);
    expect(b.totalCents).toBe(99_999);
    const first = await ledger.settleBooking(b.id);
    expect(first).toMatchObject({ already: false, amountCents: 99_999, feeCents: 2_999, operatorCents: 97_000 });
    const again = await ledger.settleBooking(b.id);
    expect(again).toMatchObject({ already: true, amountCents: 99_999, chargeTransactionId: first.chargeTransactionId });

    const l = await ledgerOf(b.id);
    expect(l.txs.map((t) => [t.kind, t.idempotency_key]).sort()).toEqual(
      [['charge', ledgerKeys.charge(b.id)], ['release', ledgerKeys.release(b.id)]].sort(),
    );
    expect(l.of('charge').map((e) => [e.kind, e.direction, e.amount_cents]).sort()).toEqual(
      [['escrow', 'credit', 99_999], ['forwarder_payable', 'debit', 99_999]].sort(),
    );
    expect(l.of('release').map((e) => [e.kind, e.direction, e.amount_cents]).sort()).toEqual(
      [['escrow', 'debit', 99_999], ['operator_receivable', 'credit', 97_000], ['platform_revenue', 'credit', 2_999]].sort(),
    );
    for (const t of l.txs) {
      const es = l.entries.filter((e) => e.transaction_id === t.id);
      const sum = (dir: string) => es.filter((e) => e.direction === dir).reduce((s, e) => s + e.amount_cents, 0);
      expect(sum('debit')).toBe(sum('credit'));
    }
    // one invoice, one line, the issuer's next number
    const year = new Date().getUTCFullYear();
    expect(l.docs).toHaveLength(1);
    expect(l.docs[0]).toMatchObject({
      kind: 'invoice',
      seq: seq0 + 1,
      number: `${opSlug}-${year}-${String(seq0 + 1).padStart(6, '0')}`,
      issuer_org_id: op1.me.org.id,
      recipient_org_id: f1.me.org.id,
      net_cents: 99_999,
      vat_cents: 0,
      total_cents: 99_999,
      quantity_teu: 3,
      amount_cents: 99_999,
    });
    expect(l.docs[0]!.description).toMatch(/^Rail DEDUI→ITBLQ, Test Shuttle, departs \d{4}-\d\d-\d\d \d\d:\d\d UTC, 3 TEU × €333\.33$/);
    expect(l.docs[0]!.vat_note).toMatch(/Reverse charge/);
    const bookings = await as(built.app, f1)({ method: 'GET', url: '/api/bookings' });
    expect(bookings.json().find((x: BookingJson) => x.id === b.id).status).toBe('settled');

    // five concurrent settlements of a fresh booking: exactly one posts
    const c = await book(d.listingId, 2);
    const results = await Promise.all(Array.from({ length: 5 }, () => ledger.settleBooking(c.id)));
    expect(results.filter((r) => !r.already)).toHaveLength(1);
    expect(results.every((r) => r.amountCents === 66_666)).toBe(true);
    const lc = await ledgerOf(c.id);
    expect(lc.txs.map((t) => t.kind).sort()).toEqual(['charge', 'release']);
    expect(lc.entries).toHaveLength(5);
    expect(lc.docs).toHaveLength(1);
    expect(lc.docs[0]!.seq).toBe(seq0 + 2);

    // balances moved by exactly the two bookings: fee 3 % rounded down on each
    const after = await balances();
    expect(after.forwarder - before.forwarder).toBe(99_999 + 66_666);
    expect(after.operator - before.operator).toBe(97_000 + 64_667);
    expect(after.revenue - before.revenue).toBe(2_999 + 1_999);
    expect(after.escrow).toBe(0);
  });

  it('a booking cancelled after settlement is refunded (charge − fee) with a credit note, once', async () => {
    const d = await departure({ unitPriceCents: 50_000 });
    const b = await book(d.listingId, 2); // €1,000.00
    await ledger.settleBooking(b.id);
    const before = await balances();
    const cancel = await as(built.app, f1)({ method: 'DELETE', url: `/api/bookings/${b.id}` });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(cancel.json()).toMatchObject({ status: 'cancelled', cancellationFeeCents: 50_000 }); // 50 % inside 7 days

    const r = await ledger.refundBooking(b.id);
    // after the refund each side holds what settling the €500 fee alone would give: platform 1 500, operator 48 500
    expect(r).toMatchObject({ refundCents: 50_000, fromPlatformCents: 3_000 - 1_500, fromOperatorCents: 48_500 });
    expect(await ledger.refundBooking(b.id)).toMatchObject({ already: true, transactionId: r.transactionId });
    expect(await ledger.settleBooking(b.id)).toMatchObject({ already: true });

    const l = await ledgerOf(b.id);
    expect(l.txs.map((t) => t.kind).sort()).toEqual(['charge', 'refund', 'release']);
    expect(l.of('refund').map((e) => [e.kind, e.direction, e.amount_cents]).sort()).toEqual(
      [['forwarder_payable', 'credit', 50_000], ['operator_receivable', 'debit', 48_500], ['platform_revenue', 'debit', 1_500]].sort(),
    );
    expect(l.docs.map((x) => [x.kind, x.net_cents])).toEqual([['invoice', 100_000], ['credit_note', 50_000]]);
    expect(l.docs[1]!.seq).toBe(l.docs[0]!.seq + 1); // same numbering sequence
    expect(l.docs[1]!.description).toContain(l.docs[0]!.number);

    const after = await balances();
    expect(after.forwarder - before.forwarder).toBe(-50_000);
    expect(after.operator - before.operator).toBe(-48_500);
    expect(after.revenue - before.revenue).toBe(-1_500);
    expect(after.escrow).toBe(0);
  });

  it('a booking cancelled before settlement is charged its fee only; a free cancellation posts nothing', async () => {
    const d = await departure({ unitPriceCents: 50_000 });
    const b = await book(d.listingId, 2);
    const before = await balances();
    const cancel = await as(built.app, f1)({ method: 'DELETE', url: `/api/bookings/${b.id}` });
    expect(cancel.json()).toMatchObject({ status: 'cancelled', cancellationFeeCents: 50_000 });
    // the refund job may run first: nothing was charged, so nothing to give back
    expect(await ledger.refundBooking(b.id)).toMatchObject({ skipped: 'not_charged' });
    const s = await ledger.settleBooking(b.id);
    expect(s).toMatchObject({ already: false, amountCents: 50_000, feeCents: 1_500, operatorCents: 48_500 });
    expect(await ledger.refundBooking(b.id)).toMatchObject({ skipped: 'nothing_to_refund' });
    const l = await ledgerOf(b.id);
    expect(l.txs.map((t) => t.kind).sort()).toEqual(['charge', 'release']);
    expect(l.docs).toHaveLength(1);
    expect(l.docs[0]).toMatchObject({ kind: 'invoice', net_cents: 50_000 });
    expect(l.docs[0]!.description).toMatch(/^Cancellation fee/);
    const row = await env.db.selectFrom('bookings').select('status').where('id', '=', b.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('cancelled'); // never 'settled'
    const after = await balances();
    expect([after.forwarder - before.forwarder, after.operator - before.operator, after.revenue - before.revenue]).toEqual([50_000, 48_500, 1_500]);

    // more than 7 days ahead the default rule is free: nothing to charge, no invoice, and that is final
    const far = await departure({ unitPriceCents: 50_000, cutoffInMs: 10 * 86_400_000 });
    const free = await book(far.listingId, 1);
    expect((await as(built.app, f1)({ method: 'DELETE', url: `/api/bookings/${free.id}` })).json().cancellationFeeCents).toBe(0);
    expect(await ledger.settleBooking(free.id)).toMatchObject({ already: false, amountCents: 0 });
    expect(await ledger.settleBooking(free.id)).toMatchObject({ already: true, amountCents: 0 });
    expect(await ledger.refundBooking(free.id)).toMatchObject({ skipped: 'not_charged' });
    const lf = await ledgerOf(free.id);
    expect([lf.txs.length, lf.docs.length]).toEqual([0, 0]);
  });

  it('the sweep settles a confirmed booking whose job never ran, and is idempotent', async () => {
    const d = await departure({ unitPriceCents: 10_000 });
    const b = await book(d.listingId, 1);
    expect(await ledger.sweep(0)).toMatchObject({ settled: 1 });
    expect(await ledger.sweep(0)).toEqual({ settled: 0, refunded: 0, failed: 0 });
    expect((await ledgerOf(b.id)).txs).toHaveLength(2);
  });

  it('the database refuses to change or delete ledger entries and invoices, and any unbalanced transaction', async () => {
    const d = await departure({ unitPriceCents: 10_000 });
    const b = await book(d.listingId, 1);
    const s = await ledger.settleBooking(b.id);
    for (const q of [
      sql`update ledger_entries set amount_cents = amount_cents + 1 where transaction_id = ${s.chargeTransactionId}`,
      sql`delete from ledger_entries where transaction_id = ${s.chargeTransactionId}`,
      sql`update ledger_transactions set description = 'x' where id = ${s.chargeTransactionId}`,
      sql`delete from ledger_transactions where id = ${s.releaseTransactionId}`,
      sql`update invoices set total_cents = 1 where id = ${s.invoiceId}`,
      sql`delete from invoices where id = ${s.invoiceId}`,
      sql`update invoice_lines set amount_cents = 1 where invoice_id = ${s.invoiceId}`,
      sql`delete from invoice_lines where invoice_id = ${s.invoiceId}`,
    ]) {
      await expect(q.execute(env.db)).rejects.toThrow(/append-only/);
    }

    const escrow = await env.db.selectFrom('ledger_accounts').select('id').where('kind', '=', 'escrow').executeTakeFirstOrThrow();
    const payable = await env.db.selectFrom('ledger_accounts').select('id').where('kind', '=', 'forwarder_payable').executeTakeFirstOrThrow();
    const unbalanced = env.db.transaction().execute(async (tx) => {
      const t = await tx
        .insertInto('ledger_transactions')
        .values({ idempotency_key: 'test:unbalanced', kind: 'adjustment', booking_id: null, description: 'unbalanced on purpose' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await tx
        .insertInto('ledger_entries')
        .values([
          { transaction_id: t.id, account_id: payable.id, direction: 'debit', amount_cents: 100 },
          { transaction_id: t.id, account_id: escrow.id, direction: 'credit', amount_cents: 99 },
        ])
        .execute();
    });
    await expect(unbalanced).rejects.toThrow(/unbalanced/);
    expect(await env.db.selectFrom('ledger_transactions').select('id').where('idempotency_key', '=', 'test:unbalanced').executeTakeFirst()).toBeUndefined();
    // an entry added later to a committed, balanced transaction unbalances it: refused too (checked per statement)
    const extra = env.db.insertInto('ledger_entries').values({ transaction_id: s.chargeTransactionId!, account_id: payable.id, direction: 'debit', amount_cents: 1 }).execute();
    await expect(extra).rejects.toThrow(/unbalanced/);
    // a balanced pair added in one statement to a new transaction is fine, and so is a batch of several transactions
    await env.db.transaction().execute(async (tx) => {
      const ts = await tx.insertInto('ledger_transactions')
        .values([1, 2].map((i) => ({ idempotency_key: `test:balanced-${i}`, kind: 'adjustment', booking_id: null, description: 'balanced' })))
        .returning('id').execute();
      await tx.insertInto('ledger_entries').values(ts.flatMap((t) => [
        { transaction_id: t.id, account_id: payable.id, direction: 'debit', amount_cents: 7 },
        { transaction_id: t.id, account_id: escrow.id, direction: 'credit', amount_cents: 7 },
      ])).execute();
    });
    // one unbalanced transaction among balanced ones in the same statement refuses the whole statement
    const mixed = env.db.transaction().execute(async (tx) => {
      const ts = await tx.insertInto('ledger_transactions')
        .values([1, 2].map((i) => ({ idempotency_key: `test:mixed-${i}`, kind: 'adjustment', booking_id: null, description: 'mixed' })))
        .returning('id').execute();
      await tx.insertInto('ledger_entries').values([
        { transaction_id: ts[0]!.id, account_id: payable.id, direction: 'debit', amount_cents: 5 },
        { transaction_id: ts[0]!.id, account_id: escrow.id, direction: 'credit', amount_cents: 5 },
        { transaction_id: ts[1]!.id, account_id: payable.id, direction: 'debit', amount_cents: 5 },
        { transaction_id: ts[1]!.id, account_id: escrow.id, direction: 'credit', amount_cents: 4 },
      ]).execute();
    });
    await expect(mixed).rejects.toThrow(/unbalanced/);
    expect(await env.db.selectFrom('ledger_transactions').select('id').where('idempotency_key', 'like', 'test:mixed-%').execute()).toEqual([]);
    // each INSERT statement must balance on its own (migration 20261204T1200): a pair split over two statements is refused
    const split = env.db.transaction().execute(async (tx) => {
      const t = await tx.insertInto('ledger_transactions')
        .values({ idempotency_key: 'test:split', kind: 'adjustment', booking_id: null, description: 'split' })
        .returning('id').executeTakeFirstOrThrow();
      await tx.insertInto('ledger_entries').values({ transaction_id: t.id, account_id: payable.id, direction: 'debit', amount_cents: 3 }).execute();
      await tx.insertInto('ledger_entries').values({ transaction_id: t.id, account_id: escrow.id, direction: 'credit', amount_cents: 3 }).execute();
    });
    await expect(split).rejects.toThrow(/unbalanced/);
    expect(await env.db.selectFrom('ledger_transactions').select('id').where('idempotency_key', '=', 'test:split').executeTakeFirst()).toBeUndefined();
  });

  it('group commit: 80 bookings of two operators settled at once (each job twice, some cancelled) → each exactly once, gapless numbers per issuer', async () => {
    const ops = await env.db.selectFrom('organisations').select(['id', 'slug']).where('kind', '=', 'operator').orderBy('slug').limit(2).execute();
    expect(ops).toHaveLength(2);
    const deps: Awaited<ReturnType<typeof departure>>[] = [];
    for (const op of ops) {
      const d = await departure({ unitPriceCents: 12_345 });
      await env.db.updateTable('departures').set({ operator_org_id: op.id, booked_teu: 40, booked_tonnes: 400 }).where('id', '=', d.departureId).execute();
      deps.push(d);
    }
    const rows = Array.from({ length: 80 }, (_, i) => {
      const d = deps[i % 2]!;
      const kind = i % 10 === 3 ? 'cancelled_fee' : i % 10 === 7 ? 'cancelled_free' : 'confirmed';
      return {
        departure_id: d.departureId, listing_id: d.listingId, forwarder_org_id: f1.me.org.id, teu: 1, tonnes: 10, unit_price_cents: 12_345, total_cents: 12_345,
        status: kind === 'confirmed' ? ('confirmed' as const) : ('cancelled' as const),
        cancellation_fee_cents: kind === 'cancelled_fee' ? 6_172 : kind === 'cancelled_free' ? 0 : null,
        cancelled_at: kind === 'confirmed' ? null : new Date(),
      };
    });
    const ids = (await env.db.insertInto('bookings').values(rows).returning('id').execute()).map((r) => r.id);
    const before = new Map(
      (await env.db.selectFrom('invoice_counters').selectAll().where('issuer_org_id', 'in', ops.map((o) => o.id)).execute()).map((c) => [c.issuer_org_id, c.last_number]),
    );

    // every job twice, all at once, as a worker with many jobs in flight would run them
    const results = await Promise.all([...ids, ...ids].map((id) => ledger.settleQueued(id)));
    const fresh = results.filter((r) => !r.already);
    expect(fresh).toHaveLength(80); // one of each pair did the work, the other found it done

    const charges = await env.db.selectFrom('ledger_transactions').select(['booking_id', 'kind']).where('booking_id', 'in', ids).execute();
    const count = (kind: string) => charges.filter((c) => c.kind === kind).length;
    expect(count('charge')).toBe(72); // 8 free cancellations post nothing
    expect(count('release')).toBe(72);
    expect(new Set(charges.filter((c) => c.kind === 'charge').map((c) => c.booking_id)).size).toBe(72);
    const settled = await env.db.selectFrom('bookings').select(['status']).where('id', 'in', ids).execute();
    expect(settled.filter((b) => b.status === 'settled')).toHaveLength(64);

    // each issuer's new invoices take exactly the next numbers, no gap, no duplicate
    for (const [k, op] of ops.entries()) {
      const expected = rows.filter((r, i) => i % 2 === k && r.cancellation_fee_cents !== 0).length; // 40 and 32
      const inv = await env.db
        .selectFrom('invoices as i')
        .innerJoin('invoice_lines as l', 'l.invoice_id', 'i.id')
        .select(['i.seq', 'i.number'])
        .where('i.issuer_org_id', '=', op.id)
        .where('l.booking_id', 'in', ids)
        .orderBy('i.seq')
        .execute();
      expect(inv).toHaveLength(expected);
      const from = (before.get(op.id) ?? 0) + 1;
      expect(inv.map((x) => x.seq)).toEqual(Array.from({ length: expected }, (_, i) => from + i));
      expect(inv[0]!.number).toBe(`${op.slug.toUpperCase()}-${new Date().getUTCFullYear()}-${String(from).padStart(6, '0')}`);
    }
    // a fee-only cancellation was charged its fee, not the total
    const feeOnly = ids[3]!;
    expect(results.find((r) => r.bookingId === feeOnly && !r.already)?.amountCents).toBe(6_172);
  });
});
