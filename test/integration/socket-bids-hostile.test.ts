import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Socket } from 'socket.io-client';
import { connectLive } from '../helpers/live.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../server/config.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createAscendingAuction } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';
import { waitUntil } from '../helpers/procs.ts';

/**
 * An intruder's review of order entry on the live connection (issue 16, part 4: `bid:place` / `noop` over the
 * authenticated Socket.IO connection, server/http/socket-commands.ts and the `commands` of
 * server/adapters/realtime/socket-server.ts). Each test states the correct behaviour; against the real Postgres
 * and Redis. Companion of test/integration/socket-bids.test.ts and test/integration/hostile-socket.test.ts.
 */

const WAIT_MS = 5000;
type Answer = { status: number; body: Record<string, unknown> & { id?: string; error?: { code: string; message: string } } };

describe('order entry on the live connection, attacked', () => {
  let env: TestEnv;
  const apps: FastifyInstance[] = [];
  const sockets: Socket[] = [];
  let main: { app: FastifyInstance; url: string };
  let f1: Session;
  let f2: Session;

  async function listen(overrides: Partial<Config> = {}) {
    const built = await buildApp({ ...env.cfg, apiPerMinute: 100_000, ...overrides });
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    apps.push(built.app);
    return { app: built.app, url: `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}` };
  }
  async function open(url: string, s: Session): Promise<Socket> {
    const { socket } = await connectLive(url, { cookie: s.cookie });
    sockets.push(socket);
    return socket;
  }
  const send = (socket: Socket, event: string, ...args: unknown[]) => socket.timeout(WAIT_MS).emitWithAck(event, ...args) as Promise<Answer>;
  /** Sends a raw Socket.IO EVENT packet with acknowledgement id `id` (`2<id><json array>`) and waits for its ACK. */
  function rawCommand(socket: Socket, id: number, jsonArray: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => (socket.io.off('packet', onPacket), reject(new Error(`no ack for raw packet ${jsonArray.slice(0, 80)}`))), WAIT_MS);
      const onPacket = (p: { type: number; id?: number; data?: unknown[] }) => {
        if (p.type !== 3 || p.id !== id) return;
        clearTimeout(t);
        socket.io.off('packet', onPacket);
        resolve(p.data?.[0] as Answer);
      };
      socket.io.on('packet', onPacket);
      (socket.io.engine as unknown as { write(m: string): void }).write(`2${id}${jsonArray}`);
    });
  }
  const bidCount = async (listingId: string) => (await env.db.selectFrom('bids').select('id').where('listing_id', '=', listingId).execute()).length;
  const restBid = (app: FastifyInstance, s: Session, listingId: string, payload: unknown, key?: string) =>
    as(app, s)({ method: 'POST', url: `/api/listings/${listingId}/bids`, payload: payload as Record<string, unknown>, headers: key ? { 'idempotency-key': key } : {} });

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000 } });
    main = await listen();
    [f1, f2] = (await Promise.all(['forwarder1', 'forwarder2'].map((u) => signIn(main.app, `${u}@demo.test`)))) as [Session, Session];
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    for (const a of apps) await a.close();
    await env?.db.updateTable('users').set({ disabled_at: null }).where('email', '=', 'forwarder4@demo.test').execute();
    await env?.cleanup();
  });

  it('a command sent without a payload, or with one argument too many, is still answered (the ack is never left hanging)', async () => {
    const s = await open(main.url, f1);
    // emitWithAck('noop') puts the ack where the handler expects the payload: today the handler returns silently
    const hung = (e: Error) => ({ status: -1, body: { hang: e.message } });
    const a = await createAscendingAuction(env.db, { teu: 10 });
    const [noop, extra, bare] = await Promise.all([
      send(s, 'noop').catch(hung),
      send(s, 'bid:place', { listingId: a.listingId, teu: 1, unitPriceCents: 20_000 }, 'extra').catch(hung),
      send(s, 'bid:place').catch(hung),
    ]);
    // -1: no acknowledgement came (the client's emitWithAck timed out)
    expect({ noop: noop.status, extraArgument: extra.status === 201 || extra.status === 400 ? 'answered' : extra.status, bare: bare.status }).toEqual({
      noop: 200, extraArgument: 'answered', bare: 400,
    });
  });

  it('commands sent without an acknowledgement are counted by the flood guard (they are limited by nothing else)', async () => {
    const s = await open(main.url, f1);
    const flooded = new Promise<boolean>((resolve) => {
      s.once('error:flood', () => resolve(true));
      s.once('disconnect', () => resolve(true));
    });
    // 2.5× the flood limit (200 events / 10 s), each a bid the server ignores without counting or rate-limiting it
    for (let i = 0; i < 500; i++) s.emit('bid:place', { listingId: '00000000-0000-4000-8000-000000000000', teu: 1, unitPriceCents: 1, pad: 'x'.repeat(8000) });
    const verdict = await Promise.race([flooded, new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
    expect(verdict, 'a socket sending 500 ack-less commands was neither cut nor counted').toBe(true);
  });

  it('a user disabled in the database is refused on the socket as soon as REST refuses them (no bids until the next re-check)', async () => {
    // REST re-reads the principal every request here (no principal cache); sockets are re-checked every 10 minutes
    const srv = await listen({ principalCacheMs: 0, socketRecheckMs: 600_000 });
    const f4 = await signIn(srv.app, 'forwarder4@demo.test');
    const s4 = await open(srv.url, f4);
    const a = await createAscendingAuction(env.db, { teu: 10 });
    expect((await send(s4, 'noop', {})).status).toBe(200);

    await env.db.updateTable('users').set({ disabled_at: new Date() }).where('email', '=', 'forwarder4@demo.test').execute();
    const rest = await restBid(srv.app, f4, a.listingId, { teu: 1, unitPriceCents: 20_000 });
    expect(rest.statusCode).toBe(401);
    const viaSocket = await send(s4, 'bid:place', { listingId: a.listingId, teu: 1, unitPriceCents: 20_000 }).catch(() => ({ status: 0, body: {} }) as Answer);
    expect(viaSocket.status, `a disabled user's bid over the socket: ${JSON.stringify(viaSocket)}`).not.toBe(201);
    expect(await bidCount(a.listingId)).toBe(0);
    await env.db.updateTable('users').set({ disabled_at: null }).where('email', '=', 'forwarder4@demo.test').execute();
  });

  it("a hostile idempotency key (a NUL byte, which no HTTP header can carry) never fails other forwarders' bids of the same batch", async () => {
    const a = await createAscendingAuction(env.db, { teu: 100 });
    const s1 = await open(main.url, f1);
    const s2 = await open(main.url, f2);
    // the key alone is refused as REST refuses malformed input (no 5xx)
    const alone = await send(s1, 'bid:place', { listingId: a.listingId, teu: 1, unitPriceCents: 20_000, idempotencyKey: 'k\u0000' });
    expect(alone.status).toBe(400);

    // group commit: hold the listing so the next bids queue into one batch behind a first one
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = env.db.transaction().execute(async (tx) => {
      await sql`select id from listings where id = ${a.listingId} for update`.execute(tx);
      locked();
      await released;
    });
    await isLocked;
    try {
      const first = send(s2, 'bid:place', { listingId: a.listingId, teu: 1, unitPriceCents: 20_000 });
      await waitUntil(
        async () => (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(env.db)).rows[0]!.n > 0,
        'the first batch waiting on the listing lock',
        100,
        50,
      );
      const innocent = send(s2, 'bid:place', { listingId: a.listingId, teu: 2, unitPriceCents: 20_000, idempotencyKey: 'innocent-1' });
      const hostile = send(s1, 'bid:place', { listingId: a.listingId, teu: 3, unitPriceCents: 20_000, idempotencyKey: 'x\u0000' });
      // both are queued behind the first batch once their sockets answered a later command
      await Promise.all([send(s1, 'noop', {}), send(s2, 'noop', {})]);
      await new Promise((r) => setTimeout(r, 300));
      release();
      await holder;
      expect((await first).status).toBe(201);
      expect((await hostile).status).toBe(400);
      const ok = await innocent;
      expect(ok.status, `forwarder2's bid batched with forwarder1's hostile key: ${JSON.stringify(ok)}`).toBe(201);
    } finally {
      release();
      await holder.catch(() => {});
    }
  });

  it('a listing id in upper case is the same listing: the same answer as in lower case, never a 5xx', async () => {
    const a = await createAscendingAuction(env.db, { teu: 10 });
    const s1 = await open(main.url, f1);
    const upper = a.listingId.toUpperCase();
    const viaSocket = await send(s1, 'bid:place', { listingId: upper, teu: 1, unitPriceCents: 20_000 });
    const rest = await restBid(main.app, f2, upper, { teu: 1, unitPriceCents: 21_000 });
    expect({ socket: viaSocket.status, rest: rest.statusCode }, `${JSON.stringify(viaSocket)} / ${rest.body}`).toEqual({ socket: 201, rest: 201 });
  });

  it('two different idempotency keys never collide (lone UTF-16 surrogates): the second order is placed, not replayed', async () => {
    const a = await createAscendingAuction(env.db, { teu: 10 });
    const s1 = await open(main.url, f1);
    const msg = { listingId: a.listingId, teu: 1, unitPriceCents: 20_000 };
    const x = await send(s1, 'bid:place', { ...msg, idempotencyKey: 'order-\ud800' });
    const y = await send(s1, 'bid:place', { ...msg, idempotencyKey: 'order-\udfff' });
    if (x.status === 201 || y.status === 201) {
      // accepted keys: two orders, two bids
      expect(y.status).toBe(201);
      expect(y.body.id, 'the second order was answered with the first one (its key was stored as the same text)').not.toBe(x.body.id);
      expect(await bidCount(a.listingId)).toBe(2);
    } else {
      // or refused as malformed keys
      expect([x.status, y.status]).toEqual([400, 400]);
    }
  });

  it('the socket answers what REST answers for the same type-confused body (status and error code)', async () => {
    const s1 = await open(main.url, f1);
    const bodies: Record<string, unknown>[] = [
      { teu: '2', unitPriceCents: 20_000 },
      { teu: 2, unitPriceCents: 20_000, allOrNothing: 'true' },
      { teu: 2, unitPriceCents: 20_000, allOrNothing: null },
      { teu: [2], unitPriceCents: 20_000 },
      { teu: 2, unitPriceCents: 20_000, maxUnitPriceCents: 10_000 },
      { teu: 2, unitPriceCents: 0.5e1 * 4000 },
    ];
    const differ: string[] = [];
    for (const b of bodies) {
      const [l1, l2] = await Promise.all([createAscendingAuction(env.db, { teu: 10 }), createAscendingAuction(env.db, { teu: 10 })]);
      const viaSocket = await send(s1, 'bid:place', { listingId: l1.listingId, ...b });
      const rest = await restBid(main.app, f1, l2.listingId, b);
      const restCode = rest.statusCode >= 400 ? (rest.json() as { error: { code: string } }).error.code : undefined;
      expect(viaSocket.status).toBeLessThan(500);
      if (viaSocket.status !== rest.statusCode || viaSocket.body.error?.code !== restCode) {
        differ.push(`${JSON.stringify(b)}: socket ${viaSocket.status} ${viaSocket.body.error?.code ?? ''} / REST ${rest.statusCode} ${restCode ?? ''}`);
      }
    }
    expect(differ).toEqual([]);
  });

  it('an accepted bid over the socket has exactly the fields of the REST answer (nothing the response schema would strip)', async () => {
    const s1 = await open(main.url, f1);
    const [l1, l2] = await Promise.all([createAscendingAuction(env.db, { teu: 10 }), createAscendingAuction(env.db, { teu: 10 })]);
    const body = { teu: 4, unitPriceCents: 20_000, allOrNothing: true, maxUnitPriceCents: 30_000 };
    const viaSocket = await send(s1, 'bid:place', { listingId: l1.listingId, ...body });
    const rest = await restBid(main.app, f1, l2.listingId, body);
    expect(viaSocket.status).toBe(201);
    expect(rest.statusCode).toBe(201);
    expect(Object.keys(viaSocket.body).sort()).toEqual(Object.keys(rest.json() as object).sort());
    const { id: _a, closesAt: _b, ...restOfSocket } = viaSocket.body;
    const { id: _c, closesAt: _d, ...restOfRest } = rest.json() as Record<string, unknown>;
    expect(restOfSocket).toEqual(restOfRest);
  });

  it('hostile payloads are refused with 400 (never a 5xx, never a crash): raw numbers, prototype keys, nesting, binary, huge strings', async () => {
    const a = await createAscendingAuction(env.db, { teu: 10 });
    const s1 = await open(main.url, f1);
    const L = JSON.stringify(a.listingId);
    const raw = [
      `["bid:place",{"listingId":${L},"teu":1e309,"unitPriceCents":20000}]`,
      `["bid:place",{"listingId":${L},"teu":1,"unitPriceCents":-1e309}]`,
      `["bid:place",{"listingId":${L},"teu":-0,"unitPriceCents":20000}]`,
      `["bid:place",{"listingId":${L},"teu":1,"unitPriceCents":20000,"maxUnitPriceCents":-0}]`,
      `["bid:place",{"listingId":${L},"teu":1,"unitPriceCents":20000.5}]`,
      `["bid:place",{"listingId":${L},"teu":1,"unitPriceCents":1e-400}]`,
      `["bid:place",{"listingId":${L},"teu":1,"unitPriceCents":10000000001}]`,
      `["bid:place",{"__proto__":{"teu":1},"listingId":${L},"unitPriceCents":20000}]`,
      `["bid:place",{"listingId":${L},"teu":1,"unitPriceCents":20000,"constructor":{"prototype":{"x":1}}}]`,
      `["bid:place",{"listingId":${L},"teu":1,"unitPriceCents":20000,"idempotencyKey":${JSON.stringify('😀'.repeat(256))}}]`,
      `["bid:place",{"listingId":${JSON.stringify('a'.repeat(14_000))},"teu":1,"unitPriceCents":20000}]`,
      `["bid:place",{"listingId":"${a.listingId}\\u0000","teu":1,"unitPriceCents":20000}]`,
      `["bid:place",${'['.repeat(3000)}${']'.repeat(3000)}]`,
      `["bid:place",{"listingId":${L},"teu":1,"unitPriceCents":20000,"x":${'{"a":'.repeat(1500)}1${'}'.repeat(1500)}}]`,
      `["bid:place",1]`, `["bid:place",true]`, `["bid:place","${a.listingId}"]`, `["bid:place",null]`,
      `["noop",{"__proto__":{"status":500}}]`,
    ];
    let id = 900_000;
    // a duplicate key is not an attack: the last one wins, and its type is taken as it is — as REST takes a JSON body,
    // nothing converted ("1" is not a number of TEU: 400)
    const dup = await rawCommand(s1, id++, `["bid:place",{"listingId":${L},"teu":"1","teu":1,"unitPriceCents":20000}]`);
    expect(dup.status).toBe(201);
    const dupText = await rawCommand(s1, id++, `["bid:place",{"listingId":${L},"teu":1,"teu":"1","unitPriceCents":20500}]`);
    expect(dupText.status).toBe(400);
    for (const r of raw) {
      const ans = await rawCommand(s1, id++, r);
      expect(ans.status, r.slice(0, 120)).toBeLessThan(500);
      if (!r.startsWith('["noop"')) expect(ans.status, r.slice(0, 120)).toBe(400);
    }
    // binary attachments where JSON is expected
    for (const p of [Buffer.from('{"teu":1}'), { listingId: a.listingId, teu: Buffer.from([1]), unitPriceCents: 20_000 }, [Buffer.alloc(10)]]) {
      const ans = await send(s1, 'bid:place', p);
      expect(ans.status).toBe(400);
    }
    expect(s1.connected).toBe(true);
    expect(await bidCount(a.listingId)).toBe(1); // the duplicate-key bid only
    expect((await fetch(`${main.url}/health`)).status).toBe(200);
  });

  it("idempotency keys are per organisation: another organisation's same key and body never replays its answer", async () => {
    const a = await createAscendingAuction(env.db, { teu: 10 });
    const s1 = await open(main.url, f1);
    const s2 = await open(main.url, f2);
    const msg = { listingId: a.listingId, teu: 1, unitPriceCents: 20_000, idempotencyKey: 'shared-order-1' };
    const x = await send(s1, 'bid:place', msg);
    const y = await send(s2, 'bid:place', msg);
    expect(x.status).toBe(201);
    expect(y.status).toBe(201);
    expect(y.body.id).not.toBe(x.body.id);
    // nor does REST with that key for a third organisation
    const f3 = await signIn(main.app, 'forwarder3@demo.test');
    const z = await restBid(main.app, f3, a.listingId, { teu: 1, unitPriceCents: 20_000 }, 'shared-order-1');
    expect(z.statusCode).toBe(201);
    expect(z.json().id).not.toBe(x.body.id);
    expect(await bidCount(a.listingId)).toBe(3);
  });

  it('after signing out, no bid goes through the signed-out session socket', async () => {
    const a = await createAscendingAuction(env.db, { teu: 10 });
    const s3 = await signIn(main.app, 'forwarder3@demo.test');
    const sock = await open(main.url, s3);
    const out = await as(main.app, s3)({ method: 'DELETE', url: '/api/session' });
    expect(out.statusCode).toBeLessThan(300);
    const r = await send(sock, 'bid:place', { listingId: a.listingId, teu: 1, unitPriceCents: 20_000 }).catch(() => null);
    expect(r?.status ?? 0).not.toBe(201);
    expect(await bidCount(a.listingId)).toBe(0);
  });
});
