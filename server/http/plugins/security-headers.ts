import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

type HelmetOptions = Parameters<typeof helmet>[0];

/**
 * Helmet's security headers, computed once. (@fastify/helmet builds the helmet middleware again on every
 * request; with static options the headers never change, so they are captured at start-up and set from a
 * plain object — same headers, a fraction of the cost on the hot path.)
 */
export function staticHelmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (k: string, v: string | number | readonly string[]) => void (headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v)),
    removeHeader: (k: string) => void delete headers[k.toLowerCase()],
    getHeader: (k: string) => headers[k.toLowerCase()],
  };
  let sync = false;
  helmet(options)({} as never, res as never, () => (sync = true));
  if (!sync) throw new Error('helmet did not finish synchronously: its headers cannot be precomputed');
  return headers;
}

/**
 * Helmet's headers on every answer, and `cache-control: no-store` on every answer of an API route (decided by the
 * matched route, not the raw URL): they are private to the caller, and some show a secret once (a new API key, a
 * webhook's signing secret, a temporary password) — no browser or proxy cache may keep them. A route may still set
 * its own.
 */
export function registerSecurityHeaders(app: FastifyInstance, options: HelmetOptions) {
  const headers = staticHelmetHeaders(options);
  const api = { ...headers, 'cache-control': 'no-store' };
  app.addHook('onRequest', async (req, reply) => {
    reply.headers(req.routeOptions.url?.startsWith('/api/') ? api : headers);
  });
}
