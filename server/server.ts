import closeWithGrace from 'close-with-grace';
import { assertNoEviction } from './adapters/redis/redis.ts';
import { loadConfig } from './config.ts';
import { build } from './http/app.ts';

// Process concerns only: configuration, listen, signals.
const cfg = loadConfig();
const { app, ctx } = await build(cfg);
await assertNoEviction(ctx.redis);

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) app.log.error({ err }, 'closing after an error');
  else app.log.info({ signal }, 'closing');
  await app.close();
});

await app.listen({ host: cfg.host, port: cfg.port });
