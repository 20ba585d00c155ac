import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// The ledger's references to its own append-only rows are checked once per INSERT statement instead of once per row.
// A foreign key is a row trigger: every ledger entry ran two look-ups (its transaction, its account) and every
// invoice line one (its invoice), each taking a KEY SHARE lock on the parent row — 11 per settled booking, and the
// platform's escrow and revenue accounts are the parents of nearly every entry, so concurrent settlement
// transactions kept sharing locks on the same two rows. Priced with tools/bench/settle-profile.ts (4 lanes):
// without those keys settlement ran ≈ 20 % faster.
//
// What a foreign key guarantees is kept:
// - at insert: the statement-level triggers below refuse the statement when any new row names a transaction,
//   account or invoice that does not exist (one set-based join over the statement's transition table);
// - afterwards: a foreign key's lock only stops the parent from being deleted or its key changed, and these
//   parents can be neither — ledger_transactions and invoices were append-only already (20261129T1700,
//   20261203T1200), and ledger_accounts becomes append-only here (accounts are only ever created: ledger-repo
//   findOrCreateAccount). cx_grant_app_role() then revokes UPDATE and DELETE on it from the app role.
// The references to mutable rows (bookings, organisations) keep their foreign keys.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create trigger ledger_accounts_append_only before update or delete on ledger_accounts
    for each row execute function refuse_change()`.execute(db);
  await sql`create trigger ledger_accounts_no_truncate before truncate on ledger_accounts
    for each statement execute function refuse_change()`.execute(db);

  await sql`alter table ledger_entries drop constraint ledger_entries_transaction_id_fkey, drop constraint ledger_entries_account_id_fkey`.execute(db);
  await sql`alter table invoice_lines drop constraint invoice_lines_invoice_id_fkey`.execute(db);

  // the balance check of 20261204T1200, now also refusing entries of an unknown transaction or account
  await sql`
    create or replace function ledger_check_balanced_statement() returns trigger language plpgsql set search_path = pg_catalog
      set enable_hashjoin = off set enable_mergejoin = off set enable_seqscan = off as $$
    declare bad record;
    begin
      select n.transaction_id, n.account_id, t.id is null as no_tx
        into bad
        from new_entries n
        left join public.ledger_transactions t on t.id = n.transaction_id
        left join public.ledger_accounts a on a.id = n.account_id
       where t.id is null or a.id is null
       limit 1;
      if found then
        raise exception 'ledger entry names an unknown %', case when bad.no_tx then 'transaction ' || bad.transaction_id else 'account ' || bad.account_id end
          using errcode = 'foreign_key_violation';
      end if;
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

  await sql`
    create function invoice_lines_check_invoice_statement() returns trigger language plpgsql set search_path = pg_catalog
      set enable_hashjoin = off set enable_mergejoin = off set enable_seqscan = off as $$
    declare bad uuid;
    begin
      select n.invoice_id into bad
        from new_lines n left join public.invoices i on i.id = n.invoice_id
       where i.id is null
       limit 1;
      if found then
        raise exception 'invoice line names an unknown invoice %', bad using errcode = 'foreign_key_violation';
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger invoice_lines_invoice_statement after insert on invoice_lines
    referencing new table as new_lines for each statement execute function invoice_lines_check_invoice_statement()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists invoice_lines_invoice_statement on invoice_lines`.execute(db);
  await sql`drop function if exists invoice_lines_check_invoice_statement()`.execute(db);
  await sql`
    create or replace function ledger_check_balanced_statement() returns trigger language plpgsql set search_path = pg_catalog as $$
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
  await sql`alter table invoice_lines add constraint invoice_lines_invoice_id_fkey foreign key (invoice_id) references invoices(id)`.execute(db);
  await sql`alter table ledger_entries add constraint ledger_entries_transaction_id_fkey foreign key (transaction_id) references ledger_transactions(id),
    add constraint ledger_entries_account_id_fkey foreign key (account_id) references ledger_accounts(id)`.execute(db);
  await sql`drop trigger if exists ledger_accounts_no_truncate on ledger_accounts`.execute(db);
  await sql`drop trigger if exists ledger_accounts_append_only on ledger_accounts`.execute(db);
}
