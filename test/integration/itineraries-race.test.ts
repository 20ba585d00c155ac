import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvailabilityCache } from '../../server/adapters/redis/availability.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, createForwarders, departureState } from '../helpers/fixtures.ts';
import { httpSignIn, startServer, type Proc } from '../helpers/procs.ts';

/**
 * Issue 12 item 7 — itinerary booking racing single holds on a shared leg, over two server processes:
 * 3-leg itineraries London → Lille → Duisburg → Bologna (2 TEU each) and 1-TEU single holds on the middle leg
 * (100 TEU), 40 + 60 requests within ~60 ms: 180 TEU asked for 100, and neither kind alone could sell the leg out,
 * so both must win some of it, spread over both servers and 30 forwarders. Then the accepted itineraries are
 * confirmed or released while more single holds arrive. Invariants, checked in Postgres and Redis:
 * - never overbooked: held + booked ≤ capacity on every departure, in TEU and tonnes;
 * - never a partial itinerary: every itinerary has all its legs held (or booked) or none, and the two private
 *   legs carry exactly 2 TEU per live itinerary;
 * - every answer is 201 or 409 (a refused itinerary names the shared leg, legIndex 1); Redis agrees with Postgres.
 * Bounded: a fixed number of requests, and the whole storm within a time limit.
 */

const DAY = 86_400_000;
const SHARED_TEU = 100;
const ITINERARIES = 40;
const SINGLES = 60;
const STORM_LIMIT_MS = 60_000;

type Account = { cookie: string; csrf: string };
type Answer = { status: number; code?: string; legIndex?: number; id?: string };

