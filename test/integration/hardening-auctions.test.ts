import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../server/adapters/db/db.ts';
import type { LiveEvent } from '../../server/adapters/realtime/events.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, departureState } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

/** A sealed or ascending auction on a fresh departure of `operatorOrgId` (10 TEU / 200 t unless told), in the database. */
async function createAuction(db: Db, operatorOrgId: string, o: { teu: number; capacityTeu?: number; closesInMs?: number; format?: 'sealed' | 'ascending' }) {
  const corridor = await db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
  const cutoff = new Date(Date.now() + 2 * 86_400_000);
  const cap = o.capacityTeu ?? 10;
  const d = await db
    .insertInto('departures')
    .values({
      corridor_id: corridor.id, operator_org_id: operatorOrgId, asset_name: 'Hardening Shuttle', departs_at: new Date(cutoff.getTime() + 3_600_000),
      arrives_at: new Date(cutoff.getTime() + 30 * 3_600_000), cutoff_at: cutoff, capacity_teu: cap, capacity_tonnes: cap * 20,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const l = await db
    .insertInto('listings')
    .values({
      departure_id: d.id, format: o.format ?? 'sealed', teu: o.teu, remaining_teu: o.teu, reserve_price_cents: 1000, min_increment_cents: 100,
      opens_at: new Date(Date.now() - 1000), closes_at: new Date(Date.now() + (o.closesInMs ?? 3_600_000)), max_close_at: cutoff,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { departureId: d.id, listingId: l.id };
}

const overdue = (db: Db, listingId: string) =>
  db.updateTable('listings').set({ closes_at: sql`now() - interval '1 second'` }).where('id', '=', listingId).execute();

/** Test-only fault injection: makes one row's update (or insert) fail inside its transaction. */
async function failRow(db: Db, name: string, table: string, when: 'update' | 'insert', condition: string) {
  await sql.raw(`create function ${name}() returns trigger language plpgsql as $$ begin raise exception 'injected fault ${name}'; end $$`).execute(db);
  await sql.raw(`create trigger ${name} before ${when} on ${table} for each row when (${condition}) execute function ${name}()`).execute(db);
}

describe('hardening: auctions always close, sweeps isolate failures, cancellation rules', () => {
  let env: TestEnv;
  let built: App;
  let f: Session[];
  let op1: Session;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    f = await Promise.all([1, 2, 3].map((i) => signIn(built.app, `forwarder${i}@demo.test`)));
    op1 = await signIn(built.app, 'operator1@demo.test');
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await built.app.close();
    await env.cleanup();
  });

  const bid = (s: Session, listingId: string, teu: number, unitPriceCents: number, allOrNothing = false) =>
    as(built.app, s)({ method: 'POST', url: `/api/listings/${listingId}/bids`, payload: { teu, unitPriceCents, allOrNothing } });

  it('an award the departure cannot honour in full awards what fits in rank order; the others lose and are told', async () => {
    const a = await createAuction(env.db, op1.me.org.id, { teu: 5 });
    expect((await bid(f[0]!, a.listingId, 3, 30_000)).statusCode).toBe(201);
    expect((await bid(f[1]!, a.listingId, 3, 20_000)).statusCode).toBe(201); // partial fill accepted
    expect((await bid(f[2]!, a.listingId, 2, 10_000, true)).statusCode).toBe(201); // all or nothing
    // capacity taken under the old accounting (before listings_promise_guard): only 3 TEU are left
    await env.db.updateTable('departures').set({ booked_teu: 7, booked_tonnes: 140 }).where('id', '=', a.departureId).execute();
    await overdue(env.db, a.listingId);

    const emitted: LiveEvent[] = [];
    const sink = built.ctx.events;
    const spy = vi.spyOn(sink, 'emit').mockImplementation(async (e) => void emitted.push(...e));
    const r = await built.ctx.services.auctions.close(a.listingId); // before the fix: throws on every retry
    spy.mockRestore();
    expect(r).toMatchObject({ done: true, awardedTeu: 3, clearingPriceCents: 30_000, shortfallTeu: 2 });

    const l = await env.db.selectFrom('listings').select(['status', 'awarded_teu', 'remaining_teu']).where('id', '=', a.listingId).executeTakeFirstOrThrow();
    expect(l).toEqual({ status: 'closed', awarded_teu: 3, remaining_teu: 0 });
    const bids = await env.db.selectFrom('bids').select(['org_id', 'status', 'awarded_teu']).where('listing_id', '=', a.listingId).orderBy('seq').execute();
    expect(bids).toEqual([
      { org_id: f[0]!.me.org.id, status: 'won', awarded_teu: 3 },
      { org_id: f[1]!.me.org.id, status: 'lost', awarded_teu: 0 },
      { org_id: f[2]!.me.org.id, status: 'lost', awarded_teu: 0 },
    ]);
    const bookings = await env.db.selectFrom('bookings').select(['forwarder_org_id', 'teu', 'tonnes', 'unit_price_cents']).where('listing_id', '=', a.listingId).execute();
    expect(bookings).toEqual([{ forwarder_org_id: f[0]!.me.org.id, teu: 3, tonnes: 60, unit_price_cents: 30_000 }]);
    expect(await departureState(env.db, a.departureId)).toMatchObject({ booked_teu: 10, booked_tonnes: 200 });

    // everyone who bid is told, the losers with won: false; watchers see the award and the shortfall
    const results = emitted.filter((e) => e.event === 'auction:result');
    for (const s of f.slice(1)) {
      expect(results.find((e) => e.rooms.includes(`org:${s.me.org.id}`))?.payload).toMatchObject({ won: false, awardedTeu: 0, shortfallTeu: 2 });
    }
    expect(results.find((e) => e.rooms.includes(`org:${f[0]!.me.org.id}`))?.payload).toMatchObject({ won: true, awardedTeu: 3 });
    expect(emitted.find((e) => e.event === 'listing:closed')?.payload).toMatchObject({ awardedTeu: 3, shortfallTeu: 2 });
    expect(await built.ctx.services.auctions.close(a.listingId)).toMatchObject({ done: false, reason: 'already_closed' });
  });

  it('nothing fits at all: the auction still closes, every bid loses, nothing is booked', async () => {
    const a = await createAuction(env.db, op1.me.org.id, { teu: 4 });
    expect((await bid(f[0]!, a.listingId, 2, 5_000)).statusCode).toBe(201);
    await env.db.updateTable('departures').set({ booked_teu: 10, booked_tonnes: 150 }).where('id', '=', a.departureId).execute();
    await overdue(env.db, a.listingId);
    expect(await built.ctx.services.auctions.close(a.listingId)).toMatchObject({ done: true, awardedTeu: 0, shortfallTeu: 4 });
    expect(await env.db.selectFrom('bids').select('status').where('listing_id', '=', a.listingId).execute()).toEqual([{ status: 'lost' }]);
  });

  it('auctions.sweep closes every other overdue auction when one fails, and backs off the failing one', async () => {
    const bad = await createAuction(env.db, op1.me.org.id, { teu: 2 });
    const good = await createAuction(env.db, op1.me.org.id, { teu: 2 });
    expect((await bid(f[0]!, good.listingId, 1, 5_000)).statusCode).toBe(201);
    await overdue(env.db, bad.listingId);
    await overdue(env.db, good.listingId);
    await failRow(env.db, 'fail_close', 'listings', 'update', `old.id = '${bad.listingId}' and new.status = 'closed'`);
    const errors: string[] = [];
    const r = await built.ctx.services.auctions.sweepDue({ error: (m) => errors.push(m) });
    expect(r.failed).toBe(1);
    expect(r.closed).toBeGreaterThanOrEqual(1);
    expect(errors.join()).toContain(bad.listingId);
    const status = async (id: string) => (await env.db.selectFrom('listings').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
    expect(await status(good.listingId)).toBe('closed');
    expect(await status(bad.listingId)).toBe('open');
    // backing off: the next sweep does not pick it again at once
    expect(await built.ctx.services.auctions.sweepDue({ error: (m) => errors.push(m) })).toEqual({ closed: 0, failed: 0 });
    await sql`drop trigger fail_close on listings`.execute(env.db);
    expect((await built.ctx.services.auctions.close(bad.listingId)).done).toBe(true);
  });

  it('holds.sweep expires every other due hold when one fails', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400 });
    const ids: string[] = [];
    for (const s of f) {
      const h = await as(built.app, s)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 1, tonnes: 10 } });
      expect(h.statusCode).toBe(201);
      ids.push(h.json().id);
    }
    await env.db.updateTable('holds').set({ expires_at: sql`now() - interval '1 minute'` }).where('id', 'in', ids).execute();
    await failRow(env.db, 'fail_expire', 'holds', 'update', `old.id = '${ids[1]}'`);
    const r = await built.ctx.services.holds.sweepExpiredDetailed(new Date(), { error: () => {} });
    expect(r).toEqual({ expired: 2, failed: 1 });
    const rows = await env.db.selectFrom('holds').select(['id', 'status']).where('id', 'in', ids).execute();
    expect(Object.fromEntries(rows.map((h) => [h.id, h.status]))).toEqual({ [ids[0]!]: 'expired', [ids[1]!]: 'active', [ids[2]!]: 'expired' });
    expect(await built.ctx.services.holds.sweepExpiredDetailed(new Date(), { error: () => {} })).toEqual({ expired: 0, failed: 0 });
    await sql`drop trigger fail_expire on holds`.execute(env.db);
    expect(await built.ctx.services.holds.end(ids[1]!, 'expired', null)).not.toBeNull();
  });

  it('an operator cannot cancel an auction once it has bids (409 auction_has_bids) or after its close (409 auction_closed)', async () => {
    const withBids = await createAuction(env.db, op1.me.org.id, { teu: 2 });
    expect((await bid(f[0]!, withBids.listingId, 1, 5_000)).statusCode).toBe(201);
    const r1 = await as(built.app, op1)({ method: 'DELETE', url: `/api/listings/${withBids.listingId}` });
    expect(r1.statusCode).toBe(409);
    expectErrorShape(r1.json());
    expect(r1.json().error.code).toBe('auction_has_bids');

    // past closesAt by the database clock, not yet swept (no bids, so only the clock refuses)
    const late = await createAuction(env.db, op1.me.org.id, { teu: 2 });
    await overdue(env.db, late.listingId);
    const r2 = await as(built.app, op1)({ method: 'DELETE', url: `/api/listings/${late.listingId}` });
    expect(r2.statusCode).toBe(409);
    expect(r2.json().error.code).toBe('auction_closed');

    for (const id of [withBids.listingId, late.listingId]) {
      expect((await env.db.selectFrom('listings').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('open');
    }
    // before its close and without bids an auction may still be withdrawn
    const quiet = await createAuction(env.db, op1.me.org.id, { teu: 2, format: 'ascending' });
    const r3 = await as(built.app, op1)({ method: 'DELETE', url: `/api/listings/${quiet.listingId}` });
    expect(r3.statusCode).toBe(200);
    expect(r3.json().status).toBe('cancelled');
    // tidy: close the overdue auctions so that nothing is left for other sweeps
    for (const id of [withBids.listingId, late.listingId]) {
      await overdue(env.db, id);
      expect((await built.ctx.services.auctions.close(id)).done).toBe(true);
    }
  });
});
