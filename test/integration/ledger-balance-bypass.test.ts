import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

/**
 * The statement-level balance trigger (migration 20261204T1200), attacked by an intruder review: every way the app role (cx_app) could insert
 * ledger entries, each tried with an UNBALANCED result. Each attempt runs in a transaction that is rolled back, so
 * the database stays clean whatever happens; an attempt counts as a bypass if the statement was accepted.
 */
describe('no unbalanced ledger transaction gets past the per-statement check, however cx_app inserts', () => {
  let env: TestEnv;
  let pool: pg.Pool;
  let debitAcc: string;
  let creditAcc: string;
  const single = () => new URL(env.databaseUrl).username === new URL(env.ownerDatabaseUrl).username;

  beforeAll(async () => {
    env = await createTestEnv();
    pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
    if (single()) pool.on('connect', (c) => void c.query('set role cx_app'));
    const orgs = await env.db.selectFrom('organisations').select('id').orderBy('slug').limit(2).execute();
    const accs = await env.db.insertInto('ledger_accounts').values([
      { org_id: orgs[0]!.id, kind: 'forwarder_payable' }, { org_id: orgs[1]!.id, kind: 'operator_receivable' },
    ] as any).onConflict((oc) => oc.doNothing()).returning('id').execute();
    debitAcc = accs[0]!.id;
    creditAcc = accs[1]!.id;
    // a committed, balanced entry pair (for the ON CONFLICT and 'earlier transaction' attempts)
    const t = await env.db.insertInto('ledger_transactions').values({ idempotency_key: 'review:seed', kind: 'charge', booking_id: null, description: 'seed' }).returning('id').executeTakeFirstOrThrow();
    await env.db.insertInto('ledger_entries').values([
      { transaction_id: t.id, account_id: debitAcc, direction: 'debit', amount_cents: 2 }, { transaction_id: t.id, account_id: creditAcc, direction: 'credit', amount_cents: 2 },
    ]).execute();
  });
  afterAll(async () => {
    await pool?.end();
    await env?.cleanup();
  });

  /** Runs `body` as cx_app inside BEGIN … ROLLBACK; 'accepted' if no error, else the error message. */
  async function attempt(body: (c: pg.PoolClient, t1: string, t2: string) => Promise<unknown>): Promise<string> {
    const c = await pool.connect();
    try {
      await c.query('begin');
      const who = await c.query('select current_user as u');
      expect(who.rows[0].u).toBe('cx_app');
      const t = await c.query(
        `insert into ledger_transactions (idempotency_key, kind, booking_id, description)
         values ('review:' || gen_random_uuid(), 'adjustment', null, 'review 1'), ('review:' || gen_random_uuid(), 'adjustment', null, 'review 2') returning id`,
      );
      const [t1, t2] = t.rows.map((r) => r.id as string);
      try {
        await body(c, t1!, t2!);
        // still inside the transaction: is any transaction unbalanced now?
        const bad = await c.query(
          `select transaction_id, sum(case when direction = 'debit' then amount_cents else -amount_cents end) as net
             from ledger_entries where transaction_id = any($1::uuid[]) group by transaction_id
           having sum(case when direction = 'debit' then amount_cents else -amount_cents end) <> 0`,
          [[t1, t2]],
        );
        return bad.rows.length ? `accepted (UNBALANCED: ${JSON.stringify(bad.rows)})` : 'accepted (balanced)';
      } catch (e) {
        return `refused: ${(e as Error).message}`;
      }
    } finally {
      await c.query('rollback').catch(() => {});
      c.release();
    }
  }

  it('sanity: a plain single-row unbalanced INSERT is refused', async () => {
    const r = await attempt((c, t1) => c.query(`insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ($1, $2, 'debit', 7)`, [t1, debitAcc]));
    expect(r).toMatch(/^refused: .*unbalanced/);
  });

  it('MERGE with two WHEN NOT MATCHED … INSERT actions (T1 balanced by the first, T2 one-sided by the second)', async () => {
    const r = await attempt((c, t1, t2) =>
      c.query(
        `merge into ledger_entries e
         using (values ($1::uuid, $3::uuid, 'debit', 5::bigint, 1), ($1::uuid, $4::uuid, 'credit', 5::bigint, 1), ($2::uuid, $3::uuid, 'debit', 1000::bigint, 2))
               as s(tx, acc, dir, amt, action)
            on false
          when not matched and s.action = 1 then insert (transaction_id, account_id, direction, amount_cents) values (s.tx, s.acc, s.dir, s.amt)
          when not matched then insert (transaction_id, account_id, direction, amount_cents) values (s.tx, s.acc, s.dir, s.amt)`,
        [t1, t2, debitAcc, creditAcc],
      ),
    );
    expect(r).toMatch(/^refused: .*unbalanced/);
  });

  it('MERGE with one INSERT action, one-sided', async () => {
    const r = await attempt((c, t1) =>
      c.query(
        `merge into ledger_entries e using (values ($1::uuid)) as s(tx) on false
          when not matched then insert (transaction_id, account_id, direction, amount_cents) values (s.tx, $2::uuid, 'debit', 9)`,
        [t1, debitAcc],
      ),
    );
    expect(r).toMatch(/^refused: .*unbalanced/);
  });

  it('data-modifying CTE: one-sided entry in a CTE plus a balanced pair in the main INSERT', async () => {
    const r = await attempt((c, t1, t2) =>
      c.query(
        `with a as (insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ($2, $3, 'debit', 11) returning id)
         insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ($1, $3, 'debit', 4), ($1, $4, 'credit', 4)`,
        [t1, t2, debitAcc, creditAcc],
      ),
    );
    expect(r).toMatch(/^refused: .*unbalanced/);
  });

  it('data-modifying CTE: a pair split over two INSERTs of one statement (balanced overall)', async () => {
    const r = await attempt((c, t1) =>
      c.query(
        `with a as (insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ($1, $2, 'debit', 11) returning id)
         insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ($1, $3, 'credit', 11)`,
        [t1, debitAcc, creditAcc],
      ),
    );
    expect(r).not.toMatch(/UNBALANCED/);
  });

  it('INSERT … ON CONFLICT DO NOTHING where the credit row conflicts (only the debit is inserted)', async () => {
    const existing = await env.db.selectFrom('ledger_entries').select('id').orderBy('id').executeTakeFirstOrThrow();
    const r = await attempt((c, t1) =>
      c.query(
        `insert into ledger_entries (id, transaction_id, account_id, direction, amount_cents)
         values (nextval('ledger_entries_id_seq'), $1, $2, 'debit', 6), ($4, $1, $3, 'credit', 6) on conflict do nothing`,
        [t1, debitAcc, creditAcc, existing.id],
      ),
    );
    expect(r).toMatch(/^refused: .*unbalanced/);
  });

  it('INSERT through an automatically updatable temporary view', async () => {
    const r = await attempt(async (c, t1) => {
      await c.query(`create temp view review_v as select * from ledger_entries`);
      await c.query(`insert into review_v (transaction_id, account_id, direction, amount_cents) values ($1, $2, 'debit', 13)`, [t1, debitAcc]);
    });
    expect(r).not.toMatch(/UNBALANCED/);
  });

  it('INSERT through a temporary view with a DO INSTEAD rule of two actions', async () => {
    const r = await attempt(async (c, t1, t2) => {
      await c.query(`create temp view review_w as select * from ledger_entries`);
      await c.query(`create rule review_r as on insert to review_w do instead (
        insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values (new.transaction_id, new.account_id, new.direction, new.amount_cents);
        insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ('${t2}', new.account_id, 'debit', 17))`);
      await c.query(`insert into review_w (transaction_id, account_id, direction, amount_cents) values ($1, $2, 'debit', 13)`, [t1, debitAcc]);
    });
    expect(r).not.toMatch(/UNBALANCED/);
  });

  it('a temporary table inheriting from ledger_entries (rows would show up in ledger_entries without its triggers)', async () => {
    const r = await attempt(async (c, t1) => {
      await c.query(`create temp table review_child () inherits (ledger_entries)`);
      await c.query(`insert into review_child (transaction_id, account_id, direction, amount_cents) values ($1, $2, 'debit', 13)`, [t1, debitAcc]);
    });
    expect(r).not.toMatch(/UNBALANCED/);
  });

  it('a temporary table named new_entries (shadowing the transition table by name) with search_path pg_temp first', async () => {
    const r = await attempt(async (c, t1) => {
      await c.query(`create temp table new_entries (transaction_id uuid, direction text, amount_cents bigint)`);
      await c.query(`set local search_path = pg_temp, public, pg_catalog`);
      await c.query(`insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ($1, $2, 'debit', 19)`, [t1, debitAcc]);
    });
    expect(r).toMatch(/^refused: .*unbalanced/);
  });

  it('can cx_app create objects in a schema the trigger function resolves names in (sum, <>)?', async () => {
    const c = await pool.connect();
    try {
      const r = await c.query(`select current_user u, has_schema_privilege('public', 'CREATE') as create_public, has_database_privilege(current_database(), 'CREATE') as create_schema`);
      expect(r.rows[0].create_public).toBe(false);
      expect(r.rows[0].create_schema).toBe(false);
    } finally {
      c.release();
    }
  });

  it('a plpgsql DO block inserting one entry per statement in a loop', async () => {
    const r = await attempt((c, t1) =>
      c.query(`do $$ begin
        insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ('${t1}', '${debitAcc}', 'debit', 3);
        insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ('${t1}', '${creditAcc}', 'credit', 3);
      end $$`),
    );
    expect(r).not.toMatch(/UNBALANCED/);
  });

  it('COPY … FROM STDIN (psql as cx_app), one-sided — committed only if accepted, so checked and reported', async () => {
    const t = { id: '11111111-2222-4333-8444-555555555555' };
    const script = `${single() ? 'set role cx_app;\n' : ''}begin;\ninsert into ledger_transactions (id, idempotency_key, kind, booking_id, description) values ('${t.id}', 'review:copy', 'adjustment', null, 'copy');\ncopy ledger_entries (transaction_id, account_id, direction, amount_cents) from stdin;\n${t.id}\t${debitAcc}\tdebit\t21\n\\.\nselect count(*) as n from ledger_entries where transaction_id = '${t.id}';\nrollback;\n`;
    const p = spawnSync('psql', [env.databaseUrl, '-X', '-v', 'ON_ERROR_STOP=1', '-At'], { input: script, encoding: 'utf8' });
    expect(p.status).not.toBe(0);
    expect(p.stderr).toMatch(/unbalanced/);
  });

  // Migration 20261204T1500: the references of entries (transaction, account) and invoice lines (invoice) are checked per
  // statement instead of by foreign keys. Each attempt is BALANCED, so only the reference check can refuse it.
  const ghost = '00000000-0000-4000-8000-00000000dead';

  it('a balanced pair naming an unknown account is refused (plain INSERT, MERGE and a data-modifying CTE)', async () => {
    const plain = await attempt((c, t1) =>
      c.query(`insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ($1, $2, 'debit', 5), ($1, $3, 'credit', 5)`, [t1, debitAcc, ghost]),
    );
    expect(plain).toMatch(/^refused: .*unknown account/);
    const merge = await attempt((c, t1) =>
      c.query(
        `merge into ledger_entries e using (values ($2::uuid, 'debit'), ($3::uuid, 'credit')) as s(acc, dir) on false
          when not matched then insert (transaction_id, account_id, direction, amount_cents) values ($1::uuid, s.acc, s.dir, 8)`,
        [t1, ghost, creditAcc],
      ),
    );
    expect(merge).toMatch(/^refused: .*unknown account/);
    const cte = await attempt((c, t1) =>
      c.query(
        `with a as (insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ($1, $2, 'debit', 4) returning id)
         insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ($1, $3, 'credit', 4)`,
        [t1, debitAcc, ghost],
      ),
    );
    expect(cte).toMatch(/^refused: .*unknown account/);
  });

  it('a balanced pair naming an unknown transaction is refused', async () => {
    const r = await attempt((c) =>
      c.query(`insert into ledger_entries (transaction_id, account_id, direction, amount_cents) values ($1, $2, 'debit', 5), ($1, $3, 'credit', 5)`, [ghost, debitAcc, creditAcc]),
    );
    expect(r).toMatch(/^refused: .*unknown transaction/);
  });

  it('an invoice line naming an unknown invoice is refused; one naming a real invoice is accepted', async () => {
    const orgs = await env.db.selectFrom('organisations').select('id').orderBy('slug').limit(2).execute();
    const line = (c: pg.PoolClient, invoiceId: string) =>
      c.query(`insert into invoice_lines (invoice_id, booking_id, description, quantity_teu, unit_price_cents, amount_cents) values ($1, null, 'review', 1, 100, 100)`, [invoiceId]);
    expect(await attempt((c) => line(c, ghost))).toMatch(/^refused: .*unknown invoice/);
    const real = await attempt(async (c) => {
      const inv = await c.query(
        `insert into invoices (issuer_org_id, recipient_org_id, year, seq, number, kind, net_cents, vat_cents, total_cents)
         values ($1, $2, 2099, 1, 'REVIEW-2099-1', 'invoice', 100, 0, 100) returning id`,
        [orgs[0]!.id, orgs[1]!.id],
      );
      await line(c, inv.rows[0].id as string);
    });
    expect(real).toMatch(/^accepted/);
  });

  it('ledger accounts are append-only now: the app role can neither change nor delete one', async () => {
    const upd = await attempt((c) => c.query(`update ledger_accounts set kind = 'escrow' where id = $1`, [debitAcc]));
    expect(upd).toMatch(/^refused: permission denied/);
    const del = await attempt((c) => c.query(`delete from ledger_accounts where id = $1`, [creditAcc]));
    expect(del).toMatch(/^refused: permission denied/);
    await expect(env.db.deleteFrom('ledger_accounts').where('id', '=', creditAcc).execute()).rejects.toThrow(/append-only/); // even the owner
  });
});
