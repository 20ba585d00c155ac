import { writeFileSync } from 'node:fs';
import { createDb } from '../adapters/db/db.ts';
import { loadConfig } from '../config.ts';
import { StatsService } from '../services/stats.ts';

// npm run stats:rebuild [-- --fix] [-- --json FILE]
// Proves DESIGN invariant 10 ("statistics are true"): compares the rollups (stats_departure,
// stats_forwarder) with a recomputation from the raw rows (bookings, listings, departures); prints the
// differences as a table; exits 1 when there is any. With --fix, replaces the rollups with the
// recomputation in one transaction, then verifies again (exit 0 when they now agree).
const args = process.argv.slice(2);
const fix = args.includes('--fix');
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
if (jsonAt >= 0 && !jsonFile) {
  console.error('usage: npm run stats:rebuild [-- --fix] [-- --json FILE]');
  process.exit(2);
}

const db = createDb(loadConfig().databaseUrl, { max: 2 });
const stats = new StatsService(db);
try {
  const t0 = Date.now();
  const before = await stats.verify();
  const report: Record<string, unknown> = { before };
  console.log(`rollups checked: stats_departure ${before.checked.stats_departure} rows, stats_forwarder ${before.checked.stats_forwarder} rows, stats_corridor_day ${before.checked.stats_corridor_day} rows (${Date.now() - t0} ms)`);
  if (before.differences.length > 0) {
    console.table(before.differences.slice(0, 50).map((d) => ({
      table: d.table, departure: d.departureId, forwarder: d.forwarderOrgId ?? '', column: d.column, rollup: d.rollup, recomputed: d.recomputed,
    })));
    if (before.differences.length > 50) console.log(`… and ${before.differences.length - 50} more differences`);
  }
  console.log(before.ok ? 'stats: rollups equal the recomputation from the raw rows' : `stats: ${before.differences.length} DIFFERENCES FOUND`);
  let ok = before.ok;
  if (fix) {
    const t1 = Date.now();
    const written = await stats.rebuild();
    const after = await stats.verify();
    report.rebuilt = written;
    report.after = after;
    console.log(`rebuilt in one transaction: stats_departure ${written.stats_departure} rows, stats_forwarder ${written.stats_forwarder} rows, stats_corridor_day ${written.stats_corridor_day} rows (${Date.now() - t1} ms)`);
    console.log(after.ok ? 'stats: after the rebuild the rollups equal the recomputation' : `stats: ${after.differences.length} differences remain after the rebuild`);
    ok = after.ok;
  }
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify(report, null, 2));
  if (!ok) process.exitCode = 1;
} catch (err) {
  console.error('stats verification failed:', err instanceof Error ? err.message : err);
  process.exitCode = 2;
} finally {
  await db.destroy();
}
