import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Socket } from 'socket.io-client';
import { connectLive } from '../helpers/live.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createAscendingAuction, createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

/**
 * Issue 16, part 4 — order entry on the live connection: `bid:place` over the authenticated Socket.IO connection
 * answers exactly what `POST /api/listings/:id/bids` answers (status and body), durable before the acknowledgement,
 * with the same schema, guards, rate limit (one bucket with REST) and Idempotency-Key semantics; commands are not
 * counted by the flood guard. Against the real Postgres and Redis.
 */

const WAIT_MS = 5000;
type Answer = { status: number; body: Record<string, unknown> & { error?: { code: string; message: string; minUnitPriceCents?: number } } };

describe('bids on the live connection', () => {
  let env: TestEnv;
  const apps: FastifyInstance[] = [];
  const sockets: Socket[] = [];

  async function listen(apiPerMinute: number) {
    const built = await buildApp({ ...env.cfg, apiPerMinute });
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    apps.push(built.app);
    return { app: built.app, url: `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}` };
  }
  async function open(url: string, s: Session): Promise<Socket> {
    const { socket } = await connectLive(url, { cookie: s.cookie });
    sockets.push(socket);
    return socket;
  }
  const send = (socket: Socket, event: string, payload: unknown) => socket.timeout(WAIT_MS).emitWithAck(event, payload) as Promise<Answer>;
  const bidCount = async (listingId: string) => (await env.db.selectFrom('bids').select('id').where('listing_id', '=', listingId).execute()).length;

  let main: { app: FastifyInstance; url: string };
  let f1: Session;
  let f2: Session;
  let op: Session;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000 } });
    main = await listen(100_000);
    [f1, f2, op] = (await Promise.all(['forwarder1', 'forwarder2', 'operator1'].map((u) => signIn(main.app, `${u}@demo.test`)))) as [Session, Session, Session];
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    for (const a of apps) await a.close();
    await env?.cleanup();
  });

  it('a bid over the socket is the REST call: same answer, durable before the acknowledgement', async () => {
    const a = await createAscendingAuction(env.db, { teu: 10, reservePriceCents: 10_000, minIncrementCents: 500 });
    const s1 = await open(main.url, f1);
    const r = await send(s1, 'bid:place', { listingId: a.listingId, teu: 10, unitPriceCents: 20_000 });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ status: 'leading', unitPriceCents: 20_000, allocatedTeu: 10, minNextBidCents: 20_500 });
    // durable before the ack: the row is there the moment the answer is
    const row = await env.db.selectFrom('bids').select(['id', 'teu', 'unit_price_cents']).where('id', '=', String(r.body.id)).executeTakeFirst();
    expect(row).toEqual({ id: r.body.id, teu: 10, unit_price_cents: 20_000 });

    // a bid too low: the socket and REST give the same refusal with the same minimum
    const s2 = await open(main.url, f2);
    const low = await send(s2, 'bid:place', { listingId: a.listingId, teu: 5, unitPriceCents: 20_000 });
    const rest = await as(main.app, f2)({ method: 'POST', url: `/api/listings/${a.listingId}/bids`, payload: { teu: 5, unitPriceCents: 20_000 } });
    expect(low.status).toBe(409);
    expect(rest.statusCode).toBe(409);
    expect(low.body).toEqual(rest.json());
    expect(low.body.error).toMatchObject({ code: 'bid_too_low', minUnitPriceCents: 20_500 });
    // outbid over the socket, the first bidder is no longer leading (the same book for both paths)
    const up = await send(s2, 'bid:place', { listingId: a.listingId, teu: 10, unitPriceCents: 21_000 });
    expect(up.body).toMatchObject({ status: 'leading', allocatedTeu: 10 });
    expect(await bidCount(a.listingId)).toBe(2);
  });

  it('bad messages are refused with the API error shape and change nothing', async () => {
    const a = await createAscendingAuction(env.db, { teu: 10, reservePriceCents: 10_000 });
    const s1 = await open(main.url, f1);
    for (const bad of [
      null, 'bid', [], { teu: 1, unitPriceCents: 20_000 }, { listingId: 'not-a-uuid', teu: 1, unitPriceCents: 20_000 },
      { listingId: a.listingId, teu: 0, unitPriceCents: 20_000 }, { listingId: a.listingId, teu: 1, unitPriceCents: 'twenty' },
      { listingId: a.listingId, teu: 1.5, unitPriceCents: 20_000 }, { listingId: a.listingId, teu: 1, unitPriceCents: 20_000, extra: true },
      { listingId: a.listingId, teu: 1, unitPriceCents: 20_000, idempotencyKey: '' }, { listingId: a.listingId, teu: 1, unitPriceCents: 20_000, idempotencyKey: 'x'.repeat(300) },
    ]) {
      const r = await send(s1, 'bid:place', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error?.code).toBe('invalid_input');
    }
    expect(await bidCount(a.listingId)).toBe(0);
    // the guards of the REST call: an unknown listing, a listing that is held not bid on, an operator bidding
    const missing = await send(s1, 'bid:place', { listingId: '00000000-0000-4000-8000-000000000000', teu: 1, unitPriceCents: 20_000 });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const fixed = await createDepartureWithListing(env.db, { capacityTeu: 10, capacityTonnes: 100 });
    expect((await send(s1, 'bid:place', { listingId: fixed.listingId, teu: 1, unitPriceCents: 20_000 })).body.error?.code).toBe('wrong_format');
    const sOp = await open(main.url, op);
    expect((await send(sOp, 'bid:place', { listingId: a.listingId, teu: 1, unitPriceCents: 20_000 })).status).toBe(403);
    expect(await bidCount(a.listingId)).toBe(0);
  });

  it('an idempotency key per message: a retry gets the first answer, one bid; REST with the same key and body too', async () => {
    const a = await createAscendingAuction(env.db, { teu: 10, reservePriceCents: 10_000 });
    const s1 = await open(main.url, f1);
    const msg = { listingId: a.listingId, teu: 2, unitPriceCents: 15_000, idempotencyKey: 'order-42' };
    const [x, y] = await Promise.all([send(s1, 'bid:place', msg), send(s1, 'bid:place', msg)]);
    expect(x.status).toBe(201);
    expect(y).toEqual(x);
    const rest = await as(main.app, f1)({
      method: 'POST', url: `/api/listings/${a.listingId}/bids`, headers: { 'idempotency-key': 'order-42' }, payload: { teu: 2, unitPriceCents: 15_000 },
    });
    expect(rest.statusCode).toBe(201);
    expect(rest.json()).toEqual(x.body);
    expect(await bidCount(a.listingId)).toBe(1);
    // the same key with another body is a conflict, not a replay
    const other = await send(s1, 'bid:place', { ...msg, unitPriceCents: 16_000 });
    expect(other.status).toBe(409);
    expect(await bidCount(a.listingId)).toBe(1);
  });

  it('commands share the REST rate limit per principal and are not counted by the flood guard', async () => {
    // the flood guard (200 events per 10 s) does not cut a socket that places many commands
    const s1 = await open(main.url, f1);
    const answers = await Promise.all(Array.from({ length: 260 }, () => send(s1, 'noop', {})));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(s1.connected).toBe(true);

    // a server whose API limit is 20 a minute: the socket's commands and the REST calls draw on one bucket
    const tight = await listen(20);
    const f3 = await signIn(tight.app, 'forwarder3@demo.test');
    const s3 = await open(tight.url, f3);
    const burst = await Promise.all(Array.from({ length: 30 }, () => send(s3, 'noop', {})));
    expect(burst.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    expect(burst.find((r) => r.status === 429)?.body.error?.code).toBe('rate_limited');
    expect((await as(tight.app, f3)({ method: 'GET', url: '/api/me' })).statusCode).toBe(429);
  });
});
