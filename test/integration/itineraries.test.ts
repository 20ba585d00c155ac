import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvailabilityCache } from '../../server/adapters/redis/availability.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, departureState } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

/**
 * Issue 12 item 3 — itineraries: a chain of legs held in ONE transaction (all or nothing), confirmed, released
 * and cancelled as one thing, expiring together. The cross-process race is in itineraries-race.test.ts.
 */

const DAY = 86_400_000;
type Leg = Awaited<ReturnType<typeof createDepartureWithListing>>;

/** London → Lille → Duisburg → Bologna by rail, each leg's cut-off two days after the previous one (connections of ~18 h). */
const CHAIN = ['GBLHR-FRLIL-rail', 'FRLIL-DEDUI-rail', 'DEDUI-ITBLQ-rail'];

describe('itineraries: hold every leg or none, confirm, release, cancel, expire together', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let op1: Session;
  let sched: Session;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000 } });
    built = await buildApp(env.cfg);
    [f1, f2, op1, sched] = await Promise.all([signIn(built.app, 'forwarder1@demo.test'), signIn(built.app, 'forwarder2@demo.test'), signIn(built.app, 'operator1@demo.test'), signIn(built.app, 'scheduler@demo.test')]);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  /** A fresh chain of departures, one fixed listing each (capacities per leg, default 100 TEU / 2000 t). */
  async function chain(o: { capacities?: number[]; corridors?: string[]; listed?: (number | undefined)[]; price?: number } = {}): Promise<Leg[]> {
    const corridors = o.corridors ?? CHAIN;
    const legs: Leg[] = [];
    for (const [i, corridorCode] of corridors.entries()) {
      const cap = o.capacities?.[i] ?? 100;
      legs.push(await createDepartureWithListing(env.db, {
        corridorCode, capacityTeu: cap, capacityTonnes: cap * 20, cutoffInMs: (2 + 2 * i) * DAY, unitPriceCents: (o.price ?? 40_000) + i * 1_000,
        ...(o.listed?.[i] !== undefined ? { listedTeu: o.listed[i] } : {}),
      }));
    }
    return legs;
  }
  const post = (s: Session | null, legs: { listingId: string }[], teu = 2, tonnes = 20, headers: Record<string, string> = {}) =>
    as(built.app, s)({ method: 'POST', url: '/api/itineraries', payload: { legs, teu, tonnes }, headers });
  const legsOf = (c: Leg[]) => c.map((l) => ({ listingId: l.listingId }));
  const holdsOn = async (departureIds: string[]) =>
    env.db.selectFrom('holds').select(['id', 'status', 'itinerary_id', 'leg_index', 'teu', 'expires_at', 'departure_id']).where('departure_id', 'in', departureIds).execute();
  /** Nothing held, nothing booked on any leg, every listing back to what it offered, and Redis agrees. */
  async function expectUntouched(c: Leg[]) {
    for (const l of c) {
      const d = await departureState(env.db, l.departureId);
      expect({ held: d.held_teu, booked: d.booked_teu, heldT: d.held_tonnes }).toEqual({ held: 0, booked: 0, heldT: 0 });
      const listing = await env.db.selectFrom('listings').select(['teu', 'remaining_teu']).where('id', '=', l.listingId).executeTakeFirstOrThrow();
      expect(listing.remaining_teu).toBe(listing.teu);
      const snap = await new AvailabilityCache(env.redis, env.db, env.cfg.redisPrefix).snapshot(l.corridorId, l.departureId);
      expect(Number(snap.pend_teu ?? 0)).toBe(0);
      expect(Number(snap.used_teu ?? 0)).toBe(0);
    }
    expect(await holdsOn(c.map((l) => l.departureId))).toEqual([]);
  }

  it('happy path: hold 3 legs (one expiry) → confirm (bookings linked, settled per leg) → cancel with each leg\'s fee, shown before', async () => {
    const c = await chain();
    const res = await post(f1, legsOf(c), 2, 30);
    expect(res.statusCode, res.body).toBe(201);
    const it0 = res.json();
    expect(it0).toMatchObject({ status: 'held', teu: 2, tonnes: 30, legs: [{ legIndex: 0, state: 'held' }, { legIndex: 1 }, { legIndex: 2 }] });
    expect(it0.holds).toHaveLength(3);
    expect(new Set(it0.holds.map((h: { expiresAt: string }) => h.expiresAt))).toEqual(new Set([it0.expiresAt]));
    expect(it0.legsCents).toBe((40_000 + 41_000 + 42_000) * 2);
    expect(it0.transfers.map((t: { at: string }) => t.at)).toEqual(['FRLIL', 'DEDUI']);
    expect(it0.handlingCents).toBe(it0.transfers.reduce((s: number, t: { handlingCents: number }) => s + t.handlingCents, 0));
    expect(it0.totalCents).toBe(it0.legsCents + it0.handlingCents);
    expect(it0.legs.map((l: { origin: string }) => l.origin)).toEqual(['GBLHR', 'FRLIL', 'DEDUI']);

    const rows = await holdsOn(c.map((l) => l.departureId));
    expect(rows.map((h) => [h.departure_id, h.status, h.itinerary_id, h.leg_index, h.teu])).toEqual(
      expect.arrayContaining(c.map((l, i) => [l.departureId, 'active', it0.id, i, 2])),
    );
    expect(new Set(rows.map((h) => h.expires_at.getTime())).size).toBe(1);
    for (const l of c) expect((await departureState(env.db, l.departureId)).held_teu).toBe(2);

    // a leg cannot be confirmed or released on its own
    for (const [method, url] of [['POST', `/api/holds/${it0.holds[1].id}/confirm`], ['DELETE', `/api/holds/${it0.holds[1].id}`]] as const) {
      const r = await as(built.app, f1)({ method, url, ...(method === 'POST' ? { payload: {} } : {}) });
      expect(r.statusCode, `${method} ${url}`).toBe(409);
      expect(r.json().error).toMatchObject({ code: 'part_of_itinerary', itineraryId: it0.id });
    }
    // …and the other forwarder still gets 404 for them
    expect((await as(built.app, f2)({ method: 'DELETE', url: `/api/holds/${it0.holds[1].id}` })).statusCode).toBe(404);

    const list = (await as(built.app, f1)({ method: 'GET', url: '/api/itineraries' })).json() as { id: string }[];
    expect(list.map((x) => x.id)).toContain(it0.id);

    const conf = await as(built.app, f1)({ method: 'POST', url: `/api/itineraries/${it0.id}/confirm`, payload: { reference: 'PO-ITIN-1' } });
    expect(conf.statusCode, conf.body).toBe(201);
    const it1 = conf.json();
    expect(it1).toMatchObject({ id: it0.id, status: 'confirmed', reference: 'PO-ITIN-1' });
    expect(it1.bookings).toHaveLength(3);
    expect(it1.legs.map((l: { state: string }) => l.state)).toEqual(['booked', 'booked', 'booked']);
    const bookings = await env.db.selectFrom('bookings').selectAll().where('itinerary_id', '=', it0.id).orderBy('leg_index').execute();
    expect(bookings.map((b) => [b.leg_index, b.listing_id, b.teu, b.tonnes, b.reference, b.status])).toEqual(
      c.map((l, i) => [i, l.listingId, 2, 30, 'PO-ITIN-1', 'confirmed']),
    );
    for (const l of c) expect(await departureState(env.db, l.departureId)).toMatchObject({ held_teu: 0, booked_teu: 2, booked_tonnes: 30 });
    // confirming twice: the itinerary is no longer held
    const again = await as(built.app, f1)({ method: 'POST', url: `/api/itineraries/${it0.id}/confirm`, payload: {} });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('itinerary_not_held');
    // a leg's booking cannot be cancelled on its own; it shows in the bookings list
    const one = await as(built.app, f1)({ method: 'DELETE', url: `/api/bookings/${bookings[0]!.id}` });
    expect(one.statusCode).toBe(409);
    expect(one.json().error.code).toBe('part_of_itinerary');
    const mine = (await as(built.app, f1)({ method: 'GET', url: '/api/bookings' })).json() as { id: string }[];
    expect(mine.map((b) => b.id)).toEqual(expect.arrayContaining(bookings.map((b) => b.id)));

    // settlement and invoices per leg, as for any booking (each operator invoices its own leg)
    for (const b of bookings) expect((await built.ctx.services.ledger.settleBooking(b.id)).invoiceId).toBeTruthy();

    // the fee each leg would cost, shown before; the default rule keeps 50 % within 7 days of departure
    const shown = (await as(built.app, f1)({ method: 'GET', url: `/api/itineraries/${it0.id}` })).json();
    expect(shown.legs.map((l: { cancellation: { percent: number } }) => l.cancellation.percent)).toEqual([50, 50, 50]);
    expect(shown.cancellationFeeCents).toBe(shown.legs.reduce((s: number, l: { cancellation: { feeCents: number } }) => s + l.cancellation.feeCents, 0));
    expect(shown.cancellationFeeCents).toBe(Math.round(it0.legsCents / 2));

    const del = await as(built.app, f1)({ method: 'DELETE', url: `/api/itineraries/${it0.id}` });
    expect(del.statusCode, del.body).toBe(200);
    const it2 = del.json();
    expect(it2).toMatchObject({ status: 'cancelled', cancellationFeeCents: shown.cancellationFeeCents });
    expect(it2.bookings.map((b: { status: string; cancellationFeeCents: number }) => [b.status, b.cancellationFeeCents])).toEqual(
      shown.legs.map((l: { cancellation: { feeCents: number } }) => ['cancelled', l.cancellation.feeCents]),
    );
    for (const b of bookings) await built.ctx.services.ledger.refundBooking(b.id);
    for (const l of c) expect(await departureState(env.db, l.departureId)).toMatchObject({ held_teu: 0, booked_teu: 0 });
    for (const l of c) {
      const listing = await env.db.selectFrom('listings').select(['teu', 'remaining_teu']).where('id', '=', l.listingId).executeTakeFirstOrThrow();
      expect(listing.remaining_teu).toBe(listing.teu);
    }
    const twice = await as(built.app, f1)({ method: 'DELETE', url: `/api/itineraries/${it0.id}` });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('itinerary_not_active');
  });

  it('release: DELETE of a held itinerary ends every leg (204); confirm afterwards is refused', async () => {
    const c = await chain();
    const it0 = (await post(f1, legsOf(c))).json();
    const del = await as(built.app, f1)({ method: 'DELETE', url: `/api/itineraries/${it0.id}` });
    expect(del.statusCode).toBe(204);
    expect((await holdsOn(c.map((l) => l.departureId))).map((h) => h.status)).toEqual(['released', 'released', 'released']);
    for (const l of c) expect((await departureState(env.db, l.departureId)).held_teu).toBe(0);
    const got = (await as(built.app, f1)({ method: 'GET', url: `/api/itineraries/${it0.id}` })).json();
    expect(got).toMatchObject({ status: 'released', legs: [{ state: 'released' }, { state: 'released' }, { state: 'released' }] });
    const conf = await as(built.app, f1)({ method: 'POST', url: `/api/itineraries/${it0.id}/confirm`, payload: {} });
    expect(conf.statusCode).toBe(409);
    expect(conf.json().error.code).toBe('itinerary_not_held');
  });

  it('one leg refused by Postgres inside the transaction (held share) → nothing held on any leg, the leg named', async () => {
    // leg 1 (of 3) sells 10 TEU: one organisation may hold 5 at once (HOLD_MAX_SHARE_PCT 50). The chain check
    // and Redis admit 6 TEU; cx_place_holds_multi refuses leg 1 after placing the others — all rolled back.
    const c = await chain({ capacities: [100, 10, 100] });
    const before = await env.db.selectFrom('itineraries').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    const res = await post(f1, legsOf(c), 6, 60);
    expect(res.statusCode, res.body).toBe(409);
    expectErrorShape(res.json());
    expect(res.json().error).toMatchObject({ code: 'hold_share_exceeded', legIndex: 1 });
    await expectUntouched(c);
    const after = await env.db.selectFrom('itineraries').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
    // the same chain at 5 TEU is held on every leg
    expect((await post(f1, legsOf(c), 5, 50)).statusCode).toBe(201);
  });

  it('one leg without the capacity (checked before anything is held) → 409 insufficient_capacity naming it, nothing held', async () => {
    const c = await chain({ capacities: [100, 100, 100], listed: [undefined, undefined, 1] });
    const res = await post(f1, legsOf(c), 2, 20);
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'insufficient_capacity', legIndex: 2 });
    await expectUntouched(c);
  });

  it('bad input answers 400 in the API shape (an unknown listing 404, an auction leg 409), naming the leg, and changes nothing', async () => {
    const c = await chain();
    // a sealed auction on a departure of its own (half its capacity listed fixed, half sealed)
    const dep = await createDepartureWithListing(env.db, { corridorCode: CHAIN[0]!, capacityTeu: 10, capacityTonnes: 200, listedTeu: 5 });
    const auction = await env.db
      .insertInto('listings')
      .values({ departure_id: dep.departureId, format: 'sealed', teu: 5, remaining_teu: 5, reserve_price_cents: 10_000, closes_at: new Date(Date.now() + DAY) })
      .returning('id')
      .executeTakeFirstOrThrow();
    const counts = await tableCounts(env.db);
    const cases: [string, unknown, number, string, number?][] = [
      ['0 TEU', { legs: legsOf(c), teu: 0, tonnes: 10 }, 400, 'invalid_input'],
      ['50 legs', { legs: Array.from({ length: 50 }, () => ({ listingId: randomUUID() })), teu: 1, tonnes: 10 }, 400, 'invalid_input'],
      ['no legs', { legs: [], teu: 1, tonnes: 10 }, 400, 'invalid_input'],
      ['duplicate listing', { legs: [legsOf(c)[0], legsOf(c)[1], legsOf(c)[1]], teu: 1, tonnes: 10 }, 400, 'duplicate_leg', 2],
      ['not connected', { legs: [legsOf(c)[0], legsOf(c)[2]], teu: 1, tonnes: 10 }, 400, 'not_connected', 1],
      ['reversed', { legs: [legsOf(c)[1], legsOf(c)[0]], teu: 1, tonnes: 10 }, 400, 'not_connected', 1],
      ['garbage id', { legs: [{ listingId: 'not-a-uuid' }], teu: 1, tonnes: 10 }, 400, 'invalid_input'],
      ['extra field', { legs: legsOf(c), teu: 1, tonnes: 10, totalCents: 1 }, 400, 'invalid_input'],
      ['leg with extra field', { legs: [{ listingId: c[0]!.listingId, teu: 99 }], teu: 1, tonnes: 10 }, 400, 'invalid_input'],
      ['tonnes below 1 per TEU', { legs: legsOf(c), teu: 5, tonnes: 4 }, 400, 'invalid_quantity'],
      ['unknown listing', { legs: [legsOf(c)[0], { listingId: randomUUID() }], teu: 1, tonnes: 10 }, 404, 'not_found', 1],
      ['auction leg', { legs: [legsOf(c)[0], { listingId: auction.id }], teu: 1, tonnes: 10 }, 409, 'wrong_format', 1],
    ];
    for (const [what, payload, status, code, legIndex] of cases) {
      const r = await as(built.app, f1)({ method: 'POST', url: '/api/itineraries', payload: payload as object });
      expect(r.statusCode, `${what}: ${r.body}`).toBe(status);
      expectErrorShape(r.json());
      expect(r.json().error.code, what).toBe(code);
      if (legIndex !== undefined) expect(r.json().error.legIndex, what).toBe(legIndex);
    }
    for (const [url, method] of [['/api/itineraries/not-a-uuid', 'GET'], ['/api/itineraries/not-a-uuid/confirm', 'POST'], ['/api/itineraries/123', 'DELETE']] as const) {
      const r = await as(built.app, f1)({ method, url, ...(method === 'POST' ? { payload: {} } : {}) });
      expect(r.statusCode, url).toBe(400);
      expectErrorShape(r.json());
    }
    const { audit_log: _a, ...rest } = await tableCounts(env.db);
    const { audit_log: _b, ...restBefore } = counts;
    expect(rest).toEqual(restBefore);
  });

  it("access: forwarders and their API keys only; another forwarder's itinerary is 404", async () => {
    const c = await chain();
    const { key } = (await as(built.app, f1)({ method: 'POST', url: '/api/api-keys', payload: { name: 'itinerary bot', role: 'member' } })).json();
    const bearer = { authorization: `Bearer ${key}` };
    const byKey = await built.app.inject({ method: 'POST', url: '/api/itineraries', headers: bearer, payload: { legs: legsOf(c), teu: 1, tonnes: 10 } });
    expect(byKey.statusCode, byKey.body).toBe(201);
    const id = byKey.json().id;
    expect((await built.app.inject({ method: 'GET', url: `/api/itineraries/${id}`, headers: bearer })).statusCode).toBe(200);
    expect((await as(built.app, f1)({ method: 'GET', url: `/api/itineraries/${id}` })).statusCode).toBe(200); // the organisation's, not the key's

    for (const [method, url] of [['GET', `/api/itineraries/${id}`], ['POST', `/api/itineraries/${id}/confirm`], ['DELETE', `/api/itineraries/${id}`]] as const) {
      const r = await as(built.app, f2)({ method, url, ...(method === 'POST' ? { payload: {} } : {}) });
      expect(r.statusCode, `f2 ${method} ${url}`).toBe(404);
      expectErrorShape(r.json());
    }
    expect(((await as(built.app, f2)({ method: 'GET', url: '/api/itineraries' })).json() as { id: string }[]).map((x) => x.id)).not.toContain(id);
    for (const s of [op1, sched]) {
      expect((await post(s, legsOf(c))).statusCode).toBe(403);
      expect((await as(built.app, s)({ method: 'GET', url: '/api/itineraries' })).statusCode).toBe(403);
      expect((await as(built.app, s)({ method: 'GET', url: `/api/itineraries/${id}` })).statusCode).toBe(403);
      expect((await as(built.app, s)({ method: 'DELETE', url: `/api/itineraries/${id}` })).statusCode).toBe(403);
    }
    expect((await post(null, legsOf(c))).statusCode).toBe(401);
    expect((await as(built.app, null)({ method: 'GET', url: '/api/itineraries' })).statusCode).toBe(401);
    // nothing of that changed the itinerary
    expect((await as(built.app, f1)({ method: 'GET', url: `/api/itineraries/${id}` })).json()).toMatchObject({ status: 'held', holds: [{ status: 'active' }, { status: 'active' }, { status: 'active' }] });
  });

  it('Idempotency-Key: a retried POST replays the first itinerary and holds nothing more', async () => {
    const c = await chain();
    const headers = { 'idempotency-key': `itin-${randomUUID()}` };
    const [a, b] = await Promise.all([post(f1, legsOf(c), 1, 10, headers), post(f1, legsOf(c), 1, 10, headers)]);
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().id).toBe(b.json().id);
    for (const l of c) expect((await departureState(env.db, l.departureId)).held_teu).toBe(1);
    const other = await post(f1, legsOf(c), 2, 20, headers);
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('idempotency_key_reused');
  });

  it('the holds of an itinerary expire together: one leg\'s expiry (job or sweep) ends every leg and the itinerary', async () => {
    const c = await chain();
    const it0 = (await post(f1, legsOf(c))).json();
    const { holds } = built.ctx.services;
    // the hold.expire job of one leg, before its time: nothing happens
    expect(await holds.end(it0.holds[2].id, 'expired', null, new Date())).toBeNull();
    expect((await holdsOn(c.map((l) => l.departureId))).every((h) => h.status === 'active')).toBe(true);
    // at its time: every leg ends
    const due = new Date(Date.parse(it0.expiresAt) + 1000);
    const ended = await holds.end(it0.holds[1].id, 'expired', null, due);
    expect(ended?.hold.id).toBe(it0.holds[1].id);
    expect((await holdsOn(c.map((l) => l.departureId))).map((h) => h.status)).toEqual(['expired', 'expired', 'expired']);
    for (const l of c) expect((await departureState(env.db, l.departureId)).held_teu).toBe(0);
    // the other legs' jobs find nothing left to do
    expect(await holds.end(it0.holds[0].id, 'expired', null, due)).toBeNull();
    const got = (await as(built.app, f1)({ method: 'GET', url: `/api/itineraries/${it0.id}` })).json();
    expect(got).toMatchObject({ status: 'expired', legs: [{ state: 'expired' }, { state: 'expired' }, { state: 'expired' }] });
    const conf = await as(built.app, f1)({ method: 'POST', url: `/api/itineraries/${it0.id}/confirm`, payload: {} });
    expect(conf.statusCode).toBe(409);
    expect(conf.json().error.code).toBe('itinerary_expired');

    // the sweep (the safety net) ends a whole itinerary too, counted once per hold it was asked about
    const c2 = await chain();
    const it2 = (await post(f1, legsOf(c2))).json();
    await holds.sweepExpired(new Date(Date.parse(it2.expiresAt) + 1000));
    expect((await holdsOn(c2.map((l) => l.departureId))).map((h) => h.status)).toEqual(['expired', 'expired', 'expired']);
    expect((await as(built.app, f1)({ method: 'GET', url: `/api/itineraries/${it2.id}` })).json().status).toBe('expired');
  });

  it("a held leg's listing withdrawn by its operator ends every leg (status cancelled)", async () => {
    const c = await chain();
    const it0 = (await post(f1, legsOf(c))).json();
    const admin = await signIn(built.app, 'admin@demo.test'); // the platform may withdraw any listing (support)
    const r = await as(built.app, admin)({ method: 'DELETE', url: `/api/listings/${c[1]!.listingId}` });
    expect(r.statusCode, r.body).toBe(200);
    expect((await holdsOn(c.map((l) => l.departureId))).map((h) => h.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    for (const l of c) expect((await departureState(env.db, l.departureId)).held_teu).toBe(0);
    expect((await as(built.app, f1)({ method: 'GET', url: `/api/itineraries/${it0.id}` })).json().status).toBe('cancelled');
  });
});
