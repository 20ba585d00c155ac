import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Every ledger transaction balances — now checked once per INSERT statement instead of once per entry at commit.
// The deferred row trigger of 20261129T1700 summed all entries of the entry's transaction at COMMIT, once per entry
// (5 per settled booking: 58 of ~314 µs of SQL per booking, tools/bench/settle-profile.ts). This statement-level
// trigger sums only the rows the statement inserted (its transition table), per transaction, and refuses the
// statement if any transaction's new debits and credits differ. That is enough for the whole ledger: entries are
// append-only (no UPDATE, DELETE or TRUNCATE, 20261129T1700 / 20261203T1200), so a transaction's entries are the
// union of what committed statements inserted, and if every statement's share balances, every sum does. Stricter than
// before: a transaction's entries can no longer be written half in one statement and half in another (the code
// never did: ledger-repo postTransactions writes all entries of a batch in one statement). The outside check stays:
// `npm run ledger:verify` sums every transaction from the table.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists ledger_entries_balanced on ledger_entries`.execute(db);
  await sql`
    create function ledger_check_balanced_statement() returns trigger language plpgsql set search_path = pg_catalog as $$
    declare bad record;
    begin
      select n.transaction_id,
             coalesce(sum(n.amount_cents) filter (where n.direction = 'debit'), 0) as debits,
             coalesce(sum(n.amount_cents) filter (where n.direction = 'credit'), 0) as credits
        into bad
        from new_entries n
       group by n.transaction_id
      having coalesce(sum(n.amount_cents) filter (where n.direction = 'debit'), 0)
          <> coalesce(sum(n.amount_cents) filter (where n.direction = 'credit'), 0)
       limit 1;
      if found then
        raise exception 'ledger transaction % is unbalanced: this statement adds debits % and credits %',
          bad.transaction_id, bad.debits, bad.credits using errcode = 'check_violation';
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger ledger_entries_balanced_statement after insert on ledger_entries
    referencing new table as new_entries for each statement execute function ledger_check_balanced_statement()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists ledger_entries_balanced_statement on ledger_entries`.execute(db);
  await sql`drop function if exists ledger_check_balanced_statement()`.execute(db);
  await sql`create constraint trigger ledger_entries_balanced after insert on ledger_entries
    deferrable initially deferred for each row execute function ledger_check_balanced()`.execute(db);
}
