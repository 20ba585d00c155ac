import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Context } from '../../context.ts';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), ms))]);

export const healthRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  app.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['health'],
        response: {
          200: Type.Object({ status: Type.String(), postgres: Type.String(), redis: Type.String() }),
          503: Type.Object({ status: Type.String(), postgres: Type.String(), redis: Type.String() }),
        },
      },
    },
    async (_req, reply) => {
      const [pg, redis] = await Promise.all([
        withTimeout(sql`select 1`.execute(ctx.db), 2000).then(() => 'ok', () => 'down'),
        withTimeout(ctx.redis.ping(), 2000).then(() => 'ok', () => 'down'),
      ]);
      const ok = pg === 'ok' && redis === 'ok';
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', postgres: pg, redis });
    },
  );
};
