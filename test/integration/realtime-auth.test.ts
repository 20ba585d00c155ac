import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../server/context.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

const WAIT_MS = 5000;

/** Resolves with the first `event` on `socket`; fails the test if it does not come within `ms`. */
function waitFor<T = unknown>(socket: Socket, event: string, ms = WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => {
      socket.off(event, on);
      reject(new Error(`timed out after ${ms} ms waiting for '${event}'`));
    }, ms);
    const on = (arg: T) => {
      clearTimeout(t);
      resolve(arg);
    };
    socket.once(event, on);
  });
}

describe('Socket.IO authentication, origin check, subscriptions and revocation', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let ctx: Context;
  let url: string;
  let f1: Session;
  const clients: Socket[] = [];

  function client(opts: { cookie?: string; token?: unknown; origin?: string } = {}): Socket {
    const extraHeaders: Record<string, string> = {};
    if (opts.cookie) extraHeaders.cookie = opts.cookie;
    if (opts.origin) extraHeaders.origin = opts.origin;
    const s = connect(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: WAIT_MS,
      extraHeaders,
      ...(opts.token !== undefined ? { auth: { token: opts.token } } : {}),
    });
    clients.push(s);
    return s;
  }

  /** Connects and resolves once connected; rejects with the connect_error. */
  function connected(s: Socket): Promise<void> {
    return new Promise((resolve, reject) => {
      if (s.connected) return resolve();
      const t = setTimeout(() => reject(new Error('timed out waiting for connect')), WAIT_MS);
      s.once('connect', () => (clearTimeout(t), resolve()));
      s.once('connect_error', (err) => (clearTimeout(t), reject(err)));
    });
  }

  async function refused(s: Socket): Promise<Error> {
    const err = await waitFor<Error>(s, 'connect_error');
    expect(s.connected).toBe(false);
    return err;
  }

  async function newKey(s: Session, name: string): Promise<{ id: string; key: string }> {
    const res = await as(app, s)({ method: 'POST', url: '/api/api-keys', payload: { name } });
    expect(res.statusCode).toBe(201);
    return res.json();
  }

  let corridorA: string;
  let corridorB: string;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { signInPerMinute: 1000 } });
    const built = await buildApp(env.cfg);
    app = built.app;
    ctx = built.ctx;
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    f1 = await signIn(app, 'forwarder1@demo.test');
    const corridors = await env.db.selectFrom('corridors').select('id').orderBy('code').limit(2).execute();
    corridorA = corridors[0]!.id;
    corridorB = corridors[1]!.id;
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await app?.close();
    await env?.cleanup();
  });

  describe('handshake', () => {
    it('refuses a connection without credentials', async () => {
      const err = await refused(client());
      expect(err.message).toBe('unauthorized');
    });

    it('refuses a garbage token, an unknown key and an unknown cookie', async () => {
      // one at a time, so that each connect_error is listened for before it can arrive
      for (const opts of [
        { token: 'garbage' },
        { token: 'cxk_abcdefgh_' + 'A'.repeat(43) },
        { token: 12345 },
        { token: { token: 'x' } },
        { cookie: 'cx_session=' + 'z'.repeat(43) },
      ]) {
        const err = await refused(client(opts));
        expect(err.message, JSON.stringify(opts)).toBe('unauthorized');
      }
    });

    it('accepts a valid session cookie', async () => {
      const s = client({ cookie: f1.cookie });
      await connected(s);
      expect(s.connected).toBe(true);
    });

    it('accepts a valid API key', async () => {
      const { key } = await newKey(f1, 'socket key');
      const s = client({ token: key });
      await connected(s);
      expect(s.connected).toBe(true);
    });

    it('refuses a foreign Origin even with valid credentials, and accepts its own origin', async () => {
      const evil = client({ cookie: f1.cookie, origin: 'http://evil.example' });
      await refused(evil);
      const garbled = client({ cookie: f1.cookie, origin: 'not a url' });
      await refused(garbled);
      const same = client({ cookie: f1.cookie, origin: url });
      await connected(same);
    });

    it('compares the Origin scheme, host and port exactly: https:// is not the same origin as this http:// server', async () => {
      const port = new URL(url).port;
      // today's same-origin by host alone let these through; the scheme (and port) must match too
      for (const origin of [url.replace('http://', 'https://'), `https://localhost:${port}`, `ws://127.0.0.1:${port}`, `http://127.0.0.1:${Number(port) + 1}`, `${url}/path`, 'null']) {
        const err = await refused(client({ cookie: f1.cookie, origin }));
        expect(err.message, origin).toBeTruthy();
      }
      // X-Forwarded-Proto is ignored without TRUST_PROXY: it cannot make an https origin pass
      const forged = connect(url, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        timeout: WAIT_MS,
        extraHeaders: { cookie: f1.cookie, origin: url.replace('http://', 'https://'), 'x-forwarded-proto': 'https' },
      });
      clients.push(forged);
      await refused(forged);
      await connected(client({ cookie: f1.cookie, origin: url }));
      await connected(client({ cookie: f1.cookie, origin: url.toUpperCase().replace('HTTP://', 'http://') }));
    });

    it('an allow-list entry admits its exact scheme + host + port only; behind a trusted proxy X-Forwarded-Proto decides same-origin', async () => {
      const other = await buildApp({ ...env.cfg, allowedOrigins: ['https://app.example', 'http://plain.example:8080'], trustProxy: 1 });
      const opened: Socket[] = [];
      try {
        await other.app.listen({ port: 0, host: '127.0.0.1' });
        const base = `http://127.0.0.1:${(other.app.server.address() as AddressInfo).port}`;
        const host = new URL(base).host;
        const open = (origin: string, proto?: string) => {
          const s = connect(base, {
            transports: ['websocket'],
            forceNew: true,
            reconnection: false,
            timeout: WAIT_MS,
            extraHeaders: { cookie: f1.cookie, origin, ...(proto ? { 'x-forwarded-proto': proto } : {}) },
          });
          clients.push(s);
          opened.push(s);
          return s;
        };
        await connected(open('https://app.example'));
        await connected(open('https://app.example:443'));
        await connected(open('http://plain.example:8080'));
        for (const origin of ['http://app.example', 'https://app.example:8443', 'https://evil.app.example', 'https://plain.example:8080', 'http://plain.example']) {
          await refused(open(origin));
        }
        // the proxy (trusted: one hop) says the client spoke https: only the https origin is same-origin
        await connected(open(`https://${host}`, 'https'));
        await refused(open(`http://${host}`, 'https'));
        await connected(open(`http://${host}`, 'http'));
        await refused(open(`https://${host}`, 'http'));
        await connected(open(`http://${host}`));
      } finally {
        for (const c of opened) c.close();
        await other.app.close();
      }
    });

    it('refuses a revoked key and a signed-out session at the handshake', async () => {
      const { id, key } = await newKey(f1, 'to revoke before connect');
      expect((await as(app, f1)({ method: 'DELETE', url: `/api/api-keys/${id}` })).statusCode).toBe(204);
      expect((await refused(client({ token: key }))).message).toBe('unauthorized');

      const s = await signIn(app, 'forwarder1@demo.test');
      expect((await as(app, s)({ method: 'DELETE', url: '/api/session' })).statusCode).toBe(204);
      expect((await refused(client({ cookie: s.cookie }))).message).toBe('unauthorized');
    });
  });

  describe('subscribe', () => {
    it('acks { ok: false } for malformed payloads and stays connected; a valid corridorId acks { ok: true }', async () => {
      const s = client({ cookie: f1.cookie });
      await connected(s);
      const bad: unknown[] = [
        null,
        'corridor',
        42,
        [],
        [corridorA],
        {},
        { corridorId: 'x' },
        { corridorId: 123 },
        { corridorId: corridorA, departureId: corridorA },
        { corridorId: corridorA.toUpperCase() + ' ' },
        { roomId: corridorA },
        { corridorId: `${corridorA}' or 1=1 --` },
      ];
      for (const payload of bad) {
        const ack = await s.timeout(WAIT_MS).emitWithAck('subscribe', payload);
        expect(ack, JSON.stringify(payload)).toMatchObject({ ok: false });
        expect(typeof ack.error).toBe('string');
      }
      expect(s.connected).toBe(true);
      // a well-formed id that does not exist is refused too
      const missing = await s.timeout(WAIT_MS).emitWithAck('subscribe', { corridorId: '00000000-0000-4000-8000-000000000000' });
      expect(missing).toMatchObject({ ok: false });
      const ok = await s.timeout(WAIT_MS).emitWithAck('subscribe', { corridorId: corridorA });
      expect(ok).toEqual({ ok: true });
      expect(s.connected).toBe(true);
    });

    it('delivers an event to subscribers of its room and not to other sockets', async () => {
      const sub = client({ cookie: f1.cookie });
      const other = client({ cookie: f1.cookie });
      await Promise.all([connected(sub), connected(other)]);
      expect(await sub.timeout(WAIT_MS).emitWithAck('subscribe', { corridorId: corridorA })).toEqual({ ok: true });
      expect(await other.timeout(WAIT_MS).emitWithAck('subscribe', { corridorId: corridorB })).toEqual({ ok: true });

      const seenByOther: unknown[] = [];
      other.on('departure:availability', (p) => seenByOther.push(p));

      const payload = { departureId: '11111111-1111-4111-8111-111111111111', seq: 7, freeTeu: 12, freeTonnes: 340 };
      const got = waitFor(sub, 'departure:availability');
      await ctx.events.emit([{ rooms: [`corridor:${corridorA}`], event: 'departure:availability', payload }]);
      expect(await got).toEqual(payload);

      // A marker on corridor B, emitted after the first event: the other socket receives packets in
      // the order the server sent them, so once it has the marker it would already have the first event.
      const marker = { departureId: '22222222-2222-4222-8222-222222222222', seq: 1, freeTeu: 1, freeTonnes: 1 };
      const gotMarker = waitFor(other, 'departure:availability');
      await ctx.events.emit([{ rooms: [`corridor:${corridorB}`], event: 'departure:availability', payload: marker }]);
      expect(await gotMarker).toEqual(marker);
      expect(seenByOther).toEqual([marker]);

      // after unsubscribe, the first socket no longer receives corridor A events
      expect(await sub.timeout(WAIT_MS).emitWithAck('unsubscribe', { corridorId: corridorA })).toEqual({ ok: true });
      expect(await sub.timeout(WAIT_MS).emitWithAck('subscribe', { corridorId: corridorB })).toEqual({ ok: true });
      const seenBySub: unknown[] = [];
      sub.on('departure:availability', (p) => seenBySub.push(p));
      const marker2 = { ...marker, seq: 2 };
      const gotMarker2 = waitFor(sub, 'departure:availability');
      await ctx.events.emit([{ rooms: [`corridor:${corridorA}`], event: 'departure:availability', payload: { ...payload, seq: 8 } }]);
      await ctx.events.emit([{ rooms: [`corridor:${corridorB}`], event: 'departure:availability', payload: marker2 }]);
      expect(await gotMarker2).toEqual(marker2);
      expect(seenBySub).toEqual([marker2]);
    });
  });

  describe('revocation disconnects live sockets', () => {
    it("signing out disconnects that session's sockets, and only those", async () => {
      const s = await signIn(app, 'forwarder1@demo.test');
      const mine = client({ cookie: s.cookie });
      const other = client({ cookie: f1.cookie });
      await Promise.all([connected(mine), connected(other)]);
      const gone = waitFor<string>(mine, 'disconnect');
      const out = await as(app, s)({ method: 'DELETE', url: '/api/session' });
      expect(out.statusCode).toBe(204);
      expect(await gone).toBe('io server disconnect');
      expect(mine.connected).toBe(false);
      // the other session's socket is unaffected and still answers
      expect(await other.timeout(WAIT_MS).emitWithAck('subscribe', { corridorId: corridorA })).toEqual({ ok: true });
      expect(other.connected).toBe(true);
    });

    it("a refused sign-out (no CSRF token) leaves the session's sockets connected", async () => {
      const s = await signIn(app, 'forwarder1@demo.test');
      const sock = client({ cookie: s.cookie });
      await connected(sock);
      const res = await app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie: s.cookie } });
      expect(res.statusCode).toBe(403);
      expect(await sock.timeout(WAIT_MS).emitWithAck('subscribe', { corridorId: corridorA })).toEqual({ ok: true });
      expect(sock.connected).toBe(true);
    });

    it("revoking an API key disconnects its sockets, and only those", async () => {
      const a = await newKey(f1, 'revoked while connected');
      const b = await newKey(f1, 'stays');
      const sa = client({ token: a.key });
      const sb = client({ token: b.key });
      await Promise.all([connected(sa), connected(sb)]);
      const gone = waitFor<string>(sa, 'disconnect');
      expect((await as(app, f1)({ method: 'DELETE', url: `/api/api-keys/${a.id}` })).statusCode).toBe(204);
      expect(await gone).toBe('io server disconnect');
      expect(await sb.timeout(WAIT_MS).emitWithAck('subscribe', { corridorId: corridorA })).toEqual({ ok: true });
      expect(sb.connected).toBe(true);
    });
  });
});
