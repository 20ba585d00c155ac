import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';
import { activeHolds, createDepartureWithListing, departureState } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

/**
 * Issue 9 (hardening), capacity: listings never promise more than the departure has (invariant 8), one
 * forwarder cannot hold most of a departure, weights are real, and a hold on a cancelled listing is dead.
 */
describe('hardening: capacity promised once, holds capped, real weights', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let op1: Session;

  /** A departure of operator1 (10 TEU, 200 t unless told) with a fixed listing. */
  async function departure(o: { capacityTeu?: number; capacityTonnes?: number; listedTeu?: number } = {}) {
    const d = await createDepartureWithListing(env.db, { capacityTeu: o.capacityTeu ?? 10, capacityTonnes: o.capacityTonnes ?? 200, listedTeu: o.listedTeu });
    await env.db.updateTable('departures').set({ operator_org_id: op1.me.org.id }).where('id', '=', d.departureId).execute();
    return d;
  }
  const hold = (s: Session, listingId: string, teu: number, tonnes = teu * 10, headers: Record<string, string> = {}) =>
    as(built.app, s)({ method: 'POST', url: '/api/holds', headers, payload: { listingId, teu, tonnes } });
  const auction = (departureId: string, teu: number) =>
    as(built.app, op1)({
      method: 'POST',
      url: '/api/listings',
      payload: { departureId, format: 'sealed', teu, reservePriceCents: 1000, closesAt: new Date(Date.now() + 3_600_000).toISOString() },
    });

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    [f1, f2, op1] = await Promise.all([signIn(built.app, 'forwarder1@demo.test'), signIn(built.app, 'forwarder2@demo.test'), signIn(built.app, 'operator1@demo.test')]);
  });
  afterAll(async () => {
    await built.app.close();
    await env.cleanup();
  });

  it('a new listing counts held TEU: a 5-TEU hold on a 10-TEU listing leaves nothing to auction (409)', async () => {
    const d = await departure({ listedTeu: 10 });
    expect((await hold(f1, d.listingId, 5)).statusCode).toBe(201);
    // before the fix: free = capacity − booked − offered = 10 − 0 − 5 → a 5-TEU auction was accepted, and once the
    // hold was released and the fixed listing sold out, the auction could never be awarded
    const refused = await auction(d.departureId, 5);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('insufficient_capacity');
    expect((await auction(d.departureId, 1)).statusCode).toBe(409);
    expect(await env.db.selectFrom('listings').select('id').where('departure_id', '=', d.departureId).execute()).toHaveLength(1);

    // the fixed listing withdrawn (its hold released with it): now the capacity may be auctioned, all of it
    expect((await as(built.app, op1)({ method: 'DELETE', url: `/api/listings/${d.listingId}` })).statusCode).toBe(200);
    expect(await departureState(env.db, d.departureId)).toMatchObject({ held_teu: 0 });
    expect((await auction(d.departureId, 11)).statusCode).toBe(409);
    expect((await auction(d.departureId, 10)).statusCode).toBe(201);
  });

  it('the database refuses a listing that over-promises, whatever the application believed (listings_promise_guard)', async () => {
    const d = await departure({ listedTeu: 8 });
    await env.db.updateTable('departures').set({ held_teu: 1, held_tonnes: 10 }).where('id', '=', d.departureId).execute();
    const insert = (teu: number) =>
      env.db.insertInto('listings').values({ departure_id: d.departureId, format: 'sealed', teu, remaining_teu: teu, reserve_price_cents: 100, closes_at: new Date(Date.now() + 3_600_000) }).execute();
    await expect(insert(2)).rejects.toThrow(/promise/); // 8 listed + 1 held + 2 > 10
    await insert(1); // 8 + 1 + 1 = 10 fits
    await env.db.updateTable('departures').set({ held_teu: 0, held_tonnes: 0 }).where('id', '=', d.departureId).execute();
  });

  it('one organisation may hold at most HOLD_MAX_SHARE_PCT (50 %) of a departure, on every hold path; others still can', async () => {
    const d = await departure({ capacityTeu: 10 });
    expect((await hold(f1, d.listingId, 4)).statusCode).toBe(201);
    const over = await hold(f1, d.listingId, 2);
    expect(over.statusCode).toBe(409);
    expectErrorShape(over.json());
    expect(over.json().error.code).toBe('hold_share_exceeded');
    // the idempotent path (its own transaction) decides the same rule
    const overIdem = await hold(f1, d.listingId, 2, 20, { 'idempotency-key': 'share-1' });
    expect(overIdem.statusCode).toBe(409);
    expect(overIdem.json().error.code).toBe('hold_share_exceeded');
    expect((await hold(f1, d.listingId, 1)).statusCode).toBe(201); // 5 of 10: at the cap
    expect((await hold(f2, d.listingId, 5)).statusCode).toBe(201); // another forwarder is not affected
    expect(await activeHolds(env.db, d.departureId)).toMatchObject({ n: 3, teu: 10 });
    expect(await departureState(env.db, d.departureId)).toMatchObject({ held_teu: 10, held_tonnes: 100 });

    // a confirmed hold is a booking, not a hold: it no longer counts against the held share
    const mine = await env.db.selectFrom('holds').select('id').where('departure_id', '=', d.departureId).where('org_id', '=', f1.me.org.id).execute();
    for (const h of mine) expect((await as(built.app, f1)({ method: 'POST', url: `/api/holds/${h.id}/confirm`, payload: {} })).statusCode).toBe(201);
  });

  it('a small departure can still be held: the cap is at least 1 TEU', async () => {
    const d = await departure({ capacityTeu: 1, capacityTonnes: 30 });
    expect((await hold(f1, d.listingId, 1)).statusCode).toBe(201);
  });

  it('tonnes must be at least 1 per TEU on holds (400 invalid_quantity, nothing changes) and on new departures', async () => {
    const d = await departure();
    const before = await tableCounts(env.db);
    for (const body of [
      { teu: 2, tonnes: 0 },
      { teu: 5, tonnes: 4 },
    ]) {
      const r = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, ...body } });
      expect(r.statusCode).toBe(400);
      expectErrorShape(r.json());
      expect(r.json().error.code).toBe('invalid_quantity');
      const idem = await as(built.app, f1)({ method: 'POST', url: '/api/holds', headers: { 'idempotency-key': `t-${body.tonnes}` }, payload: { listingId: d.listingId, ...body } });
      expect(idem.statusCode).toBe(400);
    }
    expect(await tableCounts(env.db)).toEqual(before);
    expect((await hold(f1, d.listingId, 2, 2)).statusCode).toBe(201); // exactly 1 t per TEU is fine

    const corridor = await env.db.selectFrom('corridors').select('id').executeTakeFirstOrThrow();
    const t = Date.now() + 3 * 86_400_000;
    const dep = await as(built.app, op1)({
      method: 'POST',
      url: '/api/departures',
      payload: {
        corridorId: corridor.id, departsAt: new Date(t).toISOString(), arrivesAt: new Date(t + 86_400_000).toISOString(),
        cutoffAt: new Date(t - 3_600_000).toISOString(), capacityTeu: 80, capacityTonnes: 79, assetName: 'Feather Shuttle',
      },
    });
    expect(dep.statusCode).toBe(400);
    expect(dep.json().error.code).toBe('invalid_capacity');
  });

  it('the database refuses a batch item below 1 t per TEU too (cx_place_holds_multi)', async () => {
    const d = await departure();
    const items = [{ listingId: d.listingId, teu: 3, tonnes: 2, unitPriceCents: 50_000, expiresAt: new Date(Date.now() + 600_000).toISOString(), orgId: f1.me.org.id, userId: '', apiKeyId: '' }];
    const r = await sql<{ r: { r: { results: { status: string }[] } }[] }>`select cx_place_holds_multi(${JSON.stringify([{ departureId: d.departureId, items }])}::jsonb, now()) as r`.execute(env.db);
    expect(r.rows[0]!.r[0]!.r.results).toEqual([{ status: 'invalid_quantity' }]);
    expect(await activeHolds(env.db, d.departureId)).toMatchObject({ n: 0 });
  });

  it("a hold's expiry is set by the database clock at commit + the TTL, not by the caller's clock", async () => {
    const d = await departure();
    const callerNow = new Date(Date.now() - 3_600_000); // a caller whose clock is an hour behind
    const item = { listingId: d.listingId, teu: 1, tonnes: 10, unitPriceCents: 50_000, expiresAt: new Date(callerNow.getTime() + 600_000).toISOString(), orgId: f1.me.org.id, userId: '', apiKeyId: '' };
    const call = (ttl: number | null) =>
      sql<{ r: { r: { results: { status: string; id: string; expiresAt: string }[] } }[]; db_now: Date }>`select cx_place_holds_multi(${JSON.stringify([{ departureId: d.departureId, items: [item] }])}::jsonb, ${callerNow}, ${ttl}::bigint, 100) as r, clock_timestamp() as db_now`.execute(env.db);
    for (const [ttl, want] of [[null, 600_000], [120_000, 120_000]] as const) {
      const res = await call(ttl);
      const out = res.rows[0]!.r[0]!.r.results[0]!;
      expect(out.status).toBe('ok');
      const row = await env.db.selectFrom('holds').select('expires_at').where('id', '=', out.id).executeTakeFirstOrThrow();
      expect(new Date(out.expiresAt).getTime()).toBe(row.expires_at.getTime());
      const dbNow = res.rows[0]!.db_now.getTime();
      expect(Math.abs(row.expires_at.getTime() - (dbNow + want))).toBeLessThan(5_000);
    }
  });

  it('a hold on a listing cancelled a moment ago cannot be confirmed (409 listing_closed), and no booking appears', async () => {
    const d = await departure();
    const h = await hold(f1, d.listingId, 2);
    expect(h.statusCode).toBe(201);
    // the cancel has committed; its holds are released just after — confirm lands in between
    await env.db.updateTable('listings').set({ status: 'cancelled' }).where('id', '=', d.listingId).execute();
    const c = await as(built.app, f1)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} });
    expect(c.statusCode).toBe(409);
    expectErrorShape(c.json());
    expect(c.json().error.code).toBe('listing_closed');
    expect(await env.db.selectFrom('bookings').select('id').where('departure_id', '=', d.departureId).execute()).toEqual([]);
    expect(await departureState(env.db, d.departureId)).toMatchObject({ held_teu: 2, booked_teu: 0 });
    // someone else's hold id still answers 404, not the listing's state
    expect((await as(built.app, f2)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} })).statusCode).toBe(404);
  });

  it('a 0-cent fixed listing or a falling floor of 0 is refused (400 price_too_low)', async () => {
    const d = await departure({ listedTeu: 2 });
    const before = await tableCounts(env.db);
    for (const payload of [
      { departureId: d.departureId, format: 'fixed', teu: 1, unitPriceCents: 0 },
      { departureId: d.departureId, format: 'falling', teu: 1, unitPriceCents: 5000, floorPriceCents: 0 },
      { departureId: d.departureId, format: 'falling', teu: 1, unitPriceCents: 5000, reservePriceCents: 0 },
    ]) {
      const r = await as(built.app, op1)({ method: 'POST', url: '/api/listings', payload });
      expect(r.statusCode).toBe(400);
      expectErrorShape(r.json());
      expect(r.json().error.code).toBe('price_too_low');
    }
    expect(await tableCounts(env.db)).toEqual(before);
    expect((await as(built.app, op1)({ method: 'POST', url: '/api/listings', payload: { departureId: d.departureId, format: 'fixed', teu: 1, unitPriceCents: 1 } })).statusCode).toBe(201);
  });
});
