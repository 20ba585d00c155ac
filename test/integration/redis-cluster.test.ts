import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createAscendingAuction, createDepartureWithListing, departureState } from '../helpers/fixtures.ts';
import { httpSignIn, startRedisCluster, startServer, startWorker, waitUntil, type Proc } from '../helpers/procs.ts';

/**
 * Issue 16, part 7 — on a Redis Cluster: a local 3-master cluster (redis-server --cluster-enabled yes on loopback,
 * created with redis-cli --cluster create), two real server processes and a worker pointed at it with
 * `redis+cluster://…`. The overbooking race, an auction's close and settlement run as on one Redis; every key the app
 * wrote carries the prefix's hash tag (one slot per script, transaction and queue).
 */

const cli = (port: number, ...args: string[]) =>
  new Promise<string>((resolve, reject) => execFile('redis-cli', ['-p', String(port), ...args], { timeout: 10_000 }, (e, out) => (e ? reject(new Error(e.message)) : resolve(out))));

describe('on a Redis Cluster', () => {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  let env: TestEnv;
  const procs: Proc[] = [];
  let servers: Proc[];

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    env = await createTestEnv({ cfg: { redisUrl: cluster.url, holdMaxSharePct: 100, apiPerMinute: 100_000 } });
    const noSoftClose = { SOFT_CLOSE_WINDOW_SECONDS: '0' }; // the auction closes when it says, not 2 minutes after the last bid
    servers = await Promise.all([startServer(env.cfg, noSoftClose), startServer(env.cfg, noSoftClose)]);
    procs.push(...servers, await startWorker(env.cfg, noSoftClose));
  });
  afterAll(async () => {
    for (const p of procs) await p.stop().catch(() => {});
    await env?.cleanup().catch(() => {});
    await cluster?.stop();
  });

  it('the prefix carries a hash tag', () => {
    expect(env.cfg.redisPrefix).toMatch(/^\{[^}]+\}:$/);
  });

  it('the overbooking race: 60 concurrent holds of 1 TEU on 10 free TEU across two servers — exactly 10 accepted', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 10, capacityTonnes: 200 });
    const sessions = await Promise.all(['forwarder1', 'forwarder2', 'forwarder3', 'forwarder4'].map((u, i) => httpSignIn(servers[i % 2]!.url, `${u}@demo.test`)));
    const statuses = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const s = sessions[i % sessions.length]!;
        const r = await fetch(`${servers[i % 2]!.url}/api/holds`, {
          method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
          body: JSON.stringify({ listingId: d.listingId, teu: 1, tonnes: 10 }),
        });
        return r.status;
      }),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s !== 201 && s !== 409)).toEqual([]);
    expect(await departureState(env.db, d.departureId)).toMatchObject({ held_teu: 10, booked_teu: 0 });
    // the availability both servers show agrees with Postgres
    for (const srv of servers) {
      const r = await fetch(`${srv.url}/api/departures/${d.departureId}`, { headers: { cookie: sessions[0]!.cookie } });
      expect((await r.json()).freeTeu).toBe(0);
    }
  });

  it('settlement through BullMQ on the cluster: a confirmed booking is settled by the worker', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 10, capacityTonnes: 200 });
    const s = await httpSignIn(servers[0]!.url, 'forwarder1@demo.test');
    const post = (url: string, body: unknown) =>
      fetch(`${servers[0]!.url}${url}`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const h = await (await post('/api/holds', { listingId: d.listingId, teu: 2, tonnes: 20 })).json();
    const b = await post(`/api/holds/${h.id}/confirm`, {});
    expect(b.status).toBe(201);
    const bookingId = (await b.json()).id as string;
    const settled = await waitUntil(
      async () => (await env.db.selectFrom('bookings').select('status').where('id', '=', bookingId).executeTakeFirstOrThrow()).status === 'settled',
      'the worker to settle the booking', 300, 100,
    );
    expect(settled).toBe(true);
  });

  it('an auction closes on the cluster: bids on two servers, the worker clears it, the winner is booked', async () => {
    const a = await createAscendingAuction(env.db, { teu: 5, reservePriceCents: 10_000, closesInMs: 2500 });
    const [s1, s2] = await Promise.all([httpSignIn(servers[0]!.url, 'forwarder1@demo.test'), httpSignIn(servers[1]!.url, 'forwarder2@demo.test')]);
    const bid = (srv: Proc, s: { cookie: string; csrf: string }, unitPriceCents: number) =>
      fetch(`${srv.url}/api/listings/${a.listingId}/bids`, {
        method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' }, body: JSON.stringify({ teu: 5, unitPriceCents }),
      }).then((r) => r.status);
    expect(await bid(servers[0]!, s1, 12_000)).toBe(201);
    expect(await bid(servers[1]!, s2, 13_000)).toBe(201);
    const closed = await waitUntil(
      async () => (await env.db.selectFrom('listings').select('status').where('id', '=', a.listingId).executeTakeFirstOrThrow()).status !== 'open',
      'the worker to close the auction', 300, 100,
    );
    expect(closed).toBe(true);
    const bookings = await env.db.selectFrom('bookings').select(['forwarder_org_id', 'teu', 'unit_price_cents']).where('listing_id', '=', a.listingId).execute();
    expect(bookings).toEqual([{ forwarder_org_id: (await httpSignIn(servers[1]!.url, 'forwarder2@demo.test')).orgId, teu: 5, unit_price_cents: 13_000 }]);
  });

  it('every key the app wrote carries the hash tag (one slot), and the cluster spread nothing else', async () => {
    const tag = env.cfg.redisPrefix;
    const keys = (await Promise.all(cluster.ports.map((p) => cli(p, 'keys', '*')))).flatMap((out) => out.split('\n').filter(Boolean));
    const ours = keys.filter((k) => k.startsWith(tag));
    expect(ours.length).toBeGreaterThan(0);
    expect(keys.filter((k) => !k.startsWith(tag))).toEqual([]);
    const slots = new Set(await Promise.all(ours.slice(0, 50).map(async (k) => (await cli(cluster.ports[0]!, 'cluster', 'keyslot', k)).trim())));
    expect(slots.size).toBe(1);
  });
});
