import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { pingDb } from '../../adapters/db/db.ts';
import type { Context } from '../../context.ts';
import { Health } from '../../domain/schemas/common.ts';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), ms))]);

export const healthRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  app.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['health'],
        response: { 200: Health, 503: Health },
      },
    },
    async (_req, reply) => {
      const [pg, redis] = await Promise.all([
        withTimeout(pingDb(ctx.db), 2000).then(() => 'ok', () => 'down'),
        withTimeout(ctx.redis.ping(), 2000).then(() => 'ok', () => 'down'),
      ]);
      const ok = pg === 'ok' && redis === 'ok';
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', postgres: pg, redis });
    },
  );
};
