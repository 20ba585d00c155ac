import { Value } from 'typebox/value';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { BookingWithDeparture, HoldWithDeparture, OperatorHold } from '../../server/domain/schemas/trade.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

const DAY = 86_400_000;

// A new-user walkthrough found My holds and My bookings naming departures only by id, and no operator page for the
// holds on its departures. The list answers now carry each row's departure (route, mode, operator, asset, times), read
// in the same statement; GET /api/operator/holds names the holder and the price, for the operator's own departures only.
describe('holds and bookings name their departure; an operator sees the holds on its own departures', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let op1: Session;
  let op2: Session;
  /** per departure: its id, fixed listing, corridor code and what its brief must say */
  const dep = {} as Record<'rail' | 'barge', { id: string; listingId: string; want: Record<string, unknown> }>;
  const held = {} as Record<'f1Rail' | 'f1Barge' | 'f2Barge' | 'f1Due', string>;
  let booking = '';

  const call = async (s: Session, method: 'GET' | 'POST', url: string, payload?: object, status = method === 'POST' ? 201 : 200) => {
    const r = await as(built.app, s)({ method, url, ...(payload ? { payload } : {}) });
    expect(r.statusCode, `${method} ${url}: ${r.body}`).toBe(status);
    return r.json();
  };
  const hold = async (s: Session, listingId: string, teu: number) => (await call(s, 'POST', '/api/holds', { listingId, teu, tonnes: 12 * teu })).id as string;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    [f1, f2, op1, op2] = await Promise.all([
      signIn(built.app, 'forwarder1@demo.test'), signIn(built.app, 'forwarder2@demo.test'), signIn(built.app, 'operator1@demo.test'), signIn(built.app, 'operator2@demo.test'),
    ]);
    const corridors = (await call(f1, 'GET', '/api/corridors')) as { id: string; code: string }[];
    const clusters = (await call(f1, 'GET', '/api/clusters')) as { code: string; name: string }[];
    const name = (code: string) => clusters.find((c) => c.code === code)!.name;
    const now = Date.now();
    for (const [kind, op, code, from, to, asset, price] of [
      ['rail', op1, 'DEDUI-ITBLQ-rail', 'DEDUI', 'ITBLQ', 'Brief Shuttle 1', 41_000],
      ['barge', op2, 'NLRTM-DEDUI-barge', 'NLRTM', 'DEDUI', 'Brief Barge 2', 23_000],
    ] as const) {
      const corridor = corridors.find((c) => c.code === code)!;
      const times = { cutoffAt: new Date(now + 3 * DAY).toISOString(), departsAt: new Date(now + 3 * DAY + 7_200_000).toISOString(), arrivesAt: new Date(now + 4 * DAY).toISOString() };
      const d = await call(op, 'POST', '/api/departures', { corridorId: corridor.id, ...times, capacityTeu: 60, capacityTonnes: 1200, assetName: asset });
      const l = await call(op, 'POST', '/api/listings', { departureId: d.id, format: 'fixed', teu: 40, unitPriceCents: price });
      dep[kind] = {
        id: d.id,
        listingId: l.id,
        want: {
          corridorCode: code, origin: from, originName: name(from), destination: to, destinationName: name(to), mode: kind,
          operatorName: op.me.org.name, assetName: asset, ...times,
        },
      };
    }
    booking = (await call(f1, 'POST', `/api/holds/${await hold(f1, dep.rail.listingId, 3)}/confirm`, { reference: 'BRIEF-1' })).id;
    held.f1Rail = await hold(f1, dep.rail.listingId, 2);
    held.f1Barge = await hold(f1, dep.barge.listingId, 1);
    held.f2Barge = await hold(f2, dep.barge.listingId, 4);
    // an active hold already past its time (the sweep has not ended it yet) is not shown to anyone
    held.f1Due = await hold(f1, dep.rail.listingId, 1);
    await env.db.updateTable('holds').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', held.f1Due).execute();
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  it('GET /api/holds: the forwarder’s own active holds, each with its departure', async () => {
    const list = (await call(f1, 'GET', '/api/holds')) as HoldWithDeparture[];
    expect(Value.Check(Type.Array(HoldWithDeparture), list)).toBe(true);
    expect(list.map((h) => h.id).sort()).toEqual([held.f1Rail, held.f1Barge].sort());
    const byId = new Map(list.map((h) => [h.id, h]));
    expect(byId.get(held.f1Rail)).toMatchObject({ departureId: dep.rail.id, listingId: dep.rail.listingId, teu: 2, unitPriceCents: 41_000, totalCents: 82_000, departure: dep.rail.want });
    expect(byId.get(held.f1Barge)).toMatchObject({ departureId: dep.barge.id, teu: 1, departure: dep.barge.want });
    // the existing fields are all still there, unchanged
    expect(Object.keys(byId.get(held.f1Rail)!).sort()).toEqual(
      ['createdAt', 'departure', 'departureId', 'expiresAt', 'id', 'listingId', 'status', 'teu', 'tonnes', 'totalCents', 'unitPriceCents'].sort(),
    );
    const other = (await call(f2, 'GET', '/api/holds')) as HoldWithDeparture[];
    expect(other.map((h) => h.id)).toEqual([held.f2Barge]);
    expect(other[0]!.departure).toEqual(dep.barge.want);
  });

  it('GET /api/bookings: the forwarder’s and the operator’s rows carry the booking’s departure; others do not see it', async () => {
    const mine = (await call(f1, 'GET', '/api/bookings')) as BookingWithDeparture[];
    expect(Value.Check(Type.Array(BookingWithDeparture), mine)).toBe(true);
    const b = mine.find((x) => x.id === booking);
    expect(b).toMatchObject({ departureId: dep.rail.id, teu: 3, totalCents: 123_000, reference: 'BRIEF-1', status: 'confirmed', departure: dep.rail.want });
    // every row names its own departure (the join is by the row's departure, not the first one found)
    const stored = new Map((await env.db.selectFrom('departures').select(['id', 'asset_name', 'departs_at']).execute()).map((d) => [d.id, d]));
    for (const x of mine) {
      expect(x.departure.assetName, x.id).toBe(stored.get(x.departureId)!.asset_name);
      expect(x.departure.departsAt, x.id).toBe(stored.get(x.departureId)!.departs_at.toISOString());
    }
    const operator = (await call(op1, 'GET', '/api/bookings')) as BookingWithDeparture[];
    expect(operator.find((x) => x.id === booking)).toMatchObject({ forwarderOrgId: f1.me.org.id, departure: dep.rail.want });
    expect((await call(op2, 'GET', '/api/bookings')).map((x: { id: string }) => x.id)).not.toContain(booking);
    expect((await call(f2, 'GET', '/api/bookings')).map((x: { id: string }) => x.id)).not.toContain(booking);
  });

  it('GET /api/operator/holds: only holds on the operator’s own departures, with the holder, the price and the departure', async () => {
    const mine = (await call(op1, 'GET', '/api/operator/holds')) as OperatorHold[];
    expect(Value.Check(Type.Array(OperatorHold), mine)).toBe(true);
    expect(mine.map((h) => h.id)).toEqual([held.f1Rail]);
    expect(mine[0]).toEqual({
      id: held.f1Rail, departureId: dep.rail.id, listingId: dep.rail.listingId, teu: 2, tonnes: 24, expiresAt: expect.any(String),
      forwarderOrgId: f1.me.org.id, forwarderOrgName: f1.me.org.name, unitPriceCents: 41_000, totalCents: 82_000, createdAt: expect.any(String),
      departure: dep.rail.want,
    });
    const theirs = (await call(op2, 'GET', '/api/operator/holds')) as OperatorHold[];
    expect(theirs.map((h) => h.id).sort()).toEqual([held.f1Barge, held.f2Barge].sort());
    expect(theirs.map((h) => [h.forwarderOrgName, h.teu, h.departure.assetName]).sort()).toEqual([
      [f1.me.org.name, 1, 'Brief Barge 2'], [f2.me.org.name, 4, 'Brief Barge 2'],
    ].sort());
    // soonest expiry first, and every hold shown is on a departure of the caller's
    expect(theirs.map((h) => h.expiresAt)).toEqual(theirs.map((h) => h.expiresAt).sort());
    const operated = await env.db.selectFrom('departures').select('id').where('operator_org_id', '=', op2.me.org.id).execute();
    expect(theirs.every((h) => operated.some((d) => d.id === h.departureId))).toBe(true);
    // a forwarder has no such list
    expect((await as(built.app, f1)({ method: 'GET', url: '/api/operator/holds' })).statusCode).toBe(403);
  });

  it('a released hold leaves both lists at once', async () => {
    const r = await as(built.app, f2)({ method: 'DELETE', url: `/api/holds/${held.f2Barge}` });
    expect(r.statusCode, r.body).toBe(204);
    expect(((await call(op2, 'GET', '/api/operator/holds')) as OperatorHold[]).map((h) => h.id)).toEqual([held.f1Barge]);
    expect(await call(f2, 'GET', '/api/holds')).toEqual([]);
  });
});
