import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { App } from '../../server/http/app.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

/** Who sees which balance, transfers and invoices (issue 4 permissions; API.md "Money and keys"). */
describe('finance endpoints: balances, transfers and invoices per organisation', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let op1: Session;
  let op2: Session;
  let admin: Session;
  let bookingId: string;
  let invoiceId: string;
  let invoiceNumber: string;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    [f1, f2, op1, op2, admin] = await Promise.all([
      signIn(built.app, 'forwarder1@demo.test'),
      signIn(built.app, 'forwarder2@demo.test'),
      signIn(built.app, 'operator1@demo.test'),
      signIn(built.app, 'operator2@demo.test'),
      signIn(built.app, 'admin@demo.test'),
    ]);
    const d = await createDepartureWithListing(env.db, { capacityTeu: 50, capacityTonnes: 1000, listedTeu: 20, unitPriceCents: 120_000 });
    await env.db.updateTable('departures').set({ operator_org_id: op1.me.org.id }).where('id', '=', d.departureId).execute();
    const h = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 2, tonnes: 20 } });
    const b = await as(built.app, f1)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: { reference: 'PO-<script>' } });
    expect(b.statusCode).toBe(201);
    bookingId = b.json().id;
    const s = await built.ctx.services.ledger.settleBooking(bookingId);
    invoiceId = s.invoiceId!;
    invoiceNumber = s.invoiceNumber!;
  });
  afterEach(async () => {
    const v = await verifyLedger(env.db);
    expect(v.ok, JSON.stringify(v.checks, null, 2)).toBe(true);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  it('GET /api/invoices lists own invoices only (API.md shape); another forwarder and operator see none of them', async () => {
    const mine = await as(built.app, f1)({ method: 'GET', url: '/api/invoices' });
    expect(mine.statusCode).toBe(200);
    const inv = mine.json().find((i: { id: string }) => i.id === invoiceId);
    expect(inv).toMatchObject({
      id: invoiceId,
      number: invoiceNumber,
      issuerOrgId: op1.me.org.id,
      recipientOrgId: f1.me.org.id,
      totalCents: 240_000,
      vatCents: 0,
      netCents: 240_000,
      kind: 'invoice',
    });
    expect(inv.issuedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(invoiceNumber).toMatch(/^[A-Z0-9-]+-\d{4}-\d{6}$/);
    expect((await as(built.app, op1)({ method: 'GET', url: '/api/invoices' })).json().some((i: { id: string }) => i.id === invoiceId)).toBe(true);
    expect((await as(built.app, admin)({ method: 'GET', url: '/api/invoices' })).json().some((i: { id: string }) => i.id === invoiceId)).toBe(true);
    for (const other of [f2, op2]) {
      const list = await as(built.app, other)({ method: 'GET', url: '/api/invoices' });
      expect(list.statusCode).toBe(200);
      expect(list.json().some((i: { id: string }) => i.id === invoiceId)).toBe(false);
    }
    expect((await as(built.app, null)({ method: 'GET', url: '/api/invoices' })).statusCode).toBe(401);
  });

  it('GET /api/invoices/:id: issuer and recipient 200 with lines; anyone else 404; bad id 400', async () => {
    for (const who of [f1, op1, admin]) {
      const r = await as(built.app, who)({ method: 'GET', url: `/api/invoices/${invoiceId}` });
      expect(r.statusCode).toBe(200);
      expect(r.json().lines).toEqual([expect.objectContaining({ bookingId, quantityTeu: 2, unitPriceCents: 120_000, amountCents: 240_000, lineNo: 1 })]);
    }
    // API.md: ids are UUID strings — a line's too (it was the table's integer key), the same at every read
    const ids = await Promise.all([f1, op1].map(async (who) => (await as(built.app, who)({ method: 'GET', url: `/api/invoices/${invoiceId}` })).json().lines[0].id as string));
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[1]).toBe(ids[0]);
    for (const other of [f2, op2]) {
      const r = await as(built.app, other)({ method: 'GET', url: `/api/invoices/${invoiceId}` });
      expect(r.statusCode).toBe(404);
      expectErrorShape(r.json());
      expect((await as(built.app, other)({ method: 'GET', url: `/api/invoices/${invoiceId}/print` })).statusCode).toBe(404);
    }
    expect((await as(built.app, f1)({ method: 'GET', url: '/api/invoices/00000000-0000-4000-8000-000000000000' })).statusCode).toBe(404);
    expect((await as(built.app, f1)({ method: 'GET', url: '/api/invoices/not-a-uuid' })).statusCode).toBe(400);
  });

  it('print (HTML) and CSV work for issuer and recipient; CSV of another forwarder does not contain the invoice', async () => {
    for (const who of [f1, op1]) {
      const html = await as(built.app, who)({ method: 'GET', url: `/api/invoices/${invoiceId}/print` });
      expect(html.statusCode).toBe(200);
      expect(html.headers['content-type']).toMatch(/^text\/html/);
      expect(html.body).toContain(invoiceNumber);
      expect(html.body).toContain('@media print');
      expect(html.body).toContain('€2,400.00');
      expect(html.body).toContain('Reverse charge');
      const csv = await as(built.app, who)({ method: 'GET', url: '/api/invoices.csv' });
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      const lines = csv.body.trim().split('\r\n');
      expect(lines[0]).toBe('number,kind,issued_at,issuer,recipient,net_cents,vat_cents,total_cents,currency,id,net_eur,vat_eur,total_eur');
      expect(lines.some((l) => l.startsWith(`${invoiceNumber},invoice,`) && l.includes(',240000,0,240000,EUR,') && l.endsWith(`,${invoiceId},2400.00,0.00,2400.00`))).toBe(true);
    }
    const other = await as(built.app, f2)({ method: 'GET', url: '/api/invoices.csv' });
    expect(other.statusCode).toBe(200);
    expect(other.body).not.toContain(invoiceNumber);
  });

  it("balance and transfers show the caller's own accounts only", async () => {
    const fb = (await as(built.app, f1)({ method: 'GET', url: '/api/ledger/balance' })).json();
    expect(fb.accounts).toEqual([expect.objectContaining({ kind: 'forwarder_payable', orgId: f1.me.org.id, balanceCents: 240_000, normalSide: 'debit' })]);
    const ob = (await as(built.app, op1)({ method: 'GET', url: '/api/ledger/balance' })).json();
    expect(ob.accounts).toEqual([expect.objectContaining({ kind: 'operator_receivable', orgId: op1.me.org.id, balanceCents: 232_800 })]);
    const pb = (await as(built.app, admin)({ method: 'GET', url: '/api/ledger/balance' })).json();
    expect(Object.fromEntries(pb.accounts.map((a: { kind: string; balanceCents: number }) => [a.kind, a.balanceCents]))).toEqual({ escrow: 0, platform_revenue: 7_200 });
    const f2b = (await as(built.app, f2)({ method: 'GET', url: '/api/ledger/balance' })).json();
    expect(f2b.accounts).toEqual([expect.objectContaining({ kind: 'forwarder_payable', orgId: f2.me.org.id, balanceCents: 0 })]);
    const sched = await as(built.app, await signIn(built.app, 'scheduler@demo.test'))({ method: 'GET', url: '/api/ledger/balance' });
    expect(sched.json()).toEqual({ accounts: [] });

    const ft = (await as(built.app, f1)({ method: 'GET', url: '/api/ledger/transfers?limit=10' })).json();
    expect(ft).toEqual([expect.objectContaining({ kind: 'charge', direction: 'debit', amountCents: 240_000, bookingId, accountKind: 'forwarder_payable' })]);
    const ot = (await as(built.app, op1)({ method: 'GET', url: '/api/ledger/transfers' })).json();
    expect(ot).toEqual([expect.objectContaining({ kind: 'release', direction: 'credit', amountCents: 232_800, bookingId })]);
    expect((await as(built.app, f2)({ method: 'GET', url: '/api/ledger/transfers' })).json()).toEqual([]);
    expect((await as(built.app, f1)({ method: 'GET', url: '/api/ledger/transfers?limit=0' })).statusCode).toBe(400);
    expect((await as(built.app, null)({ method: 'GET', url: '/api/ledger/balance' })).statusCode).toBe(401);
  });

  // last: its invoices would change the balances the test above checks
  it('GET /api/invoices pages newest first without overlap or gap — also among invoices of one settlement (one issue time) and across issuers', async () => {
    // two operators' departures, bookings of two forwarders, settled in two batches: every invoice of a batch shares its issue time
    const deps = await Promise.all([op1, op2].map(async (op) => {
      const d = await createDepartureWithListing(env.db, { capacityTeu: 500, capacityTonnes: 10_000, listedTeu: 400, unitPriceCents: 10_000 });
      await env.db.updateTable('departures').set({ operator_org_id: op.me.org.id, booked_teu: 60, booked_tonnes: 600 }).where('id', '=', d.departureId).execute();
      return d;
    }));
    const booked = await env.db.insertInto('bookings').values(Array.from({ length: 60 }, (_, i) => {
      const d = deps[i % 2]!;
      return { departure_id: d.departureId, listing_id: d.listingId, forwarder_org_id: (i % 3 === 0 ? f2 : f1).me.org.id, teu: 1, tonnes: 10, unit_price_cents: 10_000 + i, total_cents: 10_000 + i };
    })).returning('id').execute();
    const ids = booked.map((b) => b.id);
    const batch = new Date(Date.now() - 60_000);
    for (const [part, at] of [[ids.slice(0, 40), batch], [ids.slice(40), new Date(batch.getTime() + 1)]] as const) {
      expect((await built.ctx.services.ledger.settleBookings([...part], at)).every((r) => !(r instanceof Error))).toBe(true);
    }

    const pages = async (s: Session, limit: number) => {
      const seen: string[] = [];
      let url: string | null = `/api/invoices?limit=${limit}`;
      for (let n = 0; url && n < 100; n++) {
        const r = await as(built.app, s)({ method: 'GET', url });
        expect(r.statusCode, r.body).toBe(200);
        const page = r.json() as { id: string }[];
        expect(page.length).toBeLessThanOrEqual(limit);
        seen.push(...page.map((i) => i.id));
        const next = r.headers['x-next-cursor'];
        if (typeof next === 'string') {
          expect(page.length).toBe(limit);
          expect(String(r.headers.link)).toBe(`</api/invoices?before=${encodeURIComponent(next)}&limit=${limit}>; rel="next"`);
        }
        url = typeof next === 'string' ? `/api/invoices?limit=${limit}&before=${next}` : null;
      }
      return seen;
    };
    const expected = async (orgId: string | null) => {
      let q = env.db.selectFrom('invoices').select('id').orderBy('issued_at', 'desc').orderBy('seq', 'desc').orderBy('id', 'desc');
      if (orgId) q = q.where((eb) => eb.or([eb('issuer_org_id', '=', orgId), eb('recipient_org_id', '=', orgId)]));
      return (await q.execute()).map((r) => r.id);
    };
    for (const [s, orgId] of [[f1, f1.me.org.id], [f2, f2.me.org.id], [op1, op1.me.org.id], [admin, null]] as const) {
      const want = await expected(orgId);
      expect(want.length).toBeGreaterThan(15);
      for (const limit of [7, 1000]) expect(await pages(s, limit), `${s.me.user.email} by ${limit}`).toEqual(want);
    }
    // an issuer's own list reads in its number order within a batch
    const numbers = (await as(built.app, op2)({ method: 'GET', url: '/api/invoices?limit=1000' })).json().map((i: { number: string }) => i.number);
    expect(numbers).toEqual([...numbers].sort().reverse());
    // a forwarder's cursor does not open another's invoices: the page after it is still only the caller's own
    const f1Page = await as(built.app, f1)({ method: 'GET', url: '/api/invoices?limit=3' });
    const f2Next = await as(built.app, f2)({ method: 'GET', url: `/api/invoices?before=${String(f1Page.headers['x-next-cursor'])}` });
    expect(f2Next.statusCode).toBe(200);
    const f2Ids = new Set(await expected(f2.me.org.id));
    expect((f2Next.json() as { id: string }[]).every((i) => f2Ids.has(i.id))).toBe(true);
    for (const q of ['?limit=0', '?limit=1001', '?limit=abc', '?before=abc', '?before=1_2_not-a-uuid', `?before=1_${'9'.repeat(11)}_${invoiceId}`, '?offset=5']) {
      const r = await as(built.app, f1)({ method: 'GET', url: `/api/invoices${q}` });
      expect(r.statusCode, q).toBe(400);
      expectErrorShape(r.json());
    }
    // the largest cursor the schema lets through is still a plain page (beyond 32-bit numbers and far in the future)
    const far = await as(built.app, f1)({ method: 'GET', url: `/api/invoices?before=9999999999999999_9999999999_${invoiceId}` });
    expect(far.statusCode, far.body).toBe(200);
    expect((far.json() as unknown[]).length).toBe(Math.min(1000, (await expected(f1.me.org.id)).length));
  });
  it('the invoice list narrows to one counterparty and to issue days, pages within that, and its CSV follows; bad days are 400', async () => {
    const all = async (s: Session, q: string) => {
      const out: { id: string; issuerOrgId: string; recipientOrgId: string; issuedAt: string }[] = [];
      let url: string | null = `/api/invoices?limit=5${q}`;
      while (url) {
        const r = await as(built.app, s)({ method: 'GET', url });
        expect(r.statusCode, r.body).toBe(200);
        out.push(...r.json());
        const next = r.headers['x-next-cursor'];
        // the next link keeps the filters
        if (typeof next === 'string') for (const part of q.split('&').filter(Boolean)) expect(String(r.headers.link)).toContain(part);
        url = typeof next === 'string' ? `/api/invoices?limit=5${q}&before=${next}` : null;
      }
      return out;
    };
    const parties = (await as(built.app, op1)({ method: 'GET', url: '/api/invoices/counterparties' })).json() as { orgId: string; name: string; invoices: number }[];
    const f1Party = parties.find((x) => x.orgId === f1.me.org.id);
    expect(f1Party, 'operator 1 has invoiced forwarder 1').toBeDefined();
    const withF1 = await all(op1, `&counterpartyOrgId=${f1.me.org.id}`);
    expect(withF1.length).toBe(f1Party!.invoices);
    for (const i of withF1) expect([i.issuerOrgId, i.recipientOrgId].sort()).toEqual([op1.me.org.id, f1.me.org.id].sort());
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from invoices where (issuer_org_id = ${op1.me.org.id} and recipient_org_id = ${f1.me.org.id}) or (issuer_org_id = ${f1.me.org.id} and recipient_org_id = ${op1.me.org.id})`.execute(env.db);
    expect(withF1.length).toBe(rows[0]!.n);
    // counterparties add up to the whole list
    const everything = await all(op1, '');
    expect(parties.reduce((n, x) => n + x.invoices, 0)).toBe(everything.length);
    // one issue day: exactly the invoices issued that UTC day
    const day = everything[0]!.issuedAt.slice(0, 10);
    const thatDay = await all(op1, `&from=${day}&to=${day}`);
    expect(thatDay.map((i) => i.id)).toEqual(everything.filter((i) => i.issuedAt.slice(0, 10) === day).map((i) => i.id));
    // the CSV follows the same filters
    const csv = await as(built.app, op1)({ method: 'GET', url: `/api/invoices.csv?counterpartyOrgId=${f1.me.org.id}` });
    expect(csv.statusCode).toBe(200);
    expect(csv.body.trim().split('\n').length - 1).toBe(withF1.length);
    for (const q of ['from=2026-02-30', 'to=2026-13-01', 'from=2026-12-05&to=2026-12-04', 'counterpartyOrgId=nope', 'from=5']) {
      for (const path of ['/api/invoices', '/api/invoices.csv']) {
        const r = await as(built.app, op1)({ method: 'GET', url: `${path}?${q}` });
        expect(r.statusCode, `${path}?${q}`).toBe(400);
        expectErrorShape(r.json());
      }
    }
    // another organisation named as the counterparty opens nothing of theirs: only the caller's own invoices with it
    const f2WithOp1 = await all(f2, `&counterpartyOrgId=${op1.me.org.id}`);
    for (const i of f2WithOp1) expect([i.issuerOrgId, i.recipientOrgId]).toContain(f2.me.org.id);
  });
});

/** verifyLedger finds what it is meant to find (the database cannot refuse everything by itself). */
describe('verifyLedger detects violations', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ ledgerCheck: false }) // corrupts the ledger on purpose;
  });
  afterAll(() => env?.cleanup());

  it('reports a charge without its release and a gap in invoice numbers', async () => {
    expect((await verifyLedger(env.db)).ok).toBe(true);
    const [fwd, op] = await Promise.all([
      env.db.selectFrom('organisations').select('id').where('kind', '=', 'forwarder').executeTakeFirstOrThrow(),
      env.db.selectFrom('organisations').select('id').where('kind', '=', 'operator').executeTakeFirstOrThrow(),
    ]);
    const d = await createDepartureWithListing(env.db, { capacityTeu: 10, capacityTonnes: 100 });
    const b = await env.db
      .insertInto('bookings')
      .values({ departure_id: d.departureId, listing_id: d.listingId, forwarder_org_id: fwd.id, teu: 1, tonnes: 1, unit_price_cents: 100, total_cents: 100 })
      .returning('id')
      .executeTakeFirstOrThrow();
    await env.db.transaction().execute(async (tx) => {
      const [a1, a2] = await Promise.all(
        (['forwarder_payable', 'escrow'] as const).map((kind) =>
          tx.insertInto('ledger_accounts').values({ org_id: kind === 'escrow' ? null : fwd.id, kind }).returning('id').executeTakeFirstOrThrow(),
        ),
      );
      const t = await tx
        .insertInto('ledger_transactions')
        .values({ idempotency_key: `booking:${b.id}:charge`, kind: 'charge', booking_id: b.id, description: 'charge only' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await tx
        .insertInto('ledger_entries')
        .values([
          { transaction_id: t.id, account_id: a1!.id, direction: 'debit', amount_cents: 100 },
          { transaction_id: t.id, account_id: a2!.id, direction: 'credit', amount_cents: 100 },
        ])
        .execute();
      await tx.insertInto('invoice_counters').values({ issuer_org_id: op.id, year: 2026, last_number: 2 }).execute();
      const inv = await tx
        .insertInto('invoices')
        .values({ issuer_org_id: op.id, recipient_org_id: fwd.id, year: 2026, seq: 2, number: 'X-2026-000002', net_cents: 100, vat_cents: 0, total_cents: 100 })
        .returning('id')
        .executeTakeFirstOrThrow();
      await tx.insertInto('invoice_lines').values({ invoice_id: inv.id, booking_id: b.id, description: 'x', quantity_teu: 1, unit_price_cents: 100, amount_cents: 100 }).execute();
    });
    const v = await verifyLedger(env.db);
    expect(v.ok).toBe(false);
    expect(v.checks.escrow_released!.ok).toBe(false);
    expect(v.checks.invoice_numbers_gapless!.ok).toBe(false);
    expect(v.checks.transactions_balanced!.ok).toBe(true);
    expect(v.checks.account_balances_agree!.ok).toBe(true);
    expect(v.checks.trial_balance!.ok).toBe(true);
    expect(v.checks.references_exist!.ok).toBe(true);
  });

  it('reports entries of an unknown transaction and lines of an unknown invoice (written past the insert checks by the owner)', async () => {
    const ghost = '00000000-0000-4000-8000-00000000beef';
    const acc = await env.db.selectFrom('ledger_accounts').select('id').limit(2).execute();
    const inv = await env.db.selectFrom('invoices').select('id').executeTakeFirstOrThrow();
    await env.db.transaction().execute(async (tx) => {
      await sql`alter table ledger_entries disable trigger ledger_entries_balanced_statement`.execute(tx);
      await sql`alter table invoice_lines disable trigger invoice_lines_invoice_statement`.execute(tx);
      await tx.insertInto('ledger_entries').values([
        { transaction_id: ghost, account_id: acc[0]!.id, direction: 'debit', amount_cents: 5 },
        { transaction_id: ghost, account_id: acc[1]!.id, direction: 'credit', amount_cents: 5 },
      ]).execute();
      await tx.insertInto('invoice_lines').values({ invoice_id: ghost, booking_id: null, description: 'x', quantity_teu: 1, unit_price_cents: 1, amount_cents: 1 }).execute();
      await sql`alter table ledger_entries enable trigger ledger_entries_balanced_statement`.execute(tx);
      await sql`alter table invoice_lines enable trigger invoice_lines_invoice_statement`.execute(tx);
    });
    expect(inv.id).not.toBe(ghost);
    const v = await verifyLedger(env.db);
    expect(v.checks.references_exist!.ok).toBe(false);
    expect(v.checks.references_exist!.violations).toBe(3);
    expect(v.checks.references_exist!.examples.join(' ')).toContain(ghost);
  });
});
