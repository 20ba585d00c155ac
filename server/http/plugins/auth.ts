import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthService } from '../../services/auth.ts';
import { AppError, unauthorized } from '../../domain/errors.ts';
import type { Principal } from '../../domain/principal.ts';
import { apiRoute } from './routes.ts';

export const SESSION_COOKIE = 'cx_session';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** 'public' routes need no sign-in; every other /api route does. */
    auth?: 'public';
    /**
     * 'sign-in': the per-address and per-account sign-in limits apply (after body parsing), the account from the body;
     * 'password': the same limits, the account being the signed-in person (a password change guesses the current one).
     */
    limit?: 'sign-in' | 'password';
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1];
}

/**
 * Resolves who is calling (API key or session cookie) for every request routed to an /api route, then
 * enforces sign-in and CSRF. `beforeLookup` runs before a credential this server has not cached costs a
 * Postgres look-up (the per-address look-up limit).
 */
export function registerAuth(app: FastifyInstance, auth: AuthService, beforeLookup: (req: FastifyRequest) => Promise<void> = async () => {}) {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req: FastifyRequest) => {
    // Decided on the matched route: unknown routes (incl. /api/* falling through to the static catch-all)
    // answer 404, not 401.
    if (!apiRoute(req)) return;
    const key = bearer(req.headers.authorization);
    const cookie = req.cookies[SESSION_COOKIE];
    if ((key !== undefined || cookie !== undefined) && !auth.isCached({ key, cookie })) await beforeLookup(req);
    if (key !== undefined) {
      req.principal = await auth.fromApiKey(key);
      if (!req.principal) throw new AppError(401, 'invalid_api_key', 'the API key is unknown or revoked');
    } else {
      req.principal = await auth.fromSession(cookie);
    }
    if (req.routeOptions.config.auth === 'public') return;
    if (!req.principal) throw unauthorized();
    if (req.principal.kind === 'session' && MUTATING.has(req.method)) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameToken(sent, req.principal.csrfToken ?? '')) {
        throw new AppError(403, 'csrf', 'missing or wrong x-csrf-token header');
      }
    }
  });
}

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw unauthorized();
  return req.principal;
}
