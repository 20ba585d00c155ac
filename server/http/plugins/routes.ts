import type { FastifyRequest } from 'fastify';

/**
 * Every decision about a route (sign-in required, which limits apply, whether it counts as trading) is
 * taken on the route Fastify matched — `req.routeOptions.url`, the pattern of the route that will run —
 * never on the raw URL: `/%61pi/departures` is routed to `/api/departures`, so it must be treated as such.
 * The static catch-all (`/*`) and the 404 handler are not API routes, whatever the URL says.
 */
export function apiRoute(req: FastifyRequest): string | undefined {
  if (req.is404) return undefined;
  const url = req.routeOptions.url;
  return url !== undefined && url.startsWith('/api/') ? url : undefined;
}
