import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

const HOUR = 3_600_000;

/**
 * A booking is cancelled only before its departure leaves (a reviewer found the server accepted it at any time: the
 * TEU went back on sale on a train that had left, and a refund could follow). An itinerary is under way once one of
 * its legs has left. Before departure both are cancelled as before.
 */
describe('no cancellation after departure', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 1_000_000 } });
    built = await buildApp(env.cfg);
    f1 = await signIn(built.app, 'forwarder1@demo.test');
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const ok = async (method: 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>, status = 201) => {
    const r = await as(built.app, f1)({ method, url, ...(payload ? { payload } : {}) });
    expect(r.statusCode, `${method} ${url}: ${r.body}`).toBe(status);
    return r.json();
  };
  /** Moves a departure's times so that it left an hour ago. */
  const departed = (departureId: string) =>
    env.db.updateTable('departures').set({ cutoff_at: new Date(Date.now() - 2 * HOUR), departs_at: new Date(Date.now() - HOUR) }).where('id', '=', departureId).execute();

  it('DELETE /api/bookings/:id: 409 departed once the departure has left, nothing changes; before, the booking is cancelled', async () => {
    const gone = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400 });
    const hold = await ok('POST', '/api/holds', { listingId: gone.listingId, teu: 2, tonnes: 20 });
    const booking = await ok('POST', `/api/holds/${hold.id}/confirm`, { reference: 'PO-GONE' });
    await departed(gone.departureId);
    const r = await as(built.app, f1)({ method: 'DELETE', url: `/api/bookings/${booking.id}` });
    expect(r.statusCode, r.body).toBe(409);
    expectErrorShape(r.json());
    expect(r.json().error.code).toBe('departed');
    const row = await env.db.selectFrom('bookings').select('status').where('id', '=', booking.id).executeTakeFirstOrThrow();
    expect(row.status).not.toBe('cancelled');
    const dep = await env.db.selectFrom('departures').select('booked_teu').where('id', '=', gone.departureId).executeTakeFirstOrThrow();
    expect(dep.booked_teu).toBe(2);

    const ahead = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400 });
    const h2 = await ok('POST', '/api/holds', { listingId: ahead.listingId, teu: 2, tonnes: 20 });
    const b2 = await ok('POST', `/api/holds/${h2.id}/confirm`, { reference: 'PO-AHEAD' });
    const c = await as(built.app, f1)({ method: 'DELETE', url: `/api/bookings/${b2.id}` });
    expect(c.statusCode, c.body).toBe(200);
  });

  it('DELETE /api/itineraries/:id: 409 departed (with the leg) once its first leg has left', async () => {
    const legs = [
      await createDepartureWithListing(env.db, { corridorCode: 'GBLHR-FRLIL-rail', capacityTeu: 20, capacityTonnes: 400, cutoffInMs: 2 * 86_400_000 }),
      await createDepartureWithListing(env.db, { corridorCode: 'FRLIL-DEDUI-rail', capacityTeu: 20, capacityTonnes: 400, cutoffInMs: 4 * 86_400_000 }),
    ];
    const itin = await ok('POST', '/api/itineraries', { legs: legs.map((l) => ({ listingId: l.listingId })), teu: 1, tonnes: 10 });
    await ok('POST', `/api/itineraries/${itin.id}/confirm`, { reference: 'PO-UNDERWAY' });
    await departed(legs[0]!.departureId);
    const r = await as(built.app, f1)({ method: 'DELETE', url: `/api/itineraries/${itin.id}?expect=confirmed` });
    expect(r.statusCode, r.body).toBe(409);
    expectErrorShape(r.json());
    expect(r.json().error).toMatchObject({ code: 'departed', legIndex: 0 });
    const row = await env.db.selectFrom('itineraries').select('status').where('id', '=', itin.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('confirmed');
  });
});
