import type { AddressInfo } from 'node:net';
import type { Socket } from 'socket.io-client';
import { openSocket } from '../helpers/live.ts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { hashPassword } from '../../server/services/passwords.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';
import { waitUntil } from '../helpers/procs.ts';

/**
 * Issue 9 (hardening): a socket is not trusted for ever after its handshake. Each server re-validates the
 * principals of its sockets every SOCKET_RECHECK_MS in one query, and cuts (event `auth:ended`, then
 * disconnect) those whose session expired or was revoked, whose user was disabled or lost its membership,
 * whose key was revoked, or whose role changed — also when the change was made in Postgres behind the API's
 * back, with the principal cache on. A session's sockets also end at the session's own expiry.
 */

interface Client {
  socket: Socket;
  events: { event: string; payload: any }[];
}

describe('live sockets are re-checked after the handshake', () => {
  let env: TestEnv;
  let built: App;
  let url: string;
  let f1: Session;
  let orgId: string;
  let passwordHash: string;
  const clients: Client[] = [];
  let n = 0;

  async function client(base: string, auth: { cookie?: string; token?: string }): Promise<Client> {
    const socket = openSocket(base, auth);
    const c: Client = { socket, events: [] };
    socket.onAny((event, payload) => c.events.push({ event, payload }));
    clients.push(c);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => reject(err));
    });
    return c;
  }

  /** A fresh user of forwarder1's organisation, signed in (each test may disable or remove its own). */
  async function freshUser(role: 'admin' | 'member' = 'member'): Promise<{ userId: string; s: Session }> {
    const email = `recheck${++n}@demo.test`;
    const u = await env.db.insertInto('users').values({ email, name: `Recheck ${n}`, password_hash: passwordHash }).returning('id').executeTakeFirstOrThrow();
    await env.db.insertInto('memberships').values({ user_id: u.id, org_id: orgId, role }).execute();
    return { userId: u.id, s: await signIn(built.app, email, 'recheck-password') };
  }

  const gone = (c: Client, what: string) => waitUntil(async () => !c.socket.connected, what, 100, 50);
  const ended = (c: Client) => c.events.find((e) => e.event === 'auth:ended')?.payload as { reason: string; message: string } | undefined;
  const stillServed = async (c: Client) => {
    expect(c.socket.connected).toBe(true);
    const corridor = await env.db.selectFrom('corridors').select('id').executeTakeFirstOrThrow();
    expect(await c.socket.timeout(5000).emitWithAck('subscribe', { corridorId: corridor.id })).toEqual({ ok: true });
  };

  beforeAll(async () => {
    // the principal cache is ON (60 s): the re-check must not be fooled by it
    env = await createTestEnv({ cfg: { socketRecheckMs: 200, principalCacheMs: 60_000, signInPerMinute: 1000 } });
    built = await buildApp(env.cfg);
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
    f1 = await signIn(built.app, 'forwarder1@demo.test');
    orgId = f1.me.org.id;
    passwordHash = await hashPassword('recheck-password');
  });
  afterAll(async () => {
    for (const c of clients) c.socket.disconnect();
    await built?.app.close();
    await env?.cleanup();
  });

  it('a user disabled in Postgres loses its sockets at the next re-check (and its cached REST principal); others stay', async () => {
    const { userId, s } = await freshUser();
    const a = await client(url, { cookie: s.cookie });
    const b = await client(url, { cookie: s.cookie });
    const bystander = await client(url, { cookie: f1.cookie });
    expect((await as(built.app, s)({ method: 'GET', url: '/api/me' })).statusCode).toBe(200); // cached now
    await env.db.updateTable('users').set({ disabled_at: new Date() }).where('id', '=', userId).execute();
    await gone(a, 'the disabled user’s first socket to be cut');
    await gone(b, 'the disabled user’s second socket to be cut');
    expect(ended(a)).toMatchObject({ reason: 'revoked' });
    expect(typeof ended(a)!.message).toBe('string');
    await stillServed(bystander);
    // the server forgot the principal it had cached: REST refuses it too, long before PRINCIPAL_CACHE_MS
    expect((await as(built.app, s)({ method: 'GET', url: '/api/me' })).statusCode).toBe(401);
    // and a new handshake is refused
    await expect(client(url, { cookie: s.cookie })).rejects.toThrow(/unauthorized/);
  });

  it('a removed membership, a session revoked or expired in Postgres, and a changed role each end their sockets', async () => {
    const removed = await freshUser();
    const revoked = await freshUser();
    const expired = await freshUser();
    const demoted = await freshUser('admin');
    const sockets = {
      removed: await client(url, { cookie: removed.s.cookie }),
      revoked: await client(url, { cookie: revoked.s.cookie }),
      expired: await client(url, { cookie: expired.s.cookie }),
      demoted: await client(url, { cookie: demoted.s.cookie }),
    };
    const bystander = await client(url, { cookie: f1.cookie });
    await env.db.deleteFrom('memberships').where('user_id', '=', removed.userId).execute();
    await env.db.updateTable('sessions').set({ revoked_at: new Date() }).where('user_id', '=', revoked.userId).execute();
    await env.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', expired.userId).execute();
    await env.db.updateTable('memberships').set({ role: 'member' }).where('user_id', '=', demoted.userId).execute();
    for (const [what, c] of Object.entries(sockets)) await gone(c, `the ${what} socket to be cut`);
    expect(ended(sockets.removed)?.reason).toBe('revoked');
    expect(ended(sockets.revoked)?.reason).toBe('revoked');
    expect(ended(sockets.expired)?.reason).toBe('revoked');
    expect(ended(sockets.demoted)?.reason).toBe('changed');
    await stillServed(bystander);
    // the demoted user may connect again, with the new role
    await stillServed(await client(url, { cookie: demoted.s.cookie }));
  });

  it('an API key revoked in Postgres (behind the API) loses its sockets; another key stays', async () => {
    const mk = async (name: string) => (await as(built.app, f1)({ method: 'POST', url: '/api/api-keys', payload: { name } })).json() as { id: string; key: string };
    const doomed = await mk('revoked in the database');
    const kept = await mk('kept');
    const a = await client(url, { token: doomed.key });
    const b = await client(url, { token: kept.key });
    await env.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', doomed.id).execute();
    await gone(a, 'the revoked key’s socket to be cut');
    expect(ended(a)?.reason).toBe('revoked');
    await stillServed(b);
  });

  it('re-validates all principals of the server in one batched call per round, not one per socket', async () => {
    const spy = vi.spyOn(built.ctx.services.auth, 'revalidate');
    try {
      const other = await freshUser();
      for (let i = 0; i < 3; i++) await client(url, { cookie: f1.cookie });
      for (let i = 0; i < 3; i++) await client(url, { cookie: other.s.cookie });
      const before = spy.mock.calls.length;
      await waitUntil(async () => spy.mock.calls.length >= before + 3, 'three re-check rounds', 100, 50);
      const live = [...built.io.of('/').sockets.values()];
      const principals = new Set(live.map((s) => (s.data.principal.sessionId ? `session:${s.data.principal.sessionId}` : `apikey:${s.data.principal.apiKeyId}`)));
      expect(live.length).toBeGreaterThan(principals.size); // several sockets share a principal…
      const last = spy.mock.calls.at(-1)![0];
      expect(new Set(last).size).toBe(last.length); // …and each principal is asked for once
      expect(new Set(last)).toEqual(principals);
    } finally {
      spy.mockRestore();
    }
  });

  it('a session’s sockets end at the session’s own expiry, without waiting for a re-check', async () => {
    // re-check rounds far apart: only the expiry timer can cut this socket
    const short = await buildApp({ ...env.cfg, sessionTtlMs: 1500, socketRecheckMs: 600_000 });
    try {
      await short.app.listen({ port: 0, host: '127.0.0.1' });
      const shortUrl = `http://127.0.0.1:${(short.app.server.address() as AddressInfo).port}`;
      const s = await signIn(short.app, 'forwarder3@demo.test');
      const c = await client(shortUrl, { cookie: s.cookie });
      await gone(c, 'the socket to end with its session');
      expect(ended(c)?.reason).toBe('expired');
    } finally {
      await short.app.close();
    }
  });
});
