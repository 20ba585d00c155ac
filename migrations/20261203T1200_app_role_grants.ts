import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// The application role, `cx_app`: what the server and the worker connect as. It is no superuser and owns
// nothing (the tables belong to whoever runs the migrations), so it can neither drop nor disable the
// append-only triggers, nor alter the tables or the trigger functions. Privileges:
// - ordinary tables: SELECT, INSERT, UPDATE, DELETE; sequences: USAGE, SELECT; functions: EXECUTE;
// - append-only tables (every table guarded by a refuse_change() trigger: audit_log, ledger_transactions,
//   ledger_entries, invoices, invoice_lines): SELECT and INSERT only — no UPDATE, DELETE or TRUNCATE;
// - Kysely's migration bookkeeping: SELECT only.
// The role is cluster-wide. It is created here (NOLOGIN) when missing and the migrator may create roles,
// so the grants exist on any database; the project-local bootstrap (scripts/stack.mjs) gives it LOGIN and a
// password; elsewhere, let a login role inherit it (`create role app login password … in role cx_app`).
// migrateToLatest() calls cx_grant_app_role() again after every run that applied a migration, so tables
// of later migrations are covered too.
//
// Row-level triggers do not fire on TRUNCATE: each append-only table also gets a statement-level
// BEFORE TRUNCATE trigger running the same refuse_change(), whoever truncates.
const APPEND_ONLY = ['audit_log', 'ledger_transactions', 'ledger_entries', 'invoices', 'invoice_lines'];

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    do $$ begin
      if not exists (select from pg_roles where rolname = 'cx_app')
         and exists (select from pg_roles where rolname = current_user and (rolsuper or rolcreaterole)) then
        begin
          create role cx_app nologin;
        exception when duplicate_object or unique_violation then
          null; -- created at the same moment by a migration of another database of the cluster
        end;
      end if;
    end $$`.execute(db);

  for (const t of APPEND_ONLY) {
    await sql`create trigger ${sql.raw(`${t}_no_truncate`)} before truncate on ${sql.table(t)}
      for each statement execute function refuse_change()`.execute(db);
  }

  await sql`
    create function cx_grant_app_role() returns void language plpgsql as $$
    declare
      t regclass;
    begin
      if not exists (select from pg_roles where rolname = 'cx_app') then
        return;
      end if;
      grant usage on schema public to cx_app;
      grant select, insert, update, delete on all tables in schema public to cx_app;
      grant usage, select on all sequences in schema public to cx_app;
      grant execute on all functions in schema public to cx_app;
      revoke execute on function cx_grant_app_role() from cx_app;
      for t in
        select distinct tg.tgrelid::regclass from pg_trigger tg
          join pg_class c on c.oid = tg.tgrelid join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and not tg.tgisinternal and tg.tgfoid = 'refuse_change()'::regprocedure
      loop
        execute format('revoke update, delete, truncate on %s from cx_app', t);
      end loop;
      for t in
        select c.oid::regclass from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind = 'r' and left(c.relname, 7) = 'kysely_'
      loop
        execute format('revoke insert, update, delete, truncate on %s from cx_app', t);
      end loop;
    end $$`.execute(db);
  await sql`revoke all on function cx_grant_app_role() from public`.execute(db);
  await sql`select cx_grant_app_role()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    do $$ begin
      if exists (select from pg_roles where rolname = 'cx_app') then
        revoke all on all tables in schema public from cx_app;
        revoke all on all sequences in schema public from cx_app;
        revoke all on all functions in schema public from cx_app;
      end if;
    end $$`.execute(db);
  await sql`drop function if exists cx_grant_app_role()`.execute(db);
  for (const t of APPEND_ONLY) {
    await sql`drop trigger if exists ${sql.raw(`${t}_no_truncate`)} on ${sql.table(t)}`.execute(db);
  }
}
