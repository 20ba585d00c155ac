import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvailabilityCache } from '../../server/adapters/redis/availability.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { activeHolds, createDepartureWithListing, createForwarders, departureState } from '../helpers/fixtures.ts';
import { httpSignIn, startPrivateRedis, startServer, type Proc } from '../helpers/procs.ts';

/** `n` concurrent 1-TEU hold requests spread over the servers and forwarders; returns status and error code of each. */
async function holdStorm(servers: Proc[], forwarders: { cookie: string; csrf: string }[], listingId: string, n: number, tonnesEach: number) {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const f = forwarders[i % forwarders.length]!;
      const res = await fetch(`${servers[i % servers.length]!.url}/api/holds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: f.cookie, 'x-csrf-token': f.csrf },
        body: JSON.stringify({ listingId, teu: 1, tonnes: tonnesEach }),
      });
      const body = (await res.json()) as { error?: { code: string } };
      return { status: res.status, code: body.error?.code };
    }),
  );
}

/**
 * The overbooking race of issue 3: two server processes, 30 forwarders, 300 concurrent hold requests for
 * a departure with 20 TEU free. Exactly 20 TEU end up held, every other request gets 409
 * insufficient_capacity, and Postgres and Redis agree afterwards.
 */
describe('no overbooking across two server processes', () => {
  let env: TestEnv;
  let servers: Proc[] = [];
  let forwarders: { cookie: string; csrf: string }[] = [];

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000 } });
    servers = await Promise.all([startServer(env.cfg), startServer(env.cfg)]);
    const accounts = await createForwarders(env.db, 30, 'race');
    forwarders = await Promise.all(accounts.map((a, i) => httpSignIn(servers[i % 2]!.url, a.email)));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await env.cleanup();
  });

  const storm = (listingId: string, n: number, tonnesEach: number) => holdStorm(servers, forwarders, listingId, n, tonnesEach);

  async function expectAgreement(corridorId: string, departureId: string) {
    const cache = new AvailabilityCache(env.redis, env.db, env.cfg.redisPrefix);
    const snap = await cache.snapshot(corridorId, departureId);
    const pg = await departureState(env.db, departureId);
    expect(Number(snap.pend_teu)).toBe(0);
    expect(Number(snap.pend_t)).toBe(0);
    expect(Number(snap.used_teu)).toBe(pg.held_teu + pg.booked_teu);
    expect(Number(snap.used_t)).toBe(pg.held_tonnes + pg.booked_tonnes);
    expect(Number(snap.seq)).toBe(Number(pg.seq));
  }

  it('TEU binding: 300 requests for 20 TEU → exactly 20 held, 280 × 409 insufficient_capacity', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 2000 });
    const results = await storm(d.listingId, 300, 5);
    const ok = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 409);
    expect(ok).toHaveLength(20);
    expect(refused).toHaveLength(280);
    expect(refused.every((r) => r.code === 'insufficient_capacity')).toBe(true);
    const pg = await departureState(env.db, d.departureId);
    expect(pg.held_teu).toBe(20);
    expect(await activeHolds(env.db, d.departureId)).toMatchObject({ n: 20, teu: 20, tonnes: 100 });
    await expectAgreement(d.corridorId, d.departureId);
    console.log(`race (TEU): ${ok.length} accepted, ${refused.length} refused, held ${pg.held_teu}/20 TEU`);
  });

  it('tonnes binding: 300 requests of 1 TEU / 10 t for 200 t → exactly 20 held, 280 × 409', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 200 });
    const results = await storm(d.listingId, 300, 10);
    const ok = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 409);
    expect(ok).toHaveLength(20);
    expect(refused).toHaveLength(280);
    expect(refused.every((r) => r.code === 'insufficient_capacity')).toBe(true);
    const pg = await departureState(env.db, d.departureId);
    expect(pg.held_tonnes).toBe(200);
    expect(pg.held_teu).toBe(20);
    await expectAgreement(d.corridorId, d.departureId);
    console.log(`race (tonnes): ${ok.length} accepted, ${refused.length} refused, held ${pg.held_tonnes}/200 t`);
  });
});

describe('Redis loses its data mid-run (a private Redis, so FLUSHALL touches no other test)', () => {
  let env: TestEnv;
  let redis: { url: string; stop(): Promise<void> };
  let servers: Proc[] = [];
  let forwarders: { cookie: string; csrf: string }[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis();
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000, redisUrl: redis.url } });
    servers = await Promise.all([startServer(env.cfg), startServer(env.cfg)]);
    const accounts = await createForwarders(env.db, 10, 'flush');
    forwarders = await Promise.all(accounts.map((a, i) => httpSignIn(servers[i % 2]!.url, a.email)));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await env.cleanup();
    await redis.stop();
  });

  const storm = (listingId: string, n: number, tonnesEach: number) => holdStorm(servers, forwarders, listingId, n, tonnesEach);

  it('FLUSHALL in the middle of a run of holds: no overbooking, and the cache is rebuilt from Postgres', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 40, capacityTonnes: 4000 });
    const first = storm(d.listingId, 150, 5);
    await new Promise((r) => setTimeout(r, 20));
    await env.redis.flushall();
    const second = storm(d.listingId, 150, 5);
    const results = [...(await first), ...(await second)];
    const ok = results.filter((r) => r.status === 201);
    expect(results.every((r) => r.status === 201 || (r.status === 409 && r.code === 'insufficient_capacity'))).toBe(true);
    const pg = await departureState(env.db, d.departureId);
    expect(pg.held_teu).toBeLessThanOrEqual(40);
    expect(pg.held_teu).toBe(ok.length);
    expect(ok.length).toBe(40); // everything was sold: the cache never refused what Postgres still had
    // after the storm, one more request rebuilds/uses the cache, which then agrees with Postgres
    const f = forwarders[0]!;
    const extra = await fetch(`${servers[1]!.url}/api/holds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: f.cookie, 'x-csrf-token': f.csrf },
      body: JSON.stringify({ listingId: d.listingId, teu: 1, tonnes: 1 }),
    });
    expect(extra.status).toBe(409);
    const cache = new AvailabilityCache(env.redis, env.db, env.cfg.redisPrefix);
    const snap = await cache.snapshot(d.corridorId, d.departureId);
    expect(Number(snap.used_teu) + Number(snap.pend_teu)).toBe(40);
  });
});
