import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import type { DepartureManifest } from '../../server/domain/schemas/manifest.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

/**
 * A departure's manifest (GET /api/departures/:id/manifest): an operator walking the demo could not see who was on
 * its own departure — the page showed load figures only, and the bookings list had no departure filter. Who may
 * read it is in the access matrix; here, what it says against what was done through the API.
 */
describe("a departure's manifest", () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let op1: Session;
  let departureId: string;
  let listingId: string;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { holdMaxSharePct: 100 } });
    built = await buildApp(env.cfg);
    [f1, f2, op1] = await Promise.all(['forwarder1', 'forwarder2', 'operator1'].map((u) => signIn(built.app, `${u}@demo.test`))) as [Session, Session, Session];
    const d = await createDepartureWithListing(env.db, { capacityTeu: 50, capacityTonnes: 1000, listedTeu: 20, unitPriceCents: 120_000 });
    await env.db.updateTable('departures').set({ operator_org_id: op1.me.org.id }).where('id', '=', d.departureId).execute();
    departureId = d.departureId;
    listingId = d.listingId;
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const hold = async (s: Session, teu: number) => {
    const h = await as(built.app, s)({ method: 'POST', url: '/api/holds', payload: { listingId, teu, tonnes: teu * 10 } });
    expect(h.statusCode, h.body).toBe(201);
    return h.json().id as string;
  };

  it('lists every booking with its customer, load, cargo and what ended it, the active holds, and totals that add up', async () => {
    const h1 = await hold(f1, 2);
    const booked = await as(built.app, f1)({ method: 'POST', url: `/api/holds/${h1}/confirm`, payload: { reference: 'PO-77', cargo: { containers: ['MSKU1234565', 'MSKU7654321'], dangerousGoods: true } } });
    expect(booked.statusCode, booked.body).toBe(201);
    const h2 = await hold(f2, 3);
    const cancelledBooking = await as(built.app, f2)({ method: 'POST', url: `/api/holds/${h2}/confirm`, payload: {} });
    expect(cancelledBooking.statusCode).toBe(201);
    const del = await as(built.app, f2)({ method: 'DELETE', url: `/api/bookings/${cancelledBooking.json().id}` });
    expect(del.statusCode, del.body).toBe(200);
    const held = await hold(f2, 4);

    const r = await as(built.app, op1)({ method: 'GET', url: `/api/departures/${departureId}/manifest` });
    expect(r.statusCode, r.body).toBe(200);
    const m = r.json() as DepartureManifest;
    expect(m.departureId).toBe(departureId);
    expect(m.bookings.map((b) => b.id)).toEqual([booked.json().id, cancelledBooking.json().id]);
    expect(m.bookings[0]).toMatchObject({
      forwarderOrgId: f1.me.org.id, forwarderOrgName: f1.me.org.name, teu: 2, tonnes: 20, unitPriceCents: 120_000, totalCents: 240_000, status: 'confirmed',
      reference: 'PO-77', cargo: { containers: ['MSKU1234565', 'MSKU7654321'], dangerousGoods: true }, format: 'fixed', cancelledBecause: null,
    });
    expect(m.bookings[1]).toMatchObject({ forwarderOrgId: f2.me.org.id, status: 'cancelled', cancelledBecause: 'forwarder' });
    expect(m.holds).toEqual([expect.objectContaining({ id: held, forwarderOrgId: f2.me.org.id, teu: 4, tonnes: 40 })]);
    // the cancelled booking's 3 TEU may be reserved for a re-offer to a watching forwarder (the demo network has watches)
    const offered = m.offers.reduce((s, f) => s + f.teu, 0);
    for (const f of m.offers) expect(f.reason).toBe('cancellation');
    const fee = m.bookings[1]!.cancellationFeeCents ?? 0;
    expect(m.totals).toEqual({
      bookedTeu: 2, bookedTonnes: 20, bookedCents: 240_000, feesCents: fee, heldTeu: 4 + offered, heldTonnes: 40 + m.offers.reduce((s, f) => s + f.tonnes, 0), offeredTeu: offered,
      dangerousGoodsBookings: 1,
    });
    // the totals are the departure's own counters (the capacity guard's): the manifest and the load box agree
    const dep = await env.db.selectFrom('departures').select(['booked_teu', 'held_teu', 'booked_tonnes', 'held_tonnes']).where('id', '=', departureId).executeTakeFirstOrThrow();
    expect([m.totals.bookedTeu, m.totals.heldTeu, m.totals.bookedTonnes, m.totals.heldTonnes]).toEqual([dep.booked_teu, dep.held_teu, dep.booked_tonnes, dep.held_tonnes]);
  });

  it('a released hold leaves it at once', async () => {
    const h = await hold(f1, 1);
    const before = (await as(built.app, op1)({ method: 'GET', url: `/api/departures/${departureId}/manifest` })).json() as DepartureManifest;
    expect(before.holds.some((x) => x.id === h)).toBe(true);
    expect((await as(built.app, f1)({ method: 'DELETE', url: `/api/holds/${h}` })).statusCode).toBeLessThan(300);
    const after = (await as(built.app, op1)({ method: 'GET', url: `/api/departures/${departureId}/manifest` })).json() as DepartureManifest;
    expect(after.holds.some((x) => x.id === h)).toBe(false);
    expect(after.totals.heldTeu).toBe(before.totals.heldTeu - 1 - (before.totals.offeredTeu - after.totals.offeredTeu));
  });
});
