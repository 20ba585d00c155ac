import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, departureState } from '../helpers/fixtures.ts';
import { connectLive, subscribe } from '../helpers/live.ts';
import { httpSignIn, startServer, startWorker, waitUntil, type Proc } from '../helpers/procs.ts';

/**
 * A hold expires by itself (BullMQ delayed job in a worker process); its capacity returns; a client
 * connected to the *other* server process receives hold:expired and the new departure:availability.
 */
describe('hold expiry across processes', () => {
  let env: TestEnv;
  let a: Proc;
  let b: Proc;
  let worker: Proc;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { holdTtlMs: 2000 } });
    [a, b, worker] = await Promise.all([startServer(env.cfg), startServer(env.cfg), startWorker(env.cfg)]);
  });
  afterAll(async () => {
    await Promise.all([a, b, worker].filter(Boolean).map((p) => p.stop()));
    await env.cleanup();
  });

  it('expires the hold, frees the capacity and tells the holder on the other server', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 10, capacityTonnes: 500 });
    const onA = await httpSignIn(a.url, 'forwarder1@demo.test');
    const onB = await httpSignIn(b.url, 'forwarder1@demo.test');
    const other = await httpSignIn(b.url, 'forwarder2@demo.test');
    const live = await connectLive(b.url, { cookie: onB.cookie });
    const stranger = await connectLive(b.url, { cookie: other.cookie });
    expect(await subscribe(live.socket, { departureId: d.departureId })).toEqual({ ok: true });

    const res = await fetch(`${a.url}/api/holds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: onA.cookie, 'x-csrf-token': onA.csrf },
      body: JSON.stringify({ listingId: d.listingId, teu: 4, tonnes: 100 }),
    });
    expect(res.status).toBe(201);
    const hold = (await res.json()) as { id: string };
    expect((await departureState(env.db, d.departureId)).held_teu).toBe(4);
    // the hold's own availability push reached the other server's subscriber
    const held = await waitUntil(async () => live.events.find((e) => e.event === 'departure:availability' && e.payload.freeTeu === 6), 'availability 6');
    expect(held.payload).toMatchObject({ heldTeu: 4, bookedTeu: 0 }); // what the load is made of, as Postgres has it

    const expired = await waitUntil(async () => live.events.find((e) => e.event === 'hold:expired'), 'hold:expired', 400);
    expect(expired.payload).toMatchObject({ holdId: hold.id, listingId: d.listingId });
    const freed = await waitUntil(
      async () => live.events.find((e) => e.event === 'departure:availability' && e.payload.freeTeu === 10),
      'availability back to 10',
    );
    expect(freed.payload.departureId).toBe(d.departureId);
    expect(freed.payload).toMatchObject({ heldTeu: 0, bookedTeu: 0 });
    const pg = await departureState(env.db, d.departureId);
    expect(pg.held_teu).toBe(0);
    expect(Number(pg.seq)).toBe(freed.payload.seq);
    const row = await env.db.selectFrom('holds').select('status').where('id', '=', hold.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('expired');
    // another forwarder organisation never hears of this hold
    expect(stranger.events.some((e) => e.event === 'hold:expired')).toBe(false);
    // confirming it now is refused
    const late = await fetch(`${a.url}/api/holds/${hold.id}/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: onA.cookie, 'x-csrf-token': onA.csrf },
      body: '{}',
    });
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('hold_expired');
    live.socket.close();
    stranger.socket.close();
  });
});
