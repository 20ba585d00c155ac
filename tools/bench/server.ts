// The benchmark's server process: server/server.ts plus the naive baseline paths (/api/bench/*) that the
// bench compares the real ones against, and the route search's bench controls. Those routes exist only in
// this entry, never in production.
import { serve } from '../../server/http/serve.ts';
import { naiveHoldsPlugin } from './naive-holds.ts';
import { routesBenchPlugin } from './routes-endpoints.ts';

await serve({
  extend: async (app, ctx) => {
    await app.register(naiveHoldsPlugin, { ctx });
    await app.register(routesBenchPlugin, { ctx });
  },
});
