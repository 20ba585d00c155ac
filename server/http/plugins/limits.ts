import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import { normalizeEmail } from '../../core/identity.ts';
import type { Bucket, RateLimiter, Verdict } from '../../adapters/redis/rate-limit.ts';
import { AppError } from '../../domain/errors.ts';
import type { Principal } from '../../domain/principal.ts';
import { apiRoute } from './routes.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;

type LimitsConfig = Pick<Config, 'apiPerMinute' | 'authLookupsPerMinute' | 'signInPerMinute' | 'signInPerAddressPerMinute' | 'signInPerAccountPerHour'>;

/** The buckets of a sign-in attempt: address + account, address alone, account alone (longer window). */
export function signInBuckets(cfg: LimitsConfig, ip: string, rawEmail: string): Bucket[] {
  const account = normalizeEmail(rawEmail).slice(0, 254);
  return [
    { name: 'signin-pair', identity: `${ip}\n${account}`, max: cfg.signInPerMinute, windowMs: MINUTE, whenRedisDown: 'closed' },
    { name: 'signin-address', identity: ip, max: cfg.signInPerAddressPerMinute, windowMs: MINUTE, whenRedisDown: 'closed' },
    { name: 'signin-account', identity: account, max: cfg.signInPerAccountPerHour, windowMs: HOUR, whenRedisDown: 'closed' },
  ];
}

/** The API bucket of a request or a live-connection command: per principal (user or key), per address when signed out. */
export function apiBucket(cfg: Pick<LimitsConfig, 'apiPerMinute'>, p: Principal | null | undefined, ip: string): Bucket {
  const identity = p ? (p.apiKeyId ? `key:${p.apiKeyId}` : `user:${p.userId}:${p.orgId}`) : `ip:${ip}`;
  return { name: 'api', identity, max: cfg.apiPerMinute, windowMs: MINUTE, whenRedisDown: 'local' };
}

function enforce(v: Verdict, reply: FastifyReply) {
  if (v.ok) return;
  if (v.reason === 'unavailable') {
    reply.header('retry-after', '5');
    throw new AppError(503, 'unavailable', 'sign-in is briefly unavailable; try again in a few seconds');
  }
  reply.header('retry-after', String(Math.max(1, Math.ceil(v.retryAfterMs / 1000))));
  throw new AppError(429, 'rate_limited', 'too many requests; slow down and retry later');
}

/**
 * Rate limits, decided on the matched route (never the raw URL) and keyed on who is counted — a principal
 * id, an address, a normalised account — hashed in Redis, never a cookie or key:
 *
 * - credential look-ups: a cookie or API key this server has not cached costs a Postgres query, so it is
 *   counted per address before the query (a flood of random cookies is refused cheaply);
 * - API requests per principal (user or key), or per address when signed out;
 * - sign-in: per address + account, per address, per account (hour window); refused with 503 while Redis
 *   is down (fail closed: password guessing must never be unlimited).
 *
 * Look-up and API buckets count in-process while Redis is down.
 */
export function registerLimits(app: FastifyInstance, limiter: RateLimiter, cfg: LimitsConfig) {
  // Register after the auth hook: the principal is known here.
  app.addHook('onRequest', async (req, reply) => {
    if (!apiRoute(req)) return;
    enforce(await limiter.hit([apiBucket(cfg, req.principal, req.ip)]), reply);
  });

  // Sign-in needs the body (the account), so it runs after parsing and validation. A password change checks the
  // current password: the same buckets, for the signed-in person's account (a stolen session cannot guess faster).
  app.addHook('preHandler', async (req, reply) => {
    const limit = req.routeOptions.config.limit;
    if (!limit || !apiRoute(req)) return;
    if (limit === 'password' && !req.principal?.userId) return; // an API key has no password (403 from the service)
    const email = limit === 'password' ? req.principal?.email : (req.body as { email?: unknown } | undefined)?.email;
    enforce(await limiter.hit(signInBuckets(cfg, req.ip, typeof email === 'string' ? email : '')), reply);
  });
}

/** The per-address limit on credential look-ups, for the auth hook to call before an uncached look-up. */
export function lookupLimit(limiter: RateLimiter, cfg: LimitsConfig) {
  return async (req: FastifyRequest) => {
    const v = await limiter.hit([{ name: 'lookup', identity: req.ip, max: cfg.authLookupsPerMinute, windowMs: MINUTE, whenRedisDown: 'local' }]);
    if (!v.ok && v.reason === 'limited') throw new AppError(429, 'rate_limited', 'too many unknown credentials from this address; slow down');
  };
}
