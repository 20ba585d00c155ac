import type { AddressInfo } from 'node:net';
import type { Socket } from 'socket.io-client';
import { openSocket } from '../helpers/live.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';
import { waitUntil } from '../helpers/procs.ts';

/**
 * Issue 5 item 3, "Hostile input" over Socket.IO: malformed subscribe/unsubscribe payloads, unknown events,
 * raw malformed packets, rooms of other organisations, floods and oversized packets. The server refuses
 * (`{ ok: false }`) or disconnects the offender, never crashes, never leaks another organisation's events, and
 * forgets every socket and room once the clients are gone.
 */

const UUID_MISSING = '00000000-0000-4000-8000-000000000000';

interface Client {
  socket: Socket;
  events: { event: string; payload: unknown }[];
  disconnected: Promise<string>;
}

describe('hostile Socket.IO input', () => {
  let env: TestEnv;
  let built: App;
  let url: string;
  let f1: Session;
  let f2: Session;
  let roomsBaseline = 0;
  const clients: Client[] = [];

  async function client(auth: { cookie?: string; token?: string }): Promise<Client> {
    const socket = openSocket(url, auth);
    const events: Client['events'] = [];
    socket.onAny((event, payload) => events.push({ event, payload }));
    const disconnected = new Promise<string>((r) => socket.once('disconnect', (reason) => r(String(reason))));
    const c = { socket, events, disconnected };
    clients.push(c); // every client is closed in the end, refused ones too (their engine connection stays open otherwise)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => {
        socket.disconnect();
        reject(err);
      });
    });
    return c;
  }

  const ack = (s: Socket, event: string, ...args: unknown[]) => s.timeout(3000).emitWithAck(event, ...args) as Promise<{ ok: boolean; error?: string }>;
  const serverSocket = (s: Socket) => built.io.of('/').sockets.get(s.id!);

  /** The server answers and a fresh, well-behaved client can still subscribe. */
  async function serverIsFine(subscribeTo: Record<string, string>) {
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const probe = await client({ cookie: f1.cookie });
    expect(await ack(probe.socket, 'subscribe', subscribeTo)).toEqual({ ok: true });
    probe.socket.disconnect();
  }

  let fixture: Awaited<ReturnType<typeof createDepartureWithListing>>;

  beforeAll(async () => {
    // the handshake limit per address is exercised by its own app below; these tests open many sockets
    env = await createTestEnv({ cfg: { apiPerMinute: 1_000_000, socketHandshakesPerMinute: 100_000 } });
    built = await buildApp(env.cfg);
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
    roomsBaseline = built.io.of('/').adapter.rooms.size;
    [f1, f2] = await Promise.all([signIn(built.app, 'forwarder1@demo.test'), signIn(built.app, 'forwarder2@demo.test')]);
    fixture = await createDepartureWithListing(env.db, { capacityTeu: 40, capacityTonnes: 800, listedTeu: 20 });
  });
  afterAll(async () => {
    for (const c of clients) c.socket.disconnect();
    await built?.app.close();
    await env?.cleanup();
  });

  it('refuses malformed subscribe/unsubscribe payloads with { ok: false } and joins no room', async () => {
    const { socket } = await client({ cookie: f1.cookie });
    const own = new Set(serverSocket(socket)!.rooms);
    const huge = 'x'.repeat(12_000);
    const nested: Record<string, unknown> = {};
    let cur = nested;
    for (let i = 0; i < 200; i++) cur = (cur.corridorId = {});
    const payloads: unknown[] = [
      undefined, null, 0, 1, -1, 1.5, true, false, '', 'corridor', fixture.corridorId, `corridor:${fixture.corridorId}`, huge,
      [], [fixture.corridorId], [{ corridorId: fixture.corridorId }], {}, { corridorId: null }, { corridorId: 1 }, { corridorId: true },
      { corridorId: [fixture.corridorId] }, { corridorId: { $ne: null } }, { corridorId: huge }, { corridorId: `${fixture.corridorId} ` },
      { corridorId: fixture.corridorId.toUpperCase() + 'x' }, { corridorId: "' or 1=1 --" }, { corridorId: '\u0000' }, { corridorId: '\ud800' },
      { corridorId: fixture.corridorId, departureId: fixture.departureId }, { corridorId: fixture.corridorId, extra: 1 }, nested,
      { departureId: { departureId: fixture.departureId } }, { listingId: Buffer.from(fixture.listingId) }, Buffer.from('{"corridorId":"x"}'), new Uint8Array(64),
      { __proto__: { corridorId: fixture.corridorId } }, JSON.parse(`{"__proto__":{"corridorId":"${fixture.corridorId}"}}`),
      JSON.parse(`{"constructor":{"prototype":{"corridorId":"${fixture.corridorId}"}}}`), { constructor: fixture.corridorId }, { toString: fixture.corridorId },
      { hasOwnProperty: fixture.corridorId }, { orgId: f2.me.org.id }, { room: `org:${f2.me.org.id}` }, { room: fixture.corridorId }, { rooms: [`org:${f2.me.org.id}`] },
      { sessionId: UUID_MISSING }, { apiKeyId: UUID_MISSING }, { org: f2.me.org.id }, { corridorId: UUID_MISSING }, { departureId: UUID_MISSING }, { listingId: UUID_MISSING },
      // a real id of the wrong kind
      { corridorId: fixture.departureId }, { departureId: fixture.listingId }, { listingId: fixture.corridorId }, { corridorId: f2.me.org.id },
    ];
    for (const event of ['subscribe', 'unsubscribe']) {
      for (const p of payloads) {
        const r = await ack(socket, event, p).catch((err) => {
          throw new Error(`${event} ${JSON.stringify(p)?.slice(0, 80)}: ${(err as Error).message}`);
        });
        expect(r.ok, `${event} ${JSON.stringify(p)?.slice(0, 80)}`).toBe(false);
        expect(typeof r.error).toBe('string');
      }
      // extra arguments, the ack not last, no ack at all
      // (the ack is not the second argument: the server has nothing to answer to, and must just not crash)
      await expect(socket.timeout(300).emitWithAck(event, { corridorId: UUID_MISSING }, 'extra')).rejects.toThrow();
      socket.emit(event, { corridorId: fixture.corridorId }, 'not-an-ack');
      socket.emit(event, { corridorId: fixture.corridorId });
      socket.emit(event);
    }
    // the socket is still connected, in no room beyond its own (org, session, its id) — the ack-less valid
    // subscribe above may have joined the corridor, which is its own business; nothing else was joined
    expect(socket.connected).toBe(true);
    const rooms = [...serverSocket(socket)!.rooms].filter((r) => !own.has(r));
    expect(rooms.filter((r) => r !== `corridor:${fixture.corridorId}`)).toEqual([]);
    expect([...serverSocket(socket)!.rooms].some((r) => r === `org:${f2.me.org.id}`)).toBe(false);
    // and a proper subscription still works
    expect(await ack(socket, 'subscribe', { departureId: fixture.departureId })).toEqual({ ok: true });
    expect(await ack(socket, 'unsubscribe', { departureId: fixture.departureId })).toEqual({ ok: true });
    socket.disconnect();
  });

  it('ignores unknown event names and survives malformed raw packets (disconnecting the sender at most)', async () => {
    const a = await client({ cookie: f1.cookie });
    for (const name of ['join', 'leave', 'org:join', `org:${f2.me.org.id}`, '__proto__', 'constructor', 'hasOwnProperty', 'toString', 'subscribe ', 'SUBSCRIBE', 'x'.repeat(5_000), '😀', '\u0000']) {
      a.socket.emit(name, { room: `org:${f2.me.org.id}`, orgId: f2.me.org.id });
      a.socket.emit(name);
    }
    // an unknown event with an ack: no answer, no crash
    await expect(a.socket.timeout(300).emitWithAck('join', { room: `org:${f2.me.org.id}` })).rejects.toThrow();
    expect(a.socket.connected).toBe(true);
    expect([...serverSocket(a.socket)!.rooms].some((r) => r.includes(f2.me.org.id))).toBe(false);
    expect(await ack(a.socket, 'subscribe', { corridorId: fixture.corridorId })).toEqual({ ok: true });

    // raw Socket.IO packets that are not valid (each on its own connection: the parser may close it)
    // (engine.write adds the Engine.IO "message" prefix; these are Socket.IO packets: 0 connect, 1 disconnect,
    // 2 event, 3 ack, 4 connect_error, 5 binary event, 6 binary ack)
    const raw = [
      '2', '2[', '2{"a":1}', '2[]', '2[1]', '2[null]', '2["disconnect"]', '2["connect"]', '2["connect_error"]', '2["newListener"]', '2["removeListener"]',
      '2["__proto__",{"x":1}]', '2["constructor"]', '21["subscribe",{"corridorId":"x"}]', '299999999999999999999["subscribe",{}]', '25-["subscribe",{"_placeholder":true,"num":0}]',
      '51-["subscribe",{"_placeholder":true,"num":99}]', '5999-["x"]', '5-1["x"]', '3["x"]', '31[]', '0', '1', '4{"message":"x"}', '6', '7', '9', '', 'x'.repeat(1000),
      '2["subscribe"' + ',{"a":'.repeat(2000), '2/admin,["subscribe",{}]', '0/admin,', '2["subscribe",{"corridorId":"' + fixture.corridorId + '"}]extra',
    ];
    let closed = 0;
    // control: a well-formed raw event packet keeps the connection (so "closed" below is the server's doing)
    {
      const c = await client({ cookie: f1.cookie });
      (c.socket.io.engine as unknown as { write(m: string): void }).write('2["noise",{"a":1}]');
      expect(await ack(c.socket, 'subscribe', { corridorId: fixture.corridorId })).toEqual({ ok: true });
      c.socket.disconnect();
    }
    for (const r of raw) {
      const c = await client({ cookie: f1.cookie });
      (c.socket.io.engine as unknown as { write(m: string): void }).write(r);
      // a well-formed ack afterwards tells whether the connection survived
      const alive = await ack(c.socket, 'subscribe', { corridorId: fixture.corridorId }).then((x) => x.ok, () => false);
      if (!alive) closed++;
      c.socket.disconnect();
    }
    console.log(`hostile-socket: ${raw.length} malformed raw packets, ${closed} connections closed by the server, none crashed it`);
    expect(a.socket.connected).toBe(true);
    await serverIsFine({ listingId: fixture.listingId });
    a.socket.disconnect();
  });

  it("never delivers another organisation's events: refused org rooms, nothing of forwarder2's booking reaches forwarder1", async () => {
    const one = await client({ cookie: f1.cookie });
    const two = await client({ cookie: f2.cookie });
    // forwarder1 tries every way into forwarder2's organisation room
    for (const p of [{ orgId: f2.me.org.id }, { room: `org:${f2.me.org.id}` }, { corridorId: `org:${f2.me.org.id}` }, { departureId: f2.me.org.id }, { listingId: f2.me.org.id }, { corridorId: f2.me.org.id }]) {
      expect((await ack(one.socket, 'subscribe', p)).ok, JSON.stringify(p)).toBe(false);
    }
    expect(serverSocket(one.socket)!.rooms.has(`org:${f2.me.org.id}`)).toBe(false);
    // both watch the same public departure, listing and corridor
    for (const c of [one, two]) {
      for (const t of [{ departureId: fixture.departureId }, { listingId: fixture.listingId }, { corridorId: fixture.corridorId }]) expect(await ack(c.socket, 'subscribe', t)).toEqual({ ok: true });
    }
    const hold = await as(built.app, f2)({ method: 'POST', url: '/api/holds', payload: { listingId: fixture.listingId, teu: 2, tonnes: 20 } });
    expect(hold.statusCode).toBe(201);
    const booking = await as(built.app, f2)({ method: 'POST', url: `/api/holds/${hold.json().id}/confirm`, payload: { reference: 'SECRET-F2-REF' } });
    expect(booking.statusCode).toBe(201);
    const bookingId = booking.json().id as string;
    await waitUntil(async () => two.events.some((e) => e.event === 'booking:confirmed' && (e.payload as { id?: string }).id === bookingId), "forwarder2's booking:confirmed");
    // forwarder1 sees the public availability change of the departure…
    await waitUntil(async () => one.events.some((e) => e.event === 'departure:availability'), "forwarder1's departure:availability");
    // …and a little later still nothing private of forwarder2
    await new Promise((r) => setTimeout(r, 500));
    const leaked = one.events.filter((e) => {
      const s = JSON.stringify(e.payload ?? null);
      return e.event.startsWith('booking:') || e.event.startsWith('hold:') || s.includes(bookingId) || s.includes(hold.json().id) || s.includes('SECRET-F2-REF') || s.includes(f2.me.org.id);
    });
    expect(leaked).toEqual([]);
    one.socket.disconnect();
    two.socket.disconnect();
  });

  it('disconnects a socket that floods events beyond the limit; others keep working', async () => {
    const bystander = await client({ cookie: f1.cookie });
    const flooder = await client({ cookie: f1.cookie });
    for (let i = 0; i < 260; i++) flooder.socket.emit(i % 2 ? 'subscribe' : 'noise', { corridorId: UUID_MISSING });
    const reason = await Promise.race([flooder.disconnected, new Promise<string>((r) => setTimeout(() => r('still connected'), 5000))]);
    expect(reason).toBe('io server disconnect');
    expect(flooder.events.some((e) => e.event === 'error:flood')).toBe(true);
    expect(bystander.socket.connected).toBe(true);
    expect(await ack(bystander.socket, 'subscribe', { departureId: fixture.departureId })).toEqual({ ok: true });
    // a flood of acks (subscribe calls that each need a database read) is cut off the same way
    const acker = await client({ cookie: f1.cookie });
    const answers = await Promise.allSettled(Array.from({ length: 250 }, () => acker.socket.timeout(4000).emitWithAck('subscribe', { corridorId: fixture.corridorId })));
    expect(answers.filter((a) => a.status === 'rejected').length).toBeGreaterThan(0);
    expect(await Promise.race([acker.disconnected, new Promise<string>((r) => setTimeout(() => r('still connected'), 5000))])).toBe('io server disconnect');
    await serverIsFine({ corridorId: fixture.corridorId });
    bystander.socket.disconnect();
  });

  it('closes the connection of an oversized packet (> maxHttpBufferSize), and nothing else', async () => {
    const bystander = await client({ cookie: f1.cookie });
    for (const size of [17 * 1024, 64 * 1024, 1024 * 1024]) {
      const big = await client({ cookie: f1.cookie });
      big.socket.emit('subscribe', { corridorId: 'x'.repeat(size) });
      const reason = await Promise.race([big.disconnected, new Promise<string>((r) => setTimeout(() => r('still connected'), 5000))]);
      expect(reason, `${size} bytes`).toMatch(/transport (close|error)/);
    }
    // binary oversize too
    const bin = await client({ cookie: f1.cookie });
    bin.socket.emit('subscribe', Buffer.alloc(32 * 1024, 1));
    expect(await Promise.race([bin.disconnected, new Promise<string>((r) => setTimeout(() => r('still connected'), 5000))])).toMatch(/transport (close|error)/);
    expect(bystander.socket.connected).toBe(true);
    expect(await ack(bystander.socket, 'subscribe', { listingId: fixture.listingId })).toEqual({ ok: true });
    await serverIsFine({ departureId: fixture.departureId });
    bystander.socket.disconnect();
  });

  it('refuses unauthenticated and garbage-authenticated connections', async () => {
    for (const auth of [{}, { cookie: 'cx_session=garbage' }, { token: "' or 1=1 --" }, { token: 'x'.repeat(5000) }, { cookie: `cx_session=${'%'.repeat(100)}` }]) {
      await expect(client(auth), JSON.stringify(auth).slice(0, 60)).rejects.toThrow(/unauthorized/);
    }
    await serverIsFine({ corridorId: fixture.corridorId });
  });

  /** Another app on the same database, with its own limits (and its own Redis key space under this file's prefix). */
  async function limitedApp(name: string, cfg: Partial<TestEnv['cfg']>) {
    const other = await buildApp({ ...env.cfg, redisPrefix: `${env.cfg.redisPrefix}${name}:`, ...cfg });
    await other.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(other.app.server.address() as AddressInfo).port}`;
    const mine: Socket[] = [];
    /** Resolves with the socket, or rejects with the connect_error (its `data` carries { code, message }). */
    const open = (auth: { cookie?: string; token?: string }) =>
      new Promise<Socket>((resolve, reject) => {
        const socket = openSocket(base, auth);
        mine.push(socket);
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', (err) => {
          socket.disconnect();
          reject(err);
        });
      });
    const close = async () => {
      for (const s of mine) s.disconnect(); // (an app does not close while its sockets are open)
      await other.app.close();
    };
    return { ...other, base, open, close };
  }
  const refusedWith = async (p: Promise<unknown>, code: string) => {
    const err = (await p.then(() => new Error('connected'), (e: unknown) => e)) as Error & { data?: { code?: string; message?: string } };
    expect(err.message).toBe(code);
    expect(err.data?.code).toBe(code);
    expect(typeof err.data?.message).toBe('string');
  };

  it('caps live connections per session or API key, with a clear connect_error; other principals are unaffected', async () => {
    const capped = await limitedApp('cap', { socketsPerPrincipal: 3 });
    try {
      const mine = [await capped.open({ cookie: f1.cookie }), await capped.open({ cookie: f1.cookie }), await capped.open({ cookie: f1.cookie })];
      await refusedWith(capped.open({ cookie: f1.cookie }), 'too_many_connections');
      // another principal connects; the refused handshake changed nothing for the three
      await capped.open({ cookie: f2.cookie });
      expect(mine.every((s) => s.connected)).toBe(true);
      // closing one frees a place
      mine[0]!.disconnect();
      await waitUntil(async () => capped.io.of('/').sockets.size === 3, 'the server to forget the closed socket', 100, 50);
      await capped.open({ cookie: f1.cookie });
      // API keys are capped the same way (per key)
      const created = await as(built.app, f1)({ method: 'POST', url: '/api/api-keys', payload: { name: 'capped' } });
      expect(created.statusCode).toBe(201);
      const key = created.json().key as string;
      for (let i = 0; i < 3; i++) await capped.open({ token: key });
      await refusedWith(capped.open({ token: key }), 'too_many_connections');
    } finally {
      await capped.close();
    }
  });

  it('caps subscriptions per connection: ack { ok: false, error: "too_many_subscriptions" }, no room joined, still connected', async () => {
    const capped = await limitedApp('subs', { socketSubscriptionsMax: 3 });
    try {
      const s = await capped.open({ cookie: f1.cookie });
      const rooms = () => [...capped.io.of('/').sockets.get(s.id!)!.rooms];
      for (const t of [{ corridorId: fixture.corridorId }, { departureId: fixture.departureId }, { listingId: fixture.listingId }]) {
        expect(await ack(s, 'subscribe', t)).toEqual({ ok: true });
      }
      const other = await env.db.selectFrom('corridors').select('id').where('id', '!=', fixture.corridorId).executeTakeFirstOrThrow();
      const before = rooms();
      const refused = await ack(s, 'subscribe', { corridorId: other.id });
      expect(refused).toMatchObject({ ok: false, error: 'too_many_subscriptions' });
      expect(rooms()).toEqual(before);
      // concurrent subscribes cannot slip past the cap together
      const more = await env.db.selectFrom('departures').select('id').where('id', '!=', fixture.departureId).limit(20).execute();
      const answers = await Promise.all(more.map((d) => ack(s, 'subscribe', { departureId: d.id })));
      expect(answers.every((a) => a.ok === false && a.error === 'too_many_subscriptions')).toBe(true);
      expect(rooms()).toEqual(before);
      // a room already joined is no new subscription; an unsubscribe frees a place
      expect(await ack(s, 'subscribe', { corridorId: fixture.corridorId })).toEqual({ ok: true });
      expect(await ack(s, 'unsubscribe', { listingId: fixture.listingId })).toEqual({ ok: true });
      expect(await ack(s, 'subscribe', { corridorId: other.id })).toEqual({ ok: true });
      expect(s.connected).toBe(true);
    } finally {
      await capped.close();
    }
  });

  it('rate-limits handshakes per address in Redis under a hashed key (no cookie, key or address in it), and in process while Redis fails', async () => {
    const limited = await limitedApp('hs', { socketHandshakesPerMinute: 5 });
    try {
      // unauthenticated attempts count too: the limit is checked before any credential look-up
      await expect(limited.open({ cookie: 'cx_session=garbage' })).rejects.toThrow(/unauthorized/);
      await expect(limited.open({})).rejects.toThrow(/unauthorized/);
      for (let i = 0; i < 3; i++) (await limited.open({ cookie: f1.cookie })).disconnect();
      await refusedWith(limited.open({ cookie: f1.cookie }), 'rate_limited');
      await refusedWith(limited.open({ cookie: f2.cookie }), 'rate_limited');
      const keys = await env.redis.keys(`${env.cfg.redisPrefix}hs:*`);
      const counters = keys.filter((k) => k.includes('handshake'));
      expect(counters.length).toBeGreaterThan(0);
      const secret = f1.cookie.slice(f1.cookie.indexOf('=') + 1);
      for (const k of keys) {
        expect(k).not.toContain(secret);
        expect(k).not.toContain(f2.cookie.slice(f2.cookie.indexOf('=') + 1));
        expect(k).not.toContain('127.0.0.1');
      }
    } finally {
      await limited.close();
    }

    // Redis away (the limiter's connection closed): the limit still holds, counted in this process
    const fallback = await limitedApp('hs2', { socketHandshakesPerMinute: 3 });
    try {
      await fallback.open({ cookie: f1.cookie }); // (the principal is cached from here on)
      fallback.ctx.redis.disconnect();
      await waitUntil(async () => fallback.ctx.redis.status === 'end', 'the Redis connection to close', 100, 20);
      for (let i = 0; i < 3; i++) (await fallback.open({ cookie: f1.cookie })).disconnect();
      await refusedWith(fallback.open({ cookie: f1.cookie }), 'rate_limited');
      // and the server still answers
      expect((await fetch(`${fallback.base}/health`)).status).toBeLessThan(600);
    } finally {
      await fallback.close().catch(() => {});
    }
  });

  it('leaks nothing: once every client is gone, no socket and no room is left', async () => {
    for (const c of clients) c.socket.disconnect();
    await waitUntil(async () => built.io.of('/').sockets.size === 0 && built.io.engine.clientsCount === 0, 'all sockets gone', 100, 50);
    await waitUntil(async () => built.io.of('/').adapter.rooms.size === roomsBaseline, `rooms back to ${roomsBaseline}`, 100, 50).catch(() => undefined);
    expect(built.io.of('/').sockets.size).toBe(0);
    expect([...built.io.of('/').adapter.rooms.keys()]).toHaveLength(roomsBaseline);
    expect(built.io.engine.clientsCount).toBe(0);
    const health = await fetch(`${url}/health`);
    expect(await health.json()).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok' });
  });
});
