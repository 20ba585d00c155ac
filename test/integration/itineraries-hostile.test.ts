import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, departureState } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

/**
 * Issue 12 under attack (review of the itinerary booking and the route search): another forwarder's
 * itineraries and leg holds / bookings, chains that must not be held, absurd bodies, Idempotency-Key tricks,
 * state-machine abuse (twice, after release, after expiry, confirm racing DELETE) and hostile route queries.
 * Every refusal is a 4xx in the API shape, changes nothing, and the route answer shows nobody's private data.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
type Leg = Awaited<ReturnType<typeof createDepartureWithListing>>;
const CHAIN = ['GBLHR-FRLIL-rail', 'FRLIL-DEDUI-rail', 'DEDUI-ITBLQ-rail'];

describe('itineraries and route search: hostile callers', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let op1: Session;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 1_000_000 } });
    built = await buildApp(env.cfg);
    [f1, f2, op1] = await Promise.all([signIn(built.app, 'forwarder1@demo.test'), signIn(built.app, 'forwarder2@demo.test'), signIn(built.app, 'operator1@demo.test')]);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  async function chain(o: { corridors?: string[]; listed?: (number | undefined)[]; capacity?: number } = {}): Promise<Leg[]> {
    const legs: Leg[] = [];
    for (const [i, corridorCode] of (o.corridors ?? CHAIN).entries()) {
      const cap = o.capacity ?? 100;
      legs.push(await createDepartureWithListing(env.db, {
        corridorCode, capacityTeu: cap, capacityTonnes: cap * 20, cutoffInMs: (2 + 2 * i) * DAY, unitPriceCents: 40_000 + i * 1_000,
        ...(o.listed?.[i] !== undefined ? { listedTeu: o.listed[i] } : {}),
      }));
    }
    return legs;
  }
  const legsOf = (c: Leg[]) => c.map((l) => ({ listingId: l.listingId }));
  const post = (s: Session, payload: unknown, headers: Record<string, string> = {}) =>
    as(built.app, s)({ method: 'POST', url: '/api/itineraries', payload: payload as object, headers });
  const call = (s: Session, method: 'GET' | 'POST' | 'DELETE', url: string, headers: Record<string, string> = {}) =>
    as(built.app, s)({ method, url, headers, ...(method === 'POST' ? { payload: {} } : {}) });

  /** The rows a refused request must not touch (audit log and sessions aside). */
  async function fingerprint() {
    const { audit_log: _a, sessions: _s, ...rest } = await tableCounts(env.db);
    const deps = await env.db.selectFrom('departures').select(['id', 'held_teu', 'booked_teu', 'seq']).orderBy('id').execute();
    const holds = await env.db.selectFrom('holds').select(['id', 'status']).orderBy('id').execute();
    const its = await env.db.selectFrom('itineraries').select(['id', 'status']).orderBy('id').execute();
    return { rest, deps, holds, its };
  }
  function expectRefused(r: { statusCode: number; body: string; json(): unknown }, status: number | number[], code?: string) {
    const want = Array.isArray(status) ? status : [status];
    expect(want, `${r.statusCode} ${r.body}`).toContain(r.statusCode);
    expectErrorShape(r.json());
    if (code) expect((r.json() as { error: { code: string } }).error.code, r.body).toBe(code);
  }

  it("another forwarder's itinerary, leg holds and leg bookings: 404 everywhere, nothing changes", async () => {
    const c = await chain();
    const held = (await post(f1, { legs: legsOf(c), teu: 2, tonnes: 20 })).json();
    expect(held.status).toBe('held');
    const before = await fingerprint();
    const id = held.id as string;
    const holdId = held.holds[1].id as string;
    for (const [method, url] of [
      ['GET', `/api/itineraries/${id}`], ['POST', `/api/itineraries/${id}/confirm`], ['DELETE', `/api/itineraries/${id}`],
      ['POST', `/api/holds/${holdId}/confirm`], ['DELETE', `/api/holds/${holdId}`],
      // ids of another kind where an itinerary id goes
      ['GET', `/api/itineraries/${holdId}`], ['POST', `/api/itineraries/${c[0]!.listingId}/confirm`], ['DELETE', `/api/itineraries/${randomUUID()}`],
    ] as const) {
      expectRefused(await call(f2, method, url, { 'idempotency-key': `x-${randomUUID()}` }), 404);
    }
    // the owner's own leg holds cannot be used on their own either
    for (const [method, url] of [['POST', `/api/holds/${holdId}/confirm`], ['DELETE', `/api/holds/${holdId}`]] as const) {
      expectRefused(await call(f1, method, url), 409, 'part_of_itinerary');
    }
    expect(((await call(f2, 'GET', '/api/itineraries')).json() as { id: string }[]).some((x) => x.id === id)).toBe(false);
    expect(await fingerprint()).toEqual(before);

    // confirmed: the other forwarder cannot see, preview or cancel the leg bookings, nor cancel the itinerary
    const conf = await call(f1, 'POST', `/api/itineraries/${id}/confirm`);
    expect(conf.statusCode, conf.body).toBe(201);
    const bookingId = conf.json().bookings[0].id as string;
    const after = await fingerprint();
    for (const [method, url] of [
      ['GET', `/api/itineraries/${id}`], ['DELETE', `/api/itineraries/${id}`], ['DELETE', `/api/bookings/${bookingId}`],
      ['GET', `/api/bookings/${bookingId}/cancellation`],
    ] as const) {
      expectRefused(await call(f2, method, url), 404);
    }
    expectRefused(await call(f1, 'DELETE', `/api/bookings/${bookingId}`), 409, 'part_of_itinerary');
    expect(((await call(f2, 'GET', '/api/bookings')).json() as { id: string }[]).some((b) => b.id === bookingId)).toBe(false);
    expect(await fingerprint()).toEqual(after);
  });

  it('chains that must not be held, and absurd bodies: 4xx in the API shape (leg named), nothing held anywhere', async () => {
    const c = await chain();
    const good = legsOf(c);
    // an open ascending auction, a closed listing, a cancelled departure, a departure past its cut-off
    const auctionDep = await createDepartureWithListing(env.db, { corridorCode: CHAIN[1]!, capacityTeu: 40, capacityTonnes: 800, listedTeu: 20 });
    const auction = await env.db.insertInto('listings')
      .values({ departure_id: auctionDep.departureId, format: 'ascending', teu: 20, remaining_teu: 20, reserve_price_cents: 10_000, min_increment_cents: 500, closes_at: new Date(Date.now() + DAY) })
      .returning('id').executeTakeFirstOrThrow();
    const closed = await createDepartureWithListing(env.db, { corridorCode: CHAIN[1]!, capacityTeu: 40, capacityTonnes: 800, cutoffInMs: 4 * DAY });
    await env.db.updateTable('listings').set({ status: 'closed' }).where('id', '=', closed.listingId).execute();
    const cancelledDep = await createDepartureWithListing(env.db, { corridorCode: CHAIN[1]!, capacityTeu: 40, capacityTonnes: 800, cutoffInMs: 4 * DAY });
    await env.db.updateTable('departures').set({ status: 'cancelled' }).where('id', '=', cancelledDep.departureId).execute();
    const past = await createDepartureWithListing(env.db, { corridorCode: CHAIN[0]!, capacityTeu: 40, capacityTonnes: 800, cutoffInMs: -HOUR });
    // a chain that comes back through a cluster: London → Lille → Duisburg → Lille is refused, and so is
    // Duisburg → Lille → Antwerp → Duisburg → Bologna (Duisburg twice)
    const loopBack = await chain({ corridors: ['GBLHR-FRLIL-rail', 'FRLIL-DEDUI-rail', 'DEDUI-FRLIL-rail'] });
    const revisit = await chain({ corridors: ['DEDUI-FRLIL-rail', 'FRLIL-BEANR-rail', 'BEANR-DEDUI-rail', 'DEDUI-ITBLQ-rail'] });
    const home = await chain({ corridors: ['GBLHR-FRLIL-rail', 'FRLIL-GBLHR-rail'] });
    // a connection too short: the second leg's departure is before the first one arrives
    const tight = await chain({ corridors: ['GBLHR-FRLIL-rail'] });
    const tooSoon = await createDepartureWithListing(env.db, { corridorCode: 'FRLIL-DEDUI-rail', capacityTeu: 40, capacityTonnes: 800, cutoffInMs: 2 * DAY + HOUR });

    const before = await fingerprint();
    const huge = Array.from({ length: 5_000 }, () => ({ listingId: randomUUID() }));
    const cases: [string, unknown, number | number[], string?, number?][] = [
      ['auction leg', { legs: [good[0], { listingId: auction.id }], teu: 1, tonnes: 10 }, 409, 'wrong_format', 1],
      ['closed listing', { legs: [good[0], { listingId: closed.listingId }], teu: 1, tonnes: 10 }, 409, 'listing_closed', 1],
      ['cancelled departure', { legs: [good[0], { listingId: cancelledDep.listingId }], teu: 1, tonnes: 10 }, 409, 'listing_closed', 1],
      ['past cut-off', { legs: [{ listingId: past.listingId }, good[1]], teu: 1, tonnes: 10 }, 409, 'past_cutoff', 0],
      ['loops back to a cluster', { legs: legsOf(loopBack), teu: 1, tonnes: 10 }, 400, 'not_connected', 2],
      ['visits a cluster twice', { legs: legsOf(revisit), teu: 1, tonnes: 10 }, 400, 'not_connected', 2],
      ['back home', { legs: legsOf(home), teu: 1, tonnes: 10 }, 400, 'not_connected', 1],
      ['connection too short', { legs: [...legsOf(tight), { listingId: tooSoon.listingId }], teu: 1, tonnes: 10 }, 400, 'bad_connection', 1],
      ['the same leg twice', { legs: [good[0], good[0]], teu: 1, tonnes: 10 }, 400, 'duplicate_leg', 1],
      ['5,000 legs', { legs: huge, teu: 1, tonnes: 10 }, [400, 413]],
      ['6 legs', { legs: huge.slice(0, 6), teu: 1, tonnes: 10 }, 400, 'invalid_input'],
      ['more TEU than exist', { legs: good, teu: 10_000, tonnes: 200_000 }, 409, 'insufficient_capacity', 0],
      ['TEU over the schema', { legs: good, teu: 10_001, tonnes: 200_000 }, 400, 'invalid_input'],
      ['TEU 2^53', { legs: good, teu: 2 ** 53, tonnes: 2 ** 53 }, 400, 'invalid_input'],
      ['TEU 1e308', { legs: good, teu: 1e308, tonnes: 10 }, 400, 'invalid_input'],
      ['negative TEU', { legs: good, teu: -2, tonnes: 10 }, 400, 'invalid_input'],
      ['negative tonnes', { legs: good, teu: 1, tonnes: -10 }, 400, 'invalid_input'],
      ['fractional TEU', { legs: good, teu: 1.5, tonnes: 10 }, 400, 'invalid_input'],
      ['TEU as words', { legs: good, teu: 'two', tonnes: 10 }, 400, 'invalid_input'],
      ['TEU as an array', { legs: good, teu: [1, 2], tonnes: 10 }, 400, 'invalid_input'],
      ['TEU null', { legs: good, teu: null, tonnes: 10 }, 400, 'invalid_input'],
      ['tonnes as NaN text', { legs: good, teu: 1, tonnes: 'NaN' }, 400, 'invalid_input'],
      ['legs an object', { legs: { 0: good[0] }, teu: 1, tonnes: 10 }, 400, 'invalid_input'],
      ['leg a string', { legs: [c[0]!.listingId], teu: 1, tonnes: 10 }, 400, 'invalid_input'],
      ['listingId a number', { legs: [{ listingId: 12 }], teu: 1, tonnes: 10 }, 400, 'invalid_input'],
      ['legs with a price', { legs: [{ listingId: c[0]!.listingId, unitPriceCents: 1 }], teu: 1, tonnes: 10 }, 400, 'invalid_input'],
      ['__proto__', JSON.parse(`{"legs":${JSON.stringify(good)},"teu":1,"tonnes":10,"__proto__":{"teu":9}}`), 400],
      ['a string body', 'legs', [400, 415]],
      ['an array body', [good], 400],
    ];
    for (const [what, payload, status, code, legIndex] of cases) {
      const r = await post(f1, payload);
      expectRefused(r, status, code);
      if (legIndex !== undefined) {
        expect(r.json().error.legIndex, what).toBe(legIndex);
        // the leg named once, by its legIndex (was "leg 1: leg 2: …" for the chain checks)
        expect(r.json().error.message, what).toMatch(new RegExp(`^leg ${legIndex}: (?!leg \\d)`));
      }
    }
    expect(await fingerprint()).toEqual(before);
    for (const l of [...c, ...loopBack, ...revisit, ...home]) expect(await departureState(env.db, l.departureId)).toMatchObject({ held_teu: 0, booked_teu: 0 });
  });

  it('Idempotency-Key: another body, another route or another org never reuses an answer; a retry replays even once the leg is sold out', async () => {
    const c = await chain({ listed: [2, undefined, undefined] });
    const key = `itin-${randomUUID()}`;
    const first = await post(f1, { legs: legsOf(c), teu: 2, tonnes: 20 }, { 'idempotency-key': key });
    expect(first.statusCode, first.body).toBe(201);
    const before = await fingerprint();
    // the retry of the same request, after the hold took the last TEU of leg 0: the first answer again
    const retry = await post(f1, { legs: legsOf(c), teu: 2, tonnes: 20 }, { 'idempotency-key': key });
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.json().id).toBe(first.json().id);
    // another body (also: the same legs in another order, one leg less) under that key
    for (const body of [{ legs: legsOf(c), teu: 1, tonnes: 10 }, { legs: legsOf(c).slice(0, 2), teu: 2, tonnes: 20 }]) {
      expectRefused(await post(f1, body, { 'idempotency-key': key }), [409], 'idempotency_key_reused');
    }
    // the key on another route
    expectRefused(await call(f1, 'POST', `/api/itineraries/${first.json().id}/confirm`, { 'idempotency-key': key }), 409, 'idempotency_key_reused');
    expect(await fingerprint()).toEqual(before);
    // another organisation with the same key: its own request, no replay of f1's itinerary
    const c2 = await chain();
    const other = await post(f2, { legs: legsOf(c2), teu: 1, tonnes: 10 }, { 'idempotency-key': key });
    expect(other.statusCode, other.body).toBe(201);
    expect(other.json().id).not.toBe(first.json().id);
    // confirm with a key: a retry replays, without a second booking
    const ck = { 'idempotency-key': `conf-${randomUUID()}` };
    const [a, b] = await Promise.all([call(f2, 'POST', `/api/itineraries/${other.json().id}/confirm`, ck), call(f2, 'POST', `/api/itineraries/${other.json().id}/confirm`, ck)]);
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().bookings.map((x: { id: string }) => x.id)).toEqual(b.json().bookings.map((x: { id: string }) => x.id));
    expect((await env.db.selectFrom('bookings').select('id').where('itinerary_id', '=', other.json().id).execute()).length).toBe(3);
  });

  it('state machine: confirm twice, confirm after release, DELETE twice, confirm after the shared expiry (before any sweep)', async () => {
    // released, then everything again
    const c = await chain();
    const it0 = (await post(f1, { legs: legsOf(c), teu: 1, tonnes: 10 })).json();
    expect((await call(f1, 'DELETE', `/api/itineraries/${it0.id}`)).statusCode).toBe(204);
    let before = await fingerprint();
    expectRefused(await call(f1, 'DELETE', `/api/itineraries/${it0.id}`), 409, 'itinerary_not_active');
    expectRefused(await call(f1, 'POST', `/api/itineraries/${it0.id}/confirm`), 409, 'itinerary_not_held');
    expect(await fingerprint()).toEqual(before);

    // past its shared expiry but not yet ended by a job or the sweep: confirm refused, nothing booked
    const c2 = await chain();
    const it2 = (await post(f1, { legs: legsOf(c2), teu: 1, tonnes: 10 })).json();
    const past = new Date(Date.now() - 1000);
    await env.db.updateTable('itineraries').set({ expires_at: past }).where('id', '=', it2.id).execute();
    await env.db.updateTable('holds').set({ expires_at: past }).where('itinerary_id', '=', it2.id).execute();
    before = await fingerprint();
    expectRefused(await call(f1, 'POST', `/api/itineraries/${it2.id}/confirm`), 409, 'itinerary_expired');
    expect(await fingerprint()).toEqual(before);
    // one leg's own hold expired ahead of the itinerary (an inconsistent row): still nothing booked
    const c3 = await chain();
    const it3 = (await post(f1, { legs: legsOf(c3), teu: 1, tonnes: 10 })).json();
    await env.db.updateTable('holds').set({ expires_at: past }).where('id', '=', it3.holds[2].id).execute();
    before = await fingerprint();
    const r3 = await call(f1, 'POST', `/api/itineraries/${it3.id}/confirm`);
    expectRefused(r3, 409, 'hold_not_active');
    expect(r3.json().error.legIndex).toBe(2);
    expect(await fingerprint()).toEqual(before);
  });

  it('confirm racing DELETE (and confirm racing confirm) on one itinerary: always one consistent end — every leg booked, cancelled or released', async () => {
    for (let round = 0; round < 6; round++) {
      const c = await chain();
      const it0 = (await post(f1, { legs: legsOf(c), teu: 2, tonnes: 20 })).json();
      const confirm = () => call(f1, 'POST', `/api/itineraries/${it0.id}/confirm`);
      const remove = () => call(f1, 'DELETE', `/api/itineraries/${it0.id}`);
      const order = round % 2 ? [remove, confirm] : [confirm, remove];
      if (round === 5) order.push(confirm);
      const answers = await Promise.all(order.map((start) => start()));
      for (const r of answers) {
        expect(r.statusCode, r.body).toBeLessThan(500);
        if (r.statusCode >= 400) expectErrorShape(r.json());
      }
      const it = await env.db.selectFrom('itineraries').selectAll().where('id', '=', it0.id).executeTakeFirstOrThrow();
      const holds = await env.db.selectFrom('holds').select(['status']).where('itinerary_id', '=', it0.id).execute();
      const bookings = await env.db.selectFrom('bookings').select(['status']).where('itinerary_id', '=', it0.id).execute();
      const deps = await Promise.all(c.map((l) => departureState(env.db, l.departureId)));
      const summary = { status: it.status, holds: holds.map((h) => h.status), bookings: bookings.map((b) => b.status), held: deps.map((d) => d.held_teu), booked: deps.map((d) => d.booked_teu) };
      const consistent = [
        { status: 'released', holds: ['released', 'released', 'released'], bookings: [], held: [0, 0, 0], booked: [0, 0, 0] },
        { status: 'cancelled', holds: ['confirmed', 'confirmed', 'confirmed'], bookings: ['cancelled', 'cancelled', 'cancelled'], held: [0, 0, 0], booked: [0, 0, 0] },
      ];
      expect(consistent, JSON.stringify(summary)).toContainEqual(summary);
      expect(answers.filter((r) => r.statusCode === 201).length).toBeLessThanOrEqual(1);
    }
  });

  it('DELETE ?expect=held never cancels a confirmed itinerary (a stale Release), ?expect=confirmed never releases a held one', async () => {
    const c = await chain();
    const it0 = (await post(f1, { legs: legsOf(c), teu: 1, tonnes: 10 })).json();
    let before = await fingerprint();
    const notYet = await call(f1, 'DELETE', `/api/itineraries/${it0.id}?expect=confirmed`);
    expectRefused(notYet, 409, 'itinerary_state_changed');
    expect(notYet.json().error.status).toBe('held');
    expectRefused(await call(f1, 'DELETE', `/api/itineraries/${it0.id}?expect=gone`), 400);
    expect(await fingerprint()).toEqual(before);
    expect((await call(f1, 'POST', `/api/itineraries/${it0.id}/confirm`)).statusCode).toBe(201);
    before = await fingerprint();
    const stale = await call(f1, 'DELETE', `/api/itineraries/${it0.id}?expect=held`);
    expectRefused(stale, 409, 'itinerary_state_changed');
    expect(stale.json().error.status).toBe('confirmed');
    expect(await fingerprint()).toEqual(before);
    const cancelled = await call(f1, 'DELETE', `/api/itineraries/${it0.id}?expect=confirmed`);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
  });

  it('GET /api/routes with hostile query strings: 4xx in the API shape or a sane answer, never a 5xx', async () => {
    const now = Date.now();
    const base = { from: 'GBLHR', to: 'ITBLQ', teu: '2', tonnes: '24', readyAt: new Date(now).toISOString(), deliverBy: new Date(now + 7 * DAY).toISOString() };
    const qs = (o: Record<string, string>) => new URLSearchParams(o).toString();
    const raw: [string, number, string?][] = [
      [`${qs(base)}&from=NLRTM`, 400, 'invalid_input'],
      [`${qs(base)}&teu=3`, 400, 'invalid_input'],
      [`${qs(base)}&maxLegs=2&maxLegs=3`, 400, 'invalid_input'],
      [`${qs(base)}&from[]=GBLHR`, 400, 'invalid_input'],
      [`${qs({ ...base, from: 'GBLHR\u0000' })}`, 400, 'invalid_input'],
      [`${qs({ ...base, from: 'ＧＢＬＨＲ' })}`, 400, 'invalid_input'],
      [`${qs({ ...base, from: 'gblhr' })}`, 400, 'invalid_input'],
      [`${qs({ ...base, to: '😀😀😀' })}`, 400, 'invalid_input'],
      [`${qs({ ...base, from: "GBLHR' OR 1=1 --" })}`, 400, 'invalid_input'],
      [`${qs({ ...base, modes: 'rail,'.repeat(2_000) })}`, 400, 'invalid_input'],
      [`${qs({ ...base, modes: 'truck' })}`, 400, 'invalid_input'],
      [`${qs(base)}&${'x'.repeat(60_000)}=1`, 400, 'invalid_input'],
      [`${qs({ ...base, readyAt: '9'.repeat(5_000) })}`, 400, 'invalid_input'],
      [`${qs({ ...base, maxLegs: '0' })}`, 400, 'invalid_input'],
      [`${qs({ ...base, maxLegs: '6' })}`, 400, 'invalid_input'],
      [`${qs({ ...base, maxLegs: '50' })}`, 400, 'invalid_input'],
      [`${qs({ ...base, maxLegs: '-1' })}`, 400, 'invalid_input'],
      [`${qs({ ...base, teu: '1e3' })}`, 400, 'invalid_quantity'], // coerced to 1,000 TEU: fewer than 1 t per TEU
      [`${qs({ ...base, teu: '99999999999999999999' })}`, 400, 'invalid_input'],
      [`${qs({ ...base, maxTotalCents: '1e400' })}`, 400, 'invalid_input'],
      [`${qs({ ...base, maxTotalCents: '-1' })}`, 400, 'invalid_input'],
      [`${qs({ ...base, deliverBy: new Date(now + 365 * DAY).toISOString() })}`, 400, 'window_too_long'],
      [`${qs({ ...base, readyAt: '0001-01-01T00:00:00Z', deliverBy: new Date(now + DAY).toISOString() })}`, 400, 'window_too_long'],
      [`${qs({ ...base, readyAt: '2026-02-30T00:00:00Z', deliverBy: '2026-03-05T00:00:00Z' })}`, 400],
      [`${qs({ ...base, readyAt: '2026-13-01T00:00:00Z' })}`, 400],
      [`${qs({ ...base, tonnes: '1' })}`, 400, 'invalid_quantity'],
    ];
    for (const [query, status, code] of raw) {
      const r = await as(built.app, f1)({ method: 'GET', url: `/api/routes?${query}` });
      expect(r.statusCode, `${query.slice(0, 200)} → ${r.body.slice(0, 300)}`).toBe(status);
      expectErrorShape(r.json());
      if (code) expect(r.json().error.code, query.slice(0, 200)).toBe(code);
    }
    // answered, empty or not: far future and far past windows, every leg count allowed, the largest budget
    const fine: Record<string, string>[] = [
      { ...base, readyAt: '9999-12-01T00:00:00Z', deliverBy: '9999-12-20T00:00:00Z' },
      { ...base, readyAt: '1970-01-01T00:00:00Z', deliverBy: '1970-01-21T00:00:00Z' },
      { ...base, readyAt: new Date(now - 20 * DAY).toISOString(), deliverBy: new Date(now + DAY).toISOString() },
      { ...base, deliverBy: new Date(now + 21 * DAY).toISOString(), maxLegs: '5' },
      { ...base, maxLegs: '1' },
      { ...base, modes: 'barge,rail,barge' },
      { ...base, maxTotalCents: String(Number.MAX_SAFE_INTEGER) },
      { ...base, teu: '10000', tonnes: '1000000' },
    ];
    for (const q of fine) {
      const r = await as(built.app, f1)({ method: 'GET', url: `/api/routes?${qs(q)}` });
      expect(r.statusCode, `${JSON.stringify(q)} → ${r.body.slice(0, 300)}`).toBe(200);
      expect(Array.isArray(r.json().itineraries)).toBe(true);
    }
    expect((await as(built.app, f1)({ method: 'GET', url: `/api/routes?${qs(fine[0]!)}` })).json().itineraries).toEqual([]);
    expect((await as(built.app, f1)({ method: 'GET', url: `/api/routes?${qs(fine[7]!)}` })).json().itineraries).toEqual([]);
  });

  it("the route answer shows no other organisation's private data (holders, bidders, bids)", async () => {
    // f2 holds on one leg and bids on an auction leg; f1 searches
    const c = await chain();
    const h = await as(built.app, f2)({ method: 'POST', url: '/api/holds', payload: { listingId: c[2]!.listingId, teu: 3, tonnes: 30 } });
    expect(h.statusCode, h.body).toBe(201);
    const corridor = await env.db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
    const cutoff = Date.now() + 2 * DAY;
    const dep = await as(built.app, op1)({
      method: 'POST', url: '/api/departures',
      payload: { corridorId: corridor.id, cutoffAt: new Date(cutoff).toISOString(), departsAt: new Date(cutoff + 4 * HOUR).toISOString(), arrivesAt: new Date(cutoff + 34 * HOUR).toISOString(), capacityTeu: 80, capacityTonnes: 1600, assetName: 'Hostile auction' },
    });
    expect(dep.statusCode, dep.body).toBe(201);
    const listing = await as(built.app, op1)({
      method: 'POST', url: '/api/listings',
      payload: { departureId: dep.json().id, format: 'ascending', teu: 10, reservePriceCents: 20_000, minIncrementCents: 1_000, closesAt: new Date(cutoff - HOUR).toISOString() },
    });
    expect(listing.statusCode, listing.body).toBe(201);
    const bid = await as(built.app, f2)({ method: 'POST', url: `/api/listings/${listing.json().id}/bids`, payload: { teu: 10, unitPriceCents: 31_234 } });
    expect(bid.statusCode, bid.body).toBe(201);
    await built.ctx.services.routes.reload('full');

    const q = new URLSearchParams({ from: 'DEDUI', to: 'ITBLQ', teu: '1', tonnes: '10', maxLegs: '1', readyAt: new Date().toISOString(), deliverBy: new Date(Date.now() + 10 * DAY).toISOString() });
    const r = await as(built.app, f1)({ method: 'GET', url: `/api/routes?${q}` });
    expect(r.statusCode, r.body).toBe(200);
    const answer = r.json() as { itineraries: { legs: { listingId: string; departureId: string }[] }[] };
    expect(answer.itineraries.some((i) => i.legs[0]!.listingId === listing.json().id)).toBe(true);
    const allowed = new Set(answer.itineraries.flatMap((i) => i.legs.flatMap((l) => [l.listingId, l.departureId])));
    const uuids = r.body.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi) ?? [];
    expect(uuids.filter((u) => !allowed.has(u))).toEqual([]);
    const orgs = await env.db.selectFrom('organisations').select(['id', 'name', 'slug']).execute();
    for (const o of orgs) for (const s of [o.id, o.name, o.slug]) expect(r.body.includes(s), s).toBe(false);
    expect(r.body.includes(h.json().id)).toBe(false);
    expect(r.body.includes(bid.json().id)).toBe(false);
    // the bid's price is not shown; only the next acceptable bid (31,234 + 1,000) is, as on the listing's public ladder
    const numbers: number[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'number') numbers.push(v);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(answer);
    expect(numbers).not.toContain(31_234);
    expect(answer.itineraries.find((i) => i.legs[0]!.listingId === listing.json().id)).toMatchObject({ legs: [{ unitPriceCents: 32_234 }] });
  });
});
