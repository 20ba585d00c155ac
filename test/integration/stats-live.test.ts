import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';
import { openSocket } from '../helpers/live.ts';
import { waitUntil } from '../helpers/procs.ts';

/**
 * Issue 11, live dashboards: `subscribe { dashboard }` joins the network room (schedulers, the platform) or
 * the caller's own operator room; others are refused with `forbidden`. Bookings, holds and cancellations
 * made through the real HTTP app reach the room as `stats:update` naming the departures, corridors and days
 * that changed — an operator only ever hears of its own departures — and a burst is merged into few updates.
 */

type Update = { dashboard: string; asOf: string; departureIds: string[]; corridorIds: string[]; days: string[]; truncated?: boolean };
type Ack = { ok: boolean; error?: string | { code: string; message: string } };

const PUSH_MS = 500;

describe('live dashboard rooms (stats:update)', () => {
  let env: TestEnv;
  let built: App;
  let url: string;
  let scheduler: Session;
  let platform: Session;
  let op1: Session;
  let op2: Session;
  let fwd: Session;
  const sockets: Socket[] = [];
  /** Departures of operator1 (a, c) and operator2 (b), each with an open fixed listing. */
  let a: Awaited<ReturnType<typeof createDepartureWithListing>> & { day: string };
  let b: typeof a;
  let c: typeof a;

  async function live(s: Session) {
    const socket = openSocket(url, { cookie: s.cookie });
    sockets.push(socket);
    const updates: Update[] = [];
    socket.on('stats:update', (u: Update) => updates.push(u));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return { socket, updates };
  }
  const ack = (s: Socket, event: string, payload: unknown) => s.timeout(5000).emitWithAck(event, payload) as Promise<Ack>;

  async function departureOf(operatorOrgId: string) {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 400, capacityTonnes: 8000 });
    await env.db.updateTable('departures').set({ operator_org_id: operatorOrgId }).where('id', '=', d.departureId).execute();
    const row = await env.db.selectFrom('departures').select('departs_at').where('id', '=', d.departureId).executeTakeFirstOrThrow();
    return { ...d, operatorOrgId, day: row.departs_at.toISOString().slice(0, 10) };
  }

  async function hold(listingId: string, teu = 1) {
    const res = await as(built.app, fwd)({ method: 'POST', url: '/api/holds', payload: { listingId, teu, tonnes: teu * 10 } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string };
  }

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { statsPushMs: PUSH_MS } });
    built = await buildApp(env.cfg);
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(built.app.server.address() as { port: number }).port}`;
    [scheduler, platform, op1, op2, fwd] = await Promise.all([
      signIn(built.app, 'scheduler@demo.test'),
      signIn(built.app, 'admin@demo.test'),
      signIn(built.app, 'operator1@demo.test'),
      signIn(built.app, 'operator2@demo.test'),
      signIn(built.app, 'forwarder1@demo.test'),
    ]);
    a = await departureOf(op1.me.org.id);
    b = await departureOf(op2.me.org.id);
    c = await departureOf(op1.me.org.id);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await built.app.close();
    await env.cleanup();
  });

  it('refuses dashboards to those they are not for (forbidden) and malformed dashboard payloads', async () => {
    const f = await live(fwd);
    for (const dashboard of ['network', 'operator']) {
      const r = await ack(f.socket, 'subscribe', { dashboard });
      expect(r).toMatchObject({ ok: false, error: 'forbidden', message: expect.any(String) });
    }
    const s = await live(scheduler);
    expect(await ack(s.socket, 'subscribe', { dashboard: 'operator' })).toMatchObject({ ok: false, error: 'forbidden', message: expect.any(String) });
    const o = await live(op1);
    expect(await ack(o.socket, 'subscribe', { dashboard: 'network' })).toMatchObject({ ok: false, error: 'forbidden', message: expect.any(String) });
    for (const p of [{ dashboard: 'everything' }, { dashboard: 'NETWORK' }, { dashboard: '' }, { dashboard: 1 }, { dashboard: null }, { dashboard: ['network'] }, { dashboard: 'network', extra: 1 }, { dashboard: `operator:${op2.me.org.id}` }]) {
      const r = await ack(s.socket, 'subscribe', p);
      expect(r.ok, JSON.stringify(p)).toBe(false);
      expect(typeof r.error).toBe('string');
    }
    // none of the refused sockets sits in a dashboard room
    const inDashboard = [...built.io.of('/').adapter.rooms.keys()].filter((r) => r.startsWith('dashboard:'));
    expect(inDashboard).toEqual([]);
    for (const x of [f, s, o]) x.socket.disconnect();
  });

  it('tells the network room (scheduler, platform) what a booking through the API changed', async () => {
    const s = await live(scheduler);
    const p = await live(platform);
    expect(await ack(s.socket, 'subscribe', { dashboard: 'network' })).toEqual({ ok: true });
    expect(await ack(p.socket, 'subscribe', { dashboard: 'network' })).toEqual({ ok: true });

    const h = await hold(a.listingId, 2);
    const confirm = await as(built.app, fwd)({ method: 'POST', url: `/api/holds/${h.id}/confirm`, payload: {} });
    expect(confirm.statusCode, confirm.body).toBe(201);

    for (const w of [s, p]) {
      await waitUntil(async () => w.updates.some((u) => u.departureIds.includes(a.departureId)), 'a stats:update naming the departure', 100);
      const u = w.updates.find((x) => x.departureIds.includes(a.departureId))!;
      expect(u).toMatchObject({ dashboard: 'network', corridorIds: [a.corridorId], days: [a.day] });
      expect(new Date(u.asOf).toISOString()).toBe(u.asOf);
    }

    // after unsubscribing, the scheduler hears nothing more; the platform (still subscribed) is the witness
    expect(await ack(s.socket, 'unsubscribe', { dashboard: 'network' })).toEqual({ ok: true });
    const before = s.updates.length;
    await hold(c.listingId);
    await waitUntil(async () => p.updates.some((u) => u.departureIds.includes(c.departureId)), 'the platform hears of the new hold', 100);
    // the scheduler's socket would have had the same update before this ack
    expect(await ack(s.socket, 'subscribe', { corridorId: c.corridorId })).toEqual({ ok: true });
    expect(s.updates.length).toBe(before);
    s.socket.disconnect();
    p.socket.disconnect();
  });

  it("tells an operator's room of its own departures only, never of another operator's", async () => {
    const one = await live(op1);
    const two = await live(op2);
    expect(await ack(one.socket, 'subscribe', { dashboard: 'operator' })).toEqual({ ok: true });
    expect(await ack(two.socket, 'subscribe', { dashboard: 'operator' })).toEqual({ ok: true });

    await hold(a.listingId);
    await waitUntil(async () => one.updates.some((u) => u.departureIds.includes(a.departureId)), "operator1 hears of its departure", 100);
    await hold(b.listingId);
    await waitUntil(async () => two.updates.some((u) => u.departureIds.includes(b.departureId)), "operator2 hears of its departure", 100);
    // a later change of operator1's: once it arrives, anything about b would have arrived before it
    const seen = one.updates.length;
    await hold(c.listingId);
    await waitUntil(async () => one.updates.slice(seen).some((u) => u.departureIds.includes(c.departureId)), "operator1's later update", 100);

    const mine1 = new Set([a.departureId, c.departureId]);
    for (const u of one.updates) {
      expect(u.dashboard).toBe('operator');
      expect(u.departureIds.every((id) => mine1.has(id)), JSON.stringify(u)).toBe(true);
      expect(u.corridorIds).toEqual([a.corridorId]);
    }
    for (const u of two.updates) {
      expect(u.dashboard).toBe('operator');
      expect(u.departureIds).toEqual([b.departureId]);
    }
    one.socket.disconnect();
    two.socket.disconnect();
  });

  it('tells the network room of a cancellation', async () => {
    const s = await live(scheduler);
    expect(await ack(s.socket, 'subscribe', { dashboard: 'network' })).toEqual({ ok: true });
    const h = await hold(b.listingId);
    const confirm = await as(built.app, fwd)({ method: 'POST', url: `/api/holds/${h.id}/confirm`, payload: {} });
    expect(confirm.statusCode, confirm.body).toBe(201);
    // a change on another departure after the booking: once its update is here, the booking's are too
    await hold(c.listingId);
    await waitUntil(async () => s.updates.some((u) => u.departureIds.includes(c.departureId)), 'the update after the booking', 100);
    const seen = s.updates.length;
    const cancel = await as(built.app, fwd)({ method: 'DELETE', url: `/api/bookings/${(confirm.json() as { id: string }).id}` });
    expect(cancel.statusCode, cancel.body).toBe(200);
    await waitUntil(async () => s.updates.slice(seen).some((u) => u.departureIds.includes(b.departureId)), 'the update after the cancellation', 100);
    expect(s.updates.slice(seen).find((u) => u.departureIds.includes(b.departureId))).toMatchObject({ corridorIds: [b.corridorId], days: [b.day] });
    s.socket.disconnect();
  });

  it('merges a burst of 50 holds into few updates', async () => {
    const s = await live(scheduler);
    expect(await ack(s.socket, 'subscribe', { dashboard: 'network' })).toEqual({ ok: true });
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 50 }, () => hold(a.listingId)));
    expect(results).toHaveLength(50);
    // a change after the burst: its update is the last one that can carry anything of the burst
    await hold(b.listingId);
    await waitUntil(async () => s.updates.some((u) => u.departureIds.includes(b.departureId)), 'the update after the burst', 100);
    const elapsed = Date.now() - started;
    const n = s.updates.length;
    expect(s.updates.some((u) => u.departureIds.includes(a.departureId))).toBe(true);
    // at most one update per PUSH_MS (plus the first, sent at once): a property of counts, not of speed
    expect(n).toBeLessThanOrEqual(2 + Math.floor(elapsed / PUSH_MS));
    expect(n).toBeLessThan(50 / 2);
    s.socket.disconnect();
  });
});
