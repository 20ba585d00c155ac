import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, expectErrorShape, signIn } from '../helpers/http.ts';
import { waitUntil } from '../helpers/procs.ts';

/**
 * Servers remember who a session or key is (PRINCIPAL_CACHE_MS) instead of asking Postgres on every
 * request. Nothing that must stop at once may outlive that memory: a sign-out or a revoked key on one
 * server is refused by every other server at once, and a session still stops at its own expiry.
 */
describe('principal cache across two servers', () => {
  let env: TestEnv;
  let a: App;
  let b: App;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { principalCacheMs: 60_000, signInPerMinute: 1000 } });
    a = await buildApp(env.cfg);
    b = await buildApp(env.cfg);
  });
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await env?.cleanup();
  });

  it('serves a known session from memory: a change made behind its back is not seen until it is forgotten', async () => {
    const s = await signIn(a.app, 'forwarder2@demo.test');
    expect((await as(b.app, s)({ method: 'GET', url: '/api/me' })).json().org.name).not.toBe('Renamed behind the cache');
    const org = s.me.org.id;
    const old = await env.db.selectFrom('organisations').select('name').where('id', '=', org).executeTakeFirstOrThrow();
    await env.db.updateTable('organisations').set({ name: 'Renamed behind the cache' }).where('id', '=', org).execute();
    try {
      // still the remembered principal (proves the cache is in use; the next test proves it is safe)
      expect((await as(b.app, s)({ method: 'GET', url: '/api/me' })).json().org.name).toBe(old.name);
    } finally {
      await env.db.updateTable('organisations').set({ name: old.name }).where('id', '=', org).execute();
    }
  });

  it('a sign-out on server A is refused on server B at once, though B had the session in memory', async () => {
    const s = await signIn(a.app, 'forwarder1@demo.test');
    expect((await as(b.app, s)({ method: 'GET', url: '/api/me' })).statusCode).toBe(200); // B remembers it now
    expect((await as(a.app, s)({ method: 'DELETE', url: '/api/session' })).statusCode).toBe(204);
    // B hears of it through Redis pub/sub; the window is a message, not the cache's lifetime
    await waitUntil(async () => (await as(b.app, s)({ method: 'GET', url: '/api/me' })).statusCode === 401, 'B refusing the signed-out session', 20, 50);
    const res = await as(b.app, s)({ method: 'GET', url: '/api/me' });
    expect(res.statusCode).toBe(401);
    expectErrorShape(res.json());
    expect((await as(a.app, s)({ method: 'GET', url: '/api/me' })).statusCode).toBe(401);
  });

  it('a key revoked on server A stops on server B at once', async () => {
    const admin = await signIn(a.app, 'forwarder1@demo.test');
    const created = await as(a.app, admin)({ method: 'POST', url: '/api/api-keys', payload: { name: 'cache test' } });
    expect(created.statusCode).toBe(201);
    const { id, key } = created.json();
    const me = () => b.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${key}` } });
    expect((await me()).statusCode).toBe(200);
    expect((await as(a.app, admin)({ method: 'DELETE', url: `/api/api-keys/${id}` })).statusCode).toBe(204);
    await waitUntil(async () => (await me()).statusCode === 401, 'B refusing the revoked key', 20, 50);
  });

  it('a remembered session still ends at its own expiry', async () => {
    const short = await buildApp({ ...env.cfg, sessionTtlMs: 1500 });
    try {
      const s = await signIn(short.app, 'forwarder3@demo.test');
      expect((await as(short.app, s)({ method: 'GET', url: '/api/me' })).statusCode).toBe(200);
      await waitUntil(async () => (await as(short.app, s)({ method: 'GET', url: '/api/me' })).statusCode === 401, 'the session to expire', 40, 100);
    } finally {
      await short.app.close();
    }
  });
});
