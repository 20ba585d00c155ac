import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthService } from '../../services/auth.ts';
import { AppError, unauthorized } from '../../services/errors.ts';
import type { Principal } from '../../services/principal.ts';

export const SESSION_COOKIE = 'cx_session';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** 'public' routes need no sign-in; every other /api route does. */
    auth?: 'public';
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

/** Resolves who is calling (API key or session cookie) for every /api request, then enforces sign-in and CSRF. */
export function registerAuth(app: FastifyInstance, auth: AuthService) {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req: FastifyRequest) => {
    // Unknown routes (including /api/* falling through to the static catch-all) answer 404, not 401.
    if (!req.url.startsWith('/api/') || req.is404 || req.routeOptions.url === '/*') return;
    const key = bearer(req.headers.authorization);
    if (key !== undefined) {
      req.principal = await auth.fromApiKey(key);
      if (!req.principal) throw new AppError(401, 'invalid_api_key', 'the API key is unknown or revoked');
    } else {
      req.principal = await auth.fromSession(req.cookies[SESSION_COOKIE]);
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
