import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Statistics, the settled past (issue 11): a one-row token that changes whenever what a dashboard shows
// for the departure days before (today − 2 days) changes, so the stats service can keep those days' rows
// in memory (server/core/stats-cache.ts) and read only the recent and future days per request.
// Those days' figures come only from stats_corridor_day + its pending deltas (no live held TEU: a hold ends at
// the latest at its departure's cut-off), and every change to them is a delta row — trading writes days from
// today on; a late cancellation, the history seed or a departure changed after it left write older days.
// - stats_corridor_day_delta AFTER INSERT of a day before (UTC today − 1): a new token, at COMMIT (deferred
//   constraint trigger: the row is locked after every other lock of the transaction, so no deadlock can go
//   through it; once per transaction). One day of margin against readers, who keep only days before
//   (their UTC today − 2): a writer whose transaction began before midnight still covers them.
// - TRUNCATE of stats_corridor_day / stats_corridor_day_delta, any change to corridors or clusters (their
//   codes are in the rows kept): a new token. rebuildRollups() takes one itself (it deletes and refills).
// The fold (deltas moved into stats_corridor_day, sums unchanged) takes none.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table stats_settled_version (
    id smallint primary key default 1 check (id = 1),
    token uuid not null default gen_random_uuid()
  )`.execute(db);
  await sql`insert into stats_settled_version (id) values (1)`.execute(db);
  await sql.raw(`
    create function cx_stats_settled_bump() returns void language plpgsql as $$
    begin
      insert into stats_settled_version as v (id, token) values (1, gen_random_uuid())
        on conflict (id) do update set token = excluded.token;
    end $$`).execute(db);
  // once per transaction: set_config(..., true) is undone with the (sub)transaction that set it
  await sql.raw(`
    create function cx_stats_settled_delta() returns trigger language plpgsql as $$
    begin
      if current_setting('cx.stats_settled_bumped', true) is distinct from 'y' then
        perform cx_stats_settled_bump();
        perform set_config('cx.stats_settled_bumped', 'y', true);
      end if;
      return null;
    end $$`).execute(db);
  await sql.raw(`
    create function cx_stats_settled_any() returns trigger language plpgsql as $$
    begin
      perform cx_stats_settled_bump();
      return null;
    end $$`).execute(db);
  await sql`create constraint trigger stats_corridor_day_delta_settled after insert on stats_corridor_day_delta
    deferrable initially deferred for each row
    when (new.day < (now() at time zone 'UTC')::date - 1)
    execute function cx_stats_settled_delta()`.execute(db);
  await sql`create trigger stats_corridor_day_delta_settled_truncate after truncate on stats_corridor_day_delta
    for each statement execute function cx_stats_settled_any()`.execute(db);
  await sql`create trigger stats_corridor_day_settled_truncate after truncate on stats_corridor_day
    for each statement execute function cx_stats_settled_any()`.execute(db);
  for (const t of ['corridors', 'clusters']) {
    await sql`create trigger ${sql.raw(`${t}_stats_settled`)} after insert or update or delete or truncate on ${sql.table(t)}
      for each statement execute function cx_stats_settled_any()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['corridors', 'clusters']) await sql`drop trigger if exists ${sql.raw(`${t}_stats_settled`)} on ${sql.table(t)}`.execute(db);
  await sql`drop trigger if exists stats_corridor_day_settled_truncate on stats_corridor_day`.execute(db);
  await sql`drop trigger if exists stats_corridor_day_delta_settled_truncate on stats_corridor_day_delta`.execute(db);
  await sql`drop trigger if exists stats_corridor_day_delta_settled on stats_corridor_day_delta`.execute(db);
  await sql`drop function if exists cx_stats_settled_any()`.execute(db);
  await sql`drop function if exists cx_stats_settled_delta()`.execute(db);
  await sql`drop function if exists cx_stats_settled_bump()`.execute(db);
  await sql`drop table if exists stats_settled_version`.execute(db);
}
