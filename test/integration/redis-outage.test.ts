import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idemKey } from '../../server/adapters/db/idempotency.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';
import { freePort, RedisServer, waitUntil } from '../helpers/procs.ts';

/** Resolves with the answer, or with 'hung' when none came within `ms` (a liveness check, not a speed one). */
async function answers<T>(p: Promise<T>, ms = 15_000): Promise<T | 'hung'> {
  let t: NodeJS.Timeout | undefined;
  const r = await Promise.race([p, new Promise<'hung'>((res) => (t = setTimeout(() => res('hung'), ms)))]);
  clearTimeout(t);
  return r;
}

/**
 * Issue 9 finding 5: with Redis gone (stopped, or frozen and not answering), the API still answers —
 * Postgres alone decides holds and bookings, sign-in fails closed with 503 — and nothing acknowledged
 * is lost or duplicated when Redis returns.
 */
describe('a Redis outage does not hang the API', () => {
  let env: TestEnv;
  /** A private redis-server on a fixed port, so it can be stopped, frozen and started again at the same address. */
  let redis: RedisServer;
  let built: App;
  let app: FastifyInstance;
  let fwd: Session;
  let listingId: string;

  beforeAll(async () => {
    redis = new RedisServer({ port: await freePort(), group: false });
    await redis.start();
    env = await createTestEnv({ cfg: { redisUrl: redis.url, apiPerMinute: 100_000, redisCommandTimeoutMs: 300 } });
    built = await buildApp(env.cfg);
    app = built.app;
    fwd = await signIn(app, 'forwarder1@demo.test');
    ({ listingId } = await createDepartureWithListing(env.db, { capacityTeu: 40, capacityTonnes: 800 }));
  });
  afterAll(async () => {
    await app?.close();
    await redis?.kill();
    // the test env's own Redis client points at the private server: give cleanup a live one
    await redis?.start().catch(() => {});
    await env?.cleanup();
    await redis?.kill();
  });

  it('Redis stopped: reads, holds and bookings answer from Postgres; sign-in answers 503; retries are not duplicated', async () => {
    await redis.kill();
    const api = as(app, fwd);
    const me = await answers(api({ method: 'GET', url: '/api/me' }));
    expect(me === 'hung' ? 'hung' : me.statusCode).toBe(200);
    const deps = await answers(api({ method: 'GET', url: '/api/departures' }));
    expect(deps === 'hung' ? 'hung' : deps.statusCode).toBe(200);

    const plain = await answers(api({ method: 'POST', url: '/api/holds', payload: { listingId, teu: 2, tonnes: 20 } }));
    expect(plain === 'hung' ? 'hung' : plain.statusCode).toBe(201);
    const keyed = await answers(api({ method: 'POST', url: '/api/holds', headers: { 'idempotency-key': 'outage-1' }, payload: { listingId, teu: 3, tonnes: 30 } }));
    expect(keyed === 'hung' ? 'hung' : keyed.statusCode).toBe(201);
    const holdId = (keyed as { json(): { id: string } }).json().id;
    // acknowledged means durable
    const row = await env.db.selectFrom('holds').select(['status', 'teu']).where('id', '=', holdId).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'active', teu: 3 });

    const booked = await answers(api({ method: 'POST', url: `/api/holds/${(plain as { json(): { id: string } }).json().id}/confirm`, payload: { reference: 'PO-outage' } }));
    expect(booked === 'hung' ? 'hung' : booked.statusCode).toBe(201);
    const bookingId = (booked as { json(): { id: string } }).json().id;
    expect(await env.db.selectFrom('bookings').select('status').where('id', '=', bookingId).executeTakeFirstOrThrow()).toEqual({ status: 'confirmed' });
    // its settlement job waits in the outbox for Redis
    const pending = await env.db.selectFrom('outbox').select('job_id').where('job_id', '=', `booking.settle-${bookingId}`).executeTakeFirst();
    expect(pending).toBeTruthy();

    const signInRes = await answers(app.inject({ method: 'POST', url: '/api/session', payload: { email: 'forwarder2@demo.test', password: 'cluster-demo' } }));
    expect(signInRes === 'hung' ? 'hung' : signInRes.statusCode).toBe(503);
    expect((signInRes as { json(): { error: { code: string } } }).json().error.code).toBe('unavailable');

    // Redis returns: sign-in works again, and the client's retry of the keyed hold gets the same hold
    await redis.start();
    await waitUntil(async () => (await app.inject({ method: 'POST', url: '/api/session', payload: { email: 'forwarder2@demo.test', password: 'cluster-demo' } })).statusCode === 200, 'sign-in after Redis returned', 100, 100);
    const retry = await api({ method: 'POST', url: '/api/holds', headers: { 'idempotency-key': 'outage-1' }, payload: { listingId, teu: 3, tonnes: 30 } });
    expect(retry.statusCode).toBe(201);
    expect(retry.json().id).toBe(holdId);
    const holds = await env.db.selectFrom('holds').select('id').where('listing_id', '=', listingId).execute();
    expect(holds.length).toBe(2);
  });

  it('Redis frozen (accepts connections, answers nothing): requests still answer', async () => {
    await waitUntil(async () => (await app.inject({ method: 'GET', url: '/health' })).statusCode === 200, 'health with Redis back');
    redis.signal('SIGSTOP');
    try {
      const api = as(app, fwd);
      const me = await answers(api({ method: 'GET', url: '/api/me' }));
      expect(me === 'hung' ? 'hung' : me.statusCode).toBe(200);
      const hold = await answers(api({ method: 'POST', url: '/api/holds', payload: { listingId, teu: 1, tonnes: 10 } }));
      expect(hold === 'hung' ? 'hung' : hold.statusCode).toBe(201);
      const health = await answers(app.inject({ method: 'GET', url: '/health' }));
      expect(health === 'hung' ? 'hung' : health.statusCode).toBe(503);
    } finally {
      redis.signal('SIGCONT');
    }
  });

  it('a hold expires a full TTL after it was committed, not after the request began', async () => {
    const principal = await built.ctx.services.auth.fromSession(fwd.cookie.split('=')[1]);
    expect(principal).toBeTruthy();
    const longAgo = new Date(Date.now() - 5 * 60_000); // a request that waited five minutes before it committed
    const body = { listingId, teu: 1, tonnes: 10 };
    const hold = await built.ctx.services.holds.create(principal!, body, idemKey(principal!.orgId, 'late-1', 'POST /api/holds', body), longAgo);
    const left = Date.parse(hold.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(env.cfg.holdTtlMs - 60_000);
  });
});
