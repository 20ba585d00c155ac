import { createInterface } from 'node:readline';
import { createDb } from '../../server/adapters/db/db.ts';
import { createRedis } from '../../server/adapters/redis/redis.ts';
import { AvailabilityCache } from '../../server/adapters/redis/availability.ts';
import { loadConfig } from '../../server/config.ts';
import { AuctionClosing } from '../../server/services/auctions/closing.ts';

// TEST-ONLY process (test/integration/bid-groups.test.ts): the `auction.close` job's code in a process of its own,
// driven over stdin so that a test can start two closes on two processes at the same moment. Each line
// `<tag> <listingId>` closes that listing and prints `DONE <tag> <json result>` (or `FAIL <tag> <message>`).
const cfg = loadConfig();
const db = createDb(cfg.databaseUrl, { max: 4 });
const redis = createRedis(cfg.redisUrl);
const closing = new AuctionClosing(db, new AvailabilityCache(redis, db, cfg.redisPrefix), { emit: async () => {} }, null, {
  softCloseWindowMs: cfg.softCloseWindowMs,
  softCloseExtendMs: cfg.softCloseExtendMs,
});
console.log('closer ready');
for await (const line of createInterface({ input: process.stdin })) {
  const [tag, listingId] = line.trim().split(' ');
  if (!tag || !listingId) continue;
  closing.close(listingId).then(
    (r) => console.log(`DONE ${tag} ${JSON.stringify(r)}`),
    (e: unknown) => console.log(`FAIL ${tag} ${e instanceof Error ? e.message : String(e)}`),
  );
}
await db.destroy();
redis.disconnect();
