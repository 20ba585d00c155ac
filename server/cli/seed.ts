import { writeFileSync } from 'node:fs';
import { createDb } from '../adapters/db/db.ts';
import { migrationDatabaseUrl } from '../adapters/db/migrate.ts';
import { loadConfig } from '../config.ts';
import { createContext } from '../context.ts';
import { StreamEventSink } from '../adapters/realtime/events.ts';
import { seedActivity } from '../seed/activity.ts';
import { isEmpty, seedDemo, type Progress } from '../seed/seed.ts';

// npm run seed [-- --if-empty] [--activity] [--json FILE]
// Seeds the demo network (demo users with the published password cluster-demo) into the database of
// MIGRATION_DATABASE_URL, else DATABASE_URL. Running it is the explicit request: `npm start` seeds only
// the project-local database unless SEED_DEMO=1 (scripts/seed-policy.mjs).
// --activity: then makes the demo alive through the services (bookings, holds, auctions, falling listings;
// server/seed/activity.ts) — once: skipped when the demo forwarders already have bookings. Needs Redis
// (REDIS_URL); settlement jobs go to the outbox, and the worker settles them.
const args = process.argv.slice(2);
const ifEmpty = args.includes('--if-empty');
const activity = args.includes('--activity');
const jsonAt = args.indexOf('--json');
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
    if (activity) {
      const started = Date.now();
      const cfg = loadConfig({ databaseUrl: migrationDatabaseUrl() });
      const ctx = createContext(cfg, (redis) => new StreamEventSink(redis, cfg.redisPrefix));
      try {
        await ctx.ready();
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
