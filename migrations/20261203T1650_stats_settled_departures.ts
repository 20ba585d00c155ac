import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Statistics, the settled past per departure (issue 11): the per-departure dashboard rows of departure days
// before (today − 2 days) are kept in memory too (server/core/stats-cache.ts), under the same token as the
// day-keyed answers (migration 20261203T1600). Their rollup figures change only with a stats_corridor_day
// delta, which already takes a new token; what they show of the departure itself (status, capacity, held TEU,
// asset name, minimum load, times, corridor, operator) can change without one. So any insert, delete, or
// change of those columns of a departure that leaves (or left) before UTC today − 1 takes a new token, at
// COMMIT and once per transaction (the deferred constraint trigger of 20261203T1600, same margin of a day).
// Trading touches departures from today on: the WHEN clause keeps it off the hot path.

const SHOWN = ['status', 'capacity_teu', 'held_teu', 'asset_name', 'min_load_teu', 'departs_at', 'cutoff_at', 'corridor_id', 'operator_org_id'];
const OLD = "((now() at time zone 'UTC')::date - 1)::timestamp at time zone 'UTC'";

export async function up(db: Kysely<any>): Promise<void> {
  const row = (r: 'old' | 'new') => `(${SHOWN.map((c) => `${r}.${c}`).join(', ')})`;
  await sql.raw(`create constraint trigger departures_settled_update after update on departures
    deferrable initially deferred for each row
    when ((old.departs_at < ${OLD} or new.departs_at < ${OLD}) and ${row('old')} is distinct from ${row('new')})
    execute function cx_stats_settled_delta()`).execute(db);
  await sql.raw(`create constraint trigger departures_settled_insert after insert on departures
    deferrable initially deferred for each row
    when (new.departs_at < ${OLD})
    execute function cx_stats_settled_delta()`).execute(db);
  await sql.raw(`create constraint trigger departures_settled_delete after delete on departures
    deferrable initially deferred for each row
    when (old.departs_at < ${OLD})
    execute function cx_stats_settled_delta()`).execute(db);
  await sql`create trigger departures_settled_truncate after truncate on departures
    for each statement execute function cx_stats_settled_any()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['departures_settled_truncate', 'departures_settled_delete', 'departures_settled_insert', 'departures_settled_update']) {
    await sql`drop trigger if exists ${sql.raw(t)} on departures`.execute(db);
  }
}
