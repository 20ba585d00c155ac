import closeWithGrace from 'close-with-grace';
import { assertNoEviction } from '../adapters/redis/redis.ts';
import { loadConfig } from '../config.ts';
import { auctionWarmUpRound } from '../core/warm-up.ts';
import { build, type BuildOptions } from './app.ts';

/**
 * The process concerns of a server: configuration from the environment, the Redis eviction check,
 * graceful close on signals (bounded), listen. `server/server.ts` runs it; the bench's server entry
 * runs it with its extra routes.
 */
export async function serve(opts: Pick<BuildOptions, 'extend'> = {}): Promise<void> {
  const cfg = loadConfig();
  const { app, ctx } = await build(cfg, opts);
  await assertNoEviction(ctx.redis);

  closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
    if (err) app.log.error({ err }, 'closing after an error');
    else app.log.info({ signal }, 'closing');
    await app.close();
  });

  await app.listen({ host: cfg.host, port: cfg.port });
  void warmUp(WARM_UP_ROUNDS).catch((err: unknown) => app.log.error({ err }, 'auction core warm-up failed (harmless: the core stays cold)'));
}

/** Synthetic auction flurries played once a server listens (server/core/warm-up.ts says why): ~0.5 s of CPU in all. */
const WARM_UP_ROUNDS = 30;

/** One round per turn of the event loop, so that requests that come meanwhile go in between. */
async function warmUp(rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    auctionWarmUpRound(i);
    await new Promise((r) => setImmediate(r));
  }
}
