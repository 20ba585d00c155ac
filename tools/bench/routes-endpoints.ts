// Benchmark-only routes of the route search (registered by tools/bench/server.ts, never in production): the
// server's timetable statistics (size, version, events applied, the last apply's cost), a forced full reload
// (after the bench wrote its generated timetable).
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../server/context.ts';
import { principalOf } from '../../server/http/plugins/auth.ts';

export const routesBenchPlugin: FastifyPluginCallbackTypebox<{ ctx: Context }> = (app, { ctx }, done) => {
  const routes = ctx.services.routes;
  app.get('/api/bench/routes/stats', { schema: { hide: true } }, async (req) => {
    principalOf(req);
    return routes.stats();
  });
  app.post('/api/bench/routes/reload', { schema: { hide: true } }, async (req) => {
    principalOf(req);
    await routes.reload('full');
    return routes.stats();
  });
  done();
};
