import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

const PASSWORD = 'cluster-demo';

describe('sign-in limits: one identity, three buckets', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  const attempt = (email: string, password: string, url = '/api/session', ip?: string) =>
    app.inject({ method: 'POST', url, payload: { email, password }, ...(ip ? { headers: { 'x-forwarded-for': ip } } : {}) });

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { signInPerMinute: 3, signInPerAddressPerMinute: 8, signInPerAccountPerHour: 6, trustProxy: 1 } });
    ({ app } = await buildApp(env.cfg));
  });
  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  it('spellings of one e-mail share a bucket; an encoded path shares it too', async () => {
    const ip = '198.51.100.1';
    for (let i = 0; i < 3; i++) expect((await attempt('forwarder2@demo.test', 'guess', '/api/session', ip)).statusCode).toBe(401);
    for (const variant of [' forwarder2@demo.test', '\tforwarder2@demo.test', 'forwarder2@demo.test ', 'FORWARDER2@DEMO.TEST', 'ｆｏｒｗａｒｄｅｒ２@demo.test', 'forwarder2@demo.test\u00a0']) {
      const res = await attempt(variant, PASSWORD, '/api/session', ip);
      expect(res.statusCode, JSON.stringify(variant)).toBe(429);
      expectErrorShape(res.json());
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect((await attempt('forwarder2@demo.test', PASSWORD, '/%61pi/session', ip)).statusCode).toBe(429);
    expect((await attempt('forwarder2@demo.test', PASSWORD, '/api/sessio%6e', ip)).statusCode).toBe(429);
  });

  it('one address cannot spray many accounts', async () => {
    const ip = '198.51.100.2';
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) codes.push((await attempt(`nobody${i}@demo.test`, 'guess', '/api/session', ip)).statusCode);
    expect(codes.slice(0, 8).every((c) => c === 401)).toBe(true);
    expect(codes.slice(8)).toEqual([429, 429]);
  });

  it('one account cannot be guessed from many addresses (slower, longer window)', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await attempt('forwarder3@demo.test', 'guess', '/api/session', `203.0.113.${i + 1}`)).statusCode);
    expect(codes.slice(0, 6).every((c) => c === 401)).toBe(true);
    expect(codes.slice(6)).toEqual([429, 429]);
    // the right password from a fresh address is refused too while the account bucket is full
    expect((await attempt('forwarder3@demo.test', PASSWORD, '/api/session', '203.0.113.99')).statusCode).toBe(429);
  });

  it('a client-written X-Forwarded-For does not make a new address: only the trusted hop counts', async () => {
    const proxySeen = '192.0.2.50';
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) codes.push((await attempt(`spray${i}@demo.test`, 'guess', '/api/session', `10.9.9.${i}, ${proxySeen}`)).statusCode);
    expect(codes.slice(8)).toEqual([429, 429]);
  });
});

describe('no secret in Redis; unknown credentials are limited before they cost a look-up', () => {
  let env: TestEnv;
  let built: App;
  let app: FastifyInstance;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { authLookupsPerMinute: 5, principalCacheMs: 60_000, signInPerMinute: 100 } });
    built = await buildApp(env.cfg);
    app = built.app;
  });
  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  let known: Session;
  it('rate-limit keys carry no cookie, API key or e-mail', async () => {
    const admin = await signIn(app, 'forwarder1@demo.test');
    known = admin;
    const created = await app.inject({ method: 'POST', url: '/api/api-keys', headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf }, payload: { name: 'tms' } });
    expect(created.statusCode).toBe(201);
    const key = created.json().key as string;
    for (let i = 0; i < 3; i++) {
      expect((await app.inject({ method: 'GET', url: '/api/me', headers: { cookie: admin.cookie } })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(200);
    }
    const cookieValue = admin.cookie.split('=')[1]!;
    const keys = await env.redis.keys(`${env.cfg.redisPrefix}*`);
    expect(keys.some((k) => k.includes(`${env.cfg.redisPrefix}rl:`))).toBe(true);
    for (const k of keys) {
      expect(k).not.toContain(cookieValue);
      expect(k).not.toContain(key);
      // the secret part: `cxk_<prefix>_<secret>`, the secret 32 bytes of base64url (43 characters; prefix and secret may
      // themselves contain '_', so it is not found by splitting)
      expect(k).not.toContain(key.slice(-43));
      expect(k.toLowerCase()).not.toContain('forwarder1');
    }
  });

  it('random cookies and keys: at most the look-up budget reaches Postgres, the rest get 429', async () => {
    const lookups = vi.spyOn(built.ctx.services.auth, 'fromSession');
    const keyLookups = vi.spyOn(built.ctx.services.auth, 'fromApiKey');
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const headers = i % 2 ? { cookie: `cx_session=random${i}` } : { authorization: `Bearer cxk_x_random${i}` };
      codes.push((await app.inject({ method: 'GET', url: '/api/me', headers })).statusCode);
    }
    // the earlier test used up some of the 5 look-ups this minute (a new cookie and a new key)
    expect(lookups.mock.calls.length + keyLookups.mock.calls.length).toBeLessThanOrEqual(5);
    expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(7);
    expect(codes.every((c) => c === 401 || c === 429)).toBe(true);
    lookups.mockRestore();
    keyLookups.mockRestore();
    // a valid session this server knows is not affected by the exhausted look-up budget
    const me = await app.inject({ method: 'GET', url: '/api/me', headers: { cookie: known.cookie } });
    expect(me.statusCode).toBe(200);
  });
});
