// The benchmark's server process: server/server.ts plus the naive baseline paths (/api/bench/*) that the
// bench compares the real ones against. Those routes exist only in this entry, never in production.
import closeWithGrace from 'close-with-grace';
import { assertNoEviction } from '../../server/adapters/redis/redis.ts';
import { loadConfig } from '../../server/config.ts';
import { build } from '../../server/http/app.ts';
import { naiveHoldsPlugin } from './naive-holds.ts';

const cfg = loadConfig();
const { app, ctx } = await build(cfg, {
  extend: async (app, ctx) => {
    await app.register(naiveHoldsPlugin, { ctx });
  },
});
await assertNoEviction(ctx.redis);

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) app.log.error({ err }, 'closing after an error');
  else app.log.info({ signal }, 'closing');
  await app.close();
});

await app.listen({ host: cfg.host, port: cfg.port });
