import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { BOOKING_LIST_LIMIT } from '../../server/services/bookings.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

// A new-user walkthrough found the bookings page's totals wrong: they were summed over the list, which stops at the
// newest 1,000. GET /api/bookings/summary counts every booking the caller sees, in the caller's scope.
describe('GET /api/bookings/summary', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let op1: Session;
  let op2: Session;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    [f1, f2, op1, op2] = await Promise.all([
      signIn(built.app, 'forwarder1@demo.test'), signIn(built.app, 'forwarder2@demo.test'), signIn(built.app, 'operator1@demo.test'), signIn(built.app, 'operator2@demo.test'),
    ]);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  it('counts every booking of the scope, beyond the list limit; cancelled ones count as bookings only', async () => {
    const n = BOOKING_LIST_LIMIT + 25;
    const d = await createDepartureWithListing(env.db, { capacityTeu: 5000, capacityTonnes: 50_000, listedTeu: 4000, unitPriceCents: 10_000 });
    await env.db.updateTable('departures').set({ operator_org_id: op1.me.org.id, booked_teu: 2 * n, booked_tonnes: 20 * n }).where('id', '=', d.departureId).execute();
    await env.db.insertInto('bookings').values(Array.from({ length: n }, (_, i) => ({
      departure_id: d.departureId, listing_id: d.listingId, forwarder_org_id: f1.me.org.id, teu: 2, tonnes: 20, unit_price_cents: 10_000, total_cents: 20_000,
      co2e_kg: 100, road_co2e_kg: 400,
      ...(i % 5 === 0 ? { status: 'cancelled' as const, cancelled_at: new Date(), cancellation_fee_cents: 0 } : {}),
    }))).execute();
    const cancelled = Math.ceil(n / 5);

    const get = async (s: Session, url: string) => {
      const r = await as(built.app, s)({ method: 'GET', url });
      expect(r.statusCode, r.body).toBe(200);
      return r.json();
    };
    expect(await get(f1, '/api/bookings')).toHaveLength(BOOKING_LIST_LIMIT);
    const mine = await get(f1, '/api/bookings/summary');
    expect(mine).toEqual({
      bookings: n, activeBookings: n - cancelled, activeTeu: 2 * (n - cancelled), co2eKg: 100 * (n - cancelled), roadCo2eKg: 400 * (n - cancelled), listLimit: BOOKING_LIST_LIMIT,
    });
    // the operator of the departure sees them; another forwarder and another operator do not
    expect((await get(op1, '/api/bookings/summary')).bookings).toBeGreaterThanOrEqual(n);
    expect((await get(f2, '/api/bookings/summary')).bookings).toBe((await get(f2, '/api/bookings')).length);
    const other = await get(op2, '/api/bookings/summary');
    expect(other.bookings).toBe((await get(op2, '/api/bookings')).length);
  });

  it('GET /api/bookings pages through every booking of the scope, newest first, without overlap or gap (many share a created_at)', async () => {
    const all = await env.db.selectFrom('bookings').select('id').where('forwarder_org_id', '=', f1.me.org.id).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    expect(all.length).toBeGreaterThan(BOOKING_LIST_LIMIT); // the test above gave forwarder 1 more than one full page
    const seen: string[] = [];
    let url: string | null = '/api/bookings?limit=300';
    for (let i = 0; i < 20 && url; i++) {
      const r = await as(built.app, f1)({ method: 'GET', url });
      expect(r.statusCode, r.body).toBe(200);
      seen.push(...(r.json() as { id: string }[]).map((b) => b.id));
      const next = r.headers['x-next-cursor'];
      url = typeof next === 'string' ? `/api/bookings?limit=300&before=${next}` : null;
      if (url) expect(String(r.headers.link)).toContain('rel="next"');
    }
    expect(seen).toEqual(all.map((b) => b.id));
    // without a limit: the newest BOOKING_LIST_LIMIT, and a cursor to the rest
    const first = await as(built.app, f1)({ method: 'GET', url: '/api/bookings' });
    expect((first.json() as unknown[]).length).toBe(BOOKING_LIST_LIMIT);
    expect(first.headers['x-next-cursor']).toBeTruthy();
    for (const q of ['?limit=0', '?limit=1001', '?before=abc', '?before=1_not-a-uuid', '?offset=5']) {
      expect((await as(built.app, f1)({ method: 'GET', url: `/api/bookings${q}` })).statusCode, q).toBe(400);
    }
  });
});
