import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn } from '../helpers/http.ts';

/**
 * Issue 9, finding 8: the server and the worker connect as an application role that is no superuser and
 * owns nothing, so the append-only ledger and audit tables stay append-only even for a compromised or
 * buggy app: no UPDATE, DELETE or TRUNCATE, and no way to drop or disable the triggers that say so.
 * (TRUNCATE is also refused by a trigger, for every role.) An ordinary flow still works as that role.
 */
const APPEND_ONLY = ['audit_log', 'ledger_accounts', 'ledger_transactions', 'ledger_entries', 'invoices', 'invoice_lines'];

describe('database roles: the app connects as cx_app, which cannot rewrite history', () => {
  let env: TestEnv;
  let app: Kysely<any>;
  let pool: pg.Pool;

  beforeAll(async () => {
    env = await createTestEnv();
    // The app role's own login (scripts/stack.mjs); with a single external DATABASE_URL for both, the
    // owner's connection takes the role instead (privileges are then checked as cx_app all the same).
    const single = new URL(env.databaseUrl).username === new URL(env.ownerDatabaseUrl).username;
    pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
    if (single) pool.on('connect', (c) => void c.query('set role cx_app'));
    app = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  });
  afterAll(async () => {
    await app?.destroy();
    await env?.cleanup();
  });

  const refused = (q: Promise<unknown>) => expect(q).rejects.toMatchObject({ code: '42501' }); // insufficient_privilege

  it('the app role is no superuser, cannot create roles or databases, and owns (or inherits the owner of) no table', async () => {
    const me = await sql<{ user: string; rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; rolbypassrls: boolean; owned: number }>`
      select current_user as user, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls,
             (select count(*)::int from pg_tables t where t.schemaname = 'public' and pg_has_role(current_user, t.tableowner, 'usage')) as owned
        from pg_roles r where r.rolname = current_user`.execute(app);
    expect(me.rows[0]).toEqual({ user: 'cx_app', rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false, owned: 0 });
  });

  it('the server built from the test config connects as cx_app', async () => {
    const built = await buildApp(env.cfg);
    try {
      const r = await sql<{ user: string }>`select current_user as user`.execute(built.ctx.db);
      expect(r.rows[0]!.user).toBe('cx_app');
    } finally {
      await built.app.close();
    }
  });

  it('UPDATE, DELETE and TRUNCATE of every ledger and audit table are refused to the app role; SELECT and INSERT are not', async () => {
    for (const t of APPEND_ONLY) {
      await refused(sql`update ${sql.table(t)} set id = id`.execute(app));
      await refused(sql`delete from ${sql.table(t)}`.execute(app));
      await refused(sql`truncate ${sql.table(t)}`.execute(app));
      await refused(sql`truncate ${sql.table(t)} cascade`.execute(app));
      await expect(sql`select count(*) from ${sql.table(t)}`.execute(app)).resolves.toBeTruthy();
    }
    await sql`insert into audit_log (action, entity_type) values ('db-roles.test', 'test')`.execute(app);
  });

  it('the app role can neither drop nor disable the append-only triggers, nor replace their function, nor switch triggers off', async () => {
    for (const t of APPEND_ONLY) {
      await refused(sql`drop trigger ${sql.raw(`${t}_append_only`)} on ${sql.table(t)}`.execute(app));
      await refused(sql`drop trigger ${sql.raw(`${t}_no_truncate`)} on ${sql.table(t)}`.execute(app));
      await refused(sql`alter table ${sql.table(t)} disable trigger all`.execute(app));
      await refused(sql`alter table ${sql.table(t)} disable trigger ${sql.raw(`${t}_append_only`)}`.execute(app));
      await refused(sql`drop table ${sql.table(t)} cascade`.execute(app));
    }
    await refused(sql`create or replace function refuse_change() returns trigger language plpgsql as $$ begin return null; end $$`.execute(app));
    await refused(sql`drop function refuse_change() cascade`.execute(app));
    await refused(sql`set session_replication_role = replica`.execute(app));
    await refused(sql`select cx_grant_app_role()`.execute(app));
    // the migrations' bookkeeping is read-only to it
    await refused(sql`delete from kysely_migration`.execute(app));
  });

  it('TRUNCATE of an append-only table is refused by a trigger even to the owner', async () => {
    for (const t of APPEND_ONLY) {
      await expect(sql`truncate ${sql.table(t)} cascade`.execute(env.db)).rejects.toThrow(/append-only/);
    }
    const audit = await sql<{ n: number }>`select count(*)::int as n from audit_log`.execute(env.db);
    expect(audit.rows[0]!.n).toBeGreaterThan(0);
  });

  it('an ordinary flow works as the app role: hold, confirm, settle (ledger, invoice), cancel and refund', async () => {
    const built = await buildApp(env.cfg); // env.cfg.databaseUrl is the app role's
    try {
      const f1 = await signIn(built.app, 'forwarder1@demo.test');
      const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, listedTeu: 10, unitPriceCents: 10_000 });
      const h = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 2, tonnes: 20 } });
      expect(h.statusCode, h.body).toBe(201);
      const b = await as(built.app, f1)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} });
      expect(b.statusCode, b.body).toBe(201);
      const bookingId = b.json().id as string;
      expect(await built.ctx.services.ledger.settleBooking(bookingId)).toMatchObject({ already: false, amountCents: 20_000 });
      const c = await as(built.app, f1)({ method: 'DELETE', url: `/api/bookings/${bookingId}` });
      expect(c.statusCode, c.body).toBe(200);
      expect(await built.ctx.services.ledger.refundBooking(bookingId)).toMatchObject({ bookingId, creditNoteId: expect.any(String) });
      const inv = await as(built.app, f1)({ method: 'GET', url: '/api/invoices' });
      expect(inv.statusCode).toBe(200);
      expect((inv.json() as { kind: string }[]).map((i) => i.kind).sort()).toEqual(expect.arrayContaining(['credit_note', 'invoice']));
      expect((await verifyLedger(app)).ok).toBe(true);
    } finally {
      await built.app.close();
    }
  });
});
