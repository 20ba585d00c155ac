import { writeFileSync } from 'node:fs';
import { createDb } from '../adapters/db/db.ts';
import { migrationDatabaseUrl } from '../adapters/db/migrate.ts';
import { loadConfig } from '../config.ts';
import { createContext } from '../context.ts';
import { StreamEventSink } from '../adapters/realtime/events.ts';
import { seedActivity } from '../seed/activity.ts';
import { seedHistory } from '../seed/history.ts';
import { isEmpty, seedDemo, type Progress } from '../seed/seed.ts';

// npm run seed [-- --if-empty] [--activity] [--history [DAYS]] [--scale X] [--lot-size X] [--seed N] [--json FILE]
// Seeds the demo network (demo users with the published password cluster-demo) into the database of
// MIGRATION_DATABASE_URL, else DATABASE_URL. Running it is the explicit request: `npm start` seeds only
// the project-local database unless SEED_DEMO=1 (scripts/seed-policy.mjs).
// --activity: then makes the demo alive through the services (bookings, holds, auctions, falling listings;
// server/seed/activity.ts) — once: skipped when the demo forwarders already have bookings. Needs Redis
// (REDIS_URL); settlement jobs go to the outbox, and the worker settles them.
// --history DAYS (default 90): the past DAYS of departures with bookings, cancellations and settled invoices,
// through the services' batch paths on a simulated clock (server/seed/history.ts) — once per window: only
// departures that do not exist yet are created. --scale X multiplies the past departures, --lot-size X the
// size of each booking (bench: --scale 3.2 --lot-size 0.6 ≈ 20,000 departures, 300,000 bookings a year); --seed N
// the PRNG seed. Run it while no worker runs against the database (npm start seeds before starting one).
const args = process.argv.slice(2);
const ifEmpty = args.includes('--if-empty');
const activity = args.includes('--activity');
const jsonAt = args.indexOf('--json');
const historyAt = args.indexOf('--history');
const numberAfter = (flag: string, fallback: number): number => {
  const at = args.indexOf(flag);
  const v = at >= 0 ? args[at + 1] : undefined;
  if (v === undefined || v.startsWith('--')) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    console.error(`seed: ${flag} takes a number, not ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
};
const history =
  historyAt >= 0
    ? { days: numberAfter('--history', 90), scale: numberAfter('--scale', 1), lotSize: numberAfter('--lot-size', 1), seed: numberAfter('--seed', 20_261_104) }
    : null;
const db = createDb(migrationDatabaseUrl(), { max: 4 });
try {
  if (ifEmpty && !(await isEmpty(db))) {
    console.log('seed: database already has data, skipped');
  } else {
    let drawn = '';
    const bar: Progress = (step, done, total) => {
      const width = 20;
      const filled = total > 0 ? Math.round((done / total) * width) : width;
      if (`${step}:${filled}` === drawn && done !== total) return; // redraw only when the bar moves
      drawn = `${step}:${filled}`;
      process.stdout.write(`\r  seeding ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${done}/${total} ${step.padEnd(14)}`);
    };
    const result: Record<string, unknown> = await seedDemo(db, new Date(), bar);
    process.stdout.write('\n');
    console.table(result);
    if (activity || history) {
      const cfg = loadConfig({ databaseUrl: migrationDatabaseUrl() });
      const ctx = createContext(cfg, (redis) => new StreamEventSink(redis, cfg.redisPrefix));
      try {
        await ctx.ready();
        // the activity first: it runs only while the demo forwarders have no bookings at all
        if (activity) {
          const started = Date.now();
          const a = await seedActivity(ctx, new Date(), bar);
          process.stdout.write('\n');
          if (a.skipped) console.log('seed: demo activity already present, skipped');
          else {
            console.log(
              `seed: demo activity in ${((Date.now() - started) / 1000).toFixed(1)}s — ${a.departuresLoaded}/${a.departures} departures loaded ` +
                `(average ${a.averageLoadPct} %), ${a.bookings} bookings (${a.bookedTeu} TEU), ${a.activeHolds} active holds, ` +
                `${a.ascendingAuctions} ascending + ${a.sealedAuctions} sealed auctions with ${a.bids} bids, ${a.fallingListings} falling listings`,
            );
          }
          result.activity = a;
        }
        if (history) {
          const h = await seedHistory(ctx, new Date(), bar, history);
          process.stdout.write('\n');
          if (h.skipped) console.log(`seed: history of the last ${h.days} days already present, skipped`);
          else {
            console.log(
              `seed: history of ${h.days} days (scale ${h.scale}) in ${h.seconds}s — ${h.departures} departures (average load ${h.averageLoadPct} %), ` +
                `${h.bookings} bookings (${h.bookedTeu} TEU), ${h.cancellations} cancellations (fees ${(h.cancellationFeesCents / 100).toFixed(2)} EUR), ` +
                `${h.invoices} invoices, ${h.refused} refused`,
            );
            console.log(`  load by weekday %: ${Object.entries(h.loadByWeekday).map(([k, v]) => `${k} ${v}`).join(' · ')}`);
            console.log(`  load by month %:   ${Object.entries(h.loadByMonth).map(([k, v]) => `${k} ${v}`).join(' · ')}`);
          }
          result.history = h;
        }
      } finally {
        await ctx.close();
      }
    }
    if (jsonAt >= 0 && args[jsonAt + 1]) writeFileSync(args[jsonAt + 1]!, JSON.stringify(result, null, 2));
  }
} catch (err) {
  console.error('\nseed failed:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
