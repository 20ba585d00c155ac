// Where settlement's time goes: settles N bookings in batches straight through the ledger service (no queue),
// timing every SQL statement from the client, grouped by its first words. A fresh database per run.
// `lanes` batches run at once, as the worker's group-commit lanes do (SQL times then add up over the lanes).
// PRE_SQL (run as the schema owner before settling) tries a schema change, e.g. dropping a trigger, to price it.
//   node scripts/with-stack.mjs tsx tools/bench/settle-profile.ts [bookings=8000] [batch=250] [lanes=1]
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { DB } from '../../server/adapters/db/schema.ts';
import { LedgerService } from '../../server/services/ledger/index.ts';
import { makeListings } from './measure.ts';
import { withScratchDb } from './scratch-db.ts';

const N = Number(process.argv[2] ?? 8000);
const BATCH = Number(process.argv[3] ?? 250);
const LANES = Number(process.argv[4] ?? 1);
await withScratchDb('settle_profile', async (db, url) => {
  const org = await db.insertInto('organisations').values({ slug: 'bench-0', name: 'Bench 0', kind: 'forwarder' }).returning('id').executeTakeFirstOrThrow();
  const l = (await makeListings(db, 1, N + 10, 'fixed', 'settle'))[0]!;
  const ids = (
    await db
      .insertInto('bookings')
      .values(Array.from({ length: N }, () => ({ departure_id: l.departureId, listing_id: l.listingId, forwarder_org_id: org.id, teu: 1, tonnes: 10, unit_price_cents: 50_000, total_cents: 50_000 })))
      .returning('id')
      .execute()
  ).map((r) => r.id);
  await db.updateTable('departures').set({ booked_teu: N, booked_tonnes: N * 10 }).where('id', '=', l.departureId).execute();
  if (process.env.PRE_SQL) await sql.raw(process.env.PRE_SQL).execute(db);
  await sql`vacuum analyze`.execute(db);
  const byStmt = new Map<string, { n: number; ms: number }>();
  const pool = new pg.Pool({ connectionString: url, max: 6 });
  pool.on('error', () => {}); // the scratch database is dropped with its connections at the end
  const timed = new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    log(e) {
      const k = e.query.sql.replace(/\s+/g, ' ').replace(/\$\d+(, )?/g, '').slice(0, 90);
      const s = byStmt.get(k) ?? { n: 0, ms: 0 };
      s.n++;
      s.ms += e.queryDurationMillis;
      byStmt.set(k, s);
    },
  });
  const ledger = new LedgerService(timed, { platformFeeBps: 300, vatRateBps: 2100 });
  await ledger.settleBookings(ids.slice(0, 1)); // warm
  byStmt.clear();
  const t0 = performance.now();
  let next = 1;
  await Promise.all(
    Array.from({ length: LANES }, async () => {
      while (next < N) {
        const i = next;
        next += BATCH;
        await ledger.settleBookings(ids.slice(i, i + BATCH));
      }
    }),
  );
  const total = performance.now() - t0;
  const rows = [...byStmt].map(([q, s]) => ({ statement: q, n: s.n, ms: Math.round(s.ms), 'µs/booking': Math.round((1000 * s.ms) / (N - 1)) })).sort((a, b) => b.ms - a.ms);
  console.table(rows);
  const sqlMs = rows.reduce((a, r) => a + r.ms, 0);
  const rest = LANES === 1 ? `, the rest (JS) ${Math.round(total - sqlMs)} ms` : ` summed over ${LANES} lanes`;
  console.log(`${N - 1} bookings in batches of ${BATCH}, ${LANES} lane(s): ${Math.round(total)} ms (${Math.round(((N - 1) * 1000) / total)}/s); SQL ${sqlMs} ms${rest}`);
  await timed.destroy().catch(() => {});
});