describe('itineraries racing single holds on a shared leg, two server processes', () => {
  let env: TestEnv;
  let servers: Proc[] = [];
  let accounts: Account[] = [];
  let legs: Awaited<ReturnType<typeof createDepartureWithListing>>[] = [];

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000 } });
    servers = await Promise.all([startServer(env.cfg), startServer(env.cfg)]);
    const fwd = await createForwarders(env.db, 30, 'itinrace');
    accounts = await Promise.all(fwd.map((a, i) => httpSignIn(servers[i % 2]!.url, a.email)));
    legs = [
      await createDepartureWithListing(env.db, { corridorCode: 'GBLHR-FRLIL-rail', capacityTeu: 400, capacityTonnes: 8000, cutoffInMs: 2 * DAY }),
      await createDepartureWithListing(env.db, { corridorCode: 'FRLIL-DEDUI-rail', capacityTeu: SHARED_TEU, capacityTonnes: 2000, cutoffInMs: 4 * DAY }),
      await createDepartureWithListing(env.db, { corridorCode: 'DEDUI-ITBLQ-rail', capacityTeu: 400, capacityTonnes: 8000, cutoffInMs: 6 * DAY }),
    ];
  }, 120_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await env?.cleanup();
  });

  /** A request as forwarder `i` (mod 30) through server `server` (mod 2). */
  async function call(i: number, method: string, path: string, body?: unknown, server = i): Promise<Answer> {
    const a = accounts[i % accounts.length]!;
    const res = await fetch(`${servers[server % servers.length]!.url}${path}`, {
      method,
      headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = res.status === 204 ? {} : ((await res.json()) as { id?: string; error?: { code: string; legIndex?: number } });
    return { status: res.status, ...(json.error ? { code: json.error.code, legIndex: json.error.legIndex } : {}), ...(json.id ? { id: json.id } : {}) };
  }

  /** The invariants, after every phase. */
  async function checkInvariants() {
    for (const l of legs) {
      const d = await departureState(env.db, l.departureId);
      expect(d.held_teu + d.booked_teu).toBeLessThanOrEqual(d.capacity_teu);
      expect(d.held_tonnes + d.booked_tonnes).toBeLessThanOrEqual(d.capacity_tonnes);
      // Postgres' counters equal the rows
      const rows = await env.db.selectFrom('holds').select(sql<number>`coalesce(sum(teu), 0)::int`.as('teu')).where('departure_id', '=', l.departureId).where('status', '=', 'active').executeTakeFirstOrThrow();
      expect(rows.teu).toBe(d.held_teu);
      // Redis agrees once everything settled: nothing pending, the same load
      const snap = await new AvailabilityCache(env.redis, env.db, env.cfg.redisPrefix).snapshot(l.corridorId, l.departureId);
      if (snap.used_teu !== undefined) {
        expect(Number(snap.pend_teu)).toBe(0);
        expect(Number(snap.used_teu)).toBe(d.held_teu + d.booked_teu);
      }
    }
    // all legs or none: per itinerary, its live legs (active holds or live bookings) are 0 or 3
    const perItinerary = await sql<{ id: string; status: string; held: number; booked: number }>`
      select i.id, i.status,
             (select count(*)::int from holds h where h.itinerary_id = i.id and h.status = 'active') as held,
             (select count(*)::int from bookings b where b.itinerary_id = i.id and b.status <> 'cancelled') as booked
        from itineraries i`.execute(env.db);
    for (const r of perItinerary.rows) {
      const want = r.status === 'held' ? [3, 0] : r.status === 'confirmed' ? [0, 3] : [0, 0];
      expect([r.held, r.booked], `itinerary ${r.id} (${r.status})`).toEqual(want);
    }
    const live = perItinerary.rows.filter((r) => r.status === 'held' || r.status === 'confirmed').length;
    for (const l of [legs[0]!, legs[2]!]) {
      const d = await departureState(env.db, l.departureId);
      expect(d.held_teu + d.booked_teu, 'the private legs carry exactly the live itineraries').toBe(2 * live);
    }
    // no hold or booking on the private legs outside an itinerary
    const strays = await env.db.selectFrom('holds').select('id').where('departure_id', 'in', [legs[0]!.departureId, legs[2]!.departureId]).where('itinerary_id', 'is', null).execute();
    expect(strays).toEqual([]);
    return { live, rows: perItinerary.rows };
  }

  it(`${ITINERARIES} itineraries × ${SINGLES} single holds on a ${SHARED_TEU}-TEU shared leg: no overbooking, no partial itinerary`, async () => {
    const chain = { legs: legs.map((l) => ({ listingId: l.listingId })), teu: 2, tonnes: 20 };
    const t0 = Date.now();
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const answers = await Promise.all(
      Array.from({ length: ITINERARIES + SINGLES }, async (_, i) => {
        await pause((i * 13) % 60); // a fixed spread: both kinds arrive throughout
        return i % 5 === 0 || i % 5 === 2
          ? call(i, 'POST', '/api/itineraries', chain).then((a) => ({ kind: 'itinerary' as const, i, ...a }))
          : call(i, 'POST', '/api/holds', { listingId: legs[1]!.listingId, teu: 1, tonnes: 10 }).then((a) => ({ kind: 'single' as const, i, ...a }));
      }),
    );
    const stormMs = Date.now() - t0;
    expect(stormMs).toBeLessThan(STORM_LIMIT_MS);
    const bad = answers.filter((a) => a.status !== 201 && a.status !== 409);
    expect(bad, JSON.stringify(bad.slice(0, 5))).toEqual([]);
    const itins = answers.filter((a) => a.kind === 'itinerary');
    const singles = answers.filter((a) => a.kind === 'single');
    const okItins = itins.filter((a) => a.status === 201);
    const okSingles = singles.filter((a) => a.status === 201);
    // a refused itinerary names the shared leg; the private legs always had room
    for (const a of itins.filter((x) => x.status === 409)) expect([a.code, a.legIndex]).toEqual(['insufficient_capacity', 1]);
    for (const a of singles.filter((x) => x.status === 409)) expect(a.code).toBe('insufficient_capacity');
    const shared = await departureState(env.db, legs[1]!.departureId);
    expect(shared.held_teu).toBe(2 * okItins.length + okSingles.length);
    expect(shared.held_teu).toBeLessThanOrEqual(SHARED_TEU);
    // sold out (a refusal means it was full, but for a 2-TEU itinerary meeting 1 free TEU), and so both kinds won some
    expect(shared.held_teu).toBeGreaterThanOrEqual(SHARED_TEU - 1);
    expect(okItins.length).toBeGreaterThan(0);
    expect(okSingles.length).toBeGreaterThan(0);
    const { live } = await checkInvariants();
    expect(live).toBe(okItins.length);
    console.log(
      `itinerary race: ${okItins.length}/${ITINERARIES} itineraries and ${okSingles.length}/${SINGLES} single holds accepted in ${stormMs} ms; ` +
        `shared leg ${shared.held_teu}/${SHARED_TEU} TEU held`,
    );

    // phase 2: the holders confirm half of the itineraries and release the other half (through the other server),
    // while more single holds arrive on the shared leg
    const t1 = Date.now();
    const phase2 = await Promise.all([
      ...okItins.map((a, k) =>
        k % 2 === 0
          ? call(a.i, 'POST', `/api/itineraries/${a.id}/confirm`, { reference: `race ${k}` }, a.i + 1)
          : call(a.i, 'DELETE', `/api/itineraries/${a.id}`, undefined, a.i + 1),
      ),
      ...Array.from({ length: 40 }, (_, j) => call(j, 'POST', '/api/holds', { listingId: legs[1]!.listingId, teu: 1, tonnes: 10 })),
    ]);
    expect(Date.now() - t1).toBeLessThan(STORM_LIMIT_MS);
    const own = phase2.slice(0, okItins.length);
    expect(own.map((a) => a.status)).toEqual(okItins.map((_, k) => (k % 2 === 0 ? 201 : 204)));
    const after = await checkInvariants();
    const confirmed = after.rows.filter((r) => r.status === 'confirmed').length;
    const s2 = await departureState(env.db, legs[1]!.departureId);
    expect(s2.booked_teu).toBe(2 * confirmed);
    expect(s2.held_teu + s2.booked_teu).toBeLessThanOrEqual(SHARED_TEU);
    console.log(`itinerary race, phase 2: ${confirmed} confirmed, shared leg ${s2.booked_teu} booked + ${s2.held_teu} held of ${SHARED_TEU} TEU`);
  }, 180_000);
});
