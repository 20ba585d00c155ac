import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

/** Who may do what with capacity, holds and bookings (issue 3 permissions). */
describe('permissions on listings, holds and bookings', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let op1: Session;
  let op2: Session;
  let d: Awaited<ReturnType<typeof createDepartureWithListing>>;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    const app = built.app;
    [f1, f2, op1, op2] = await Promise.all([
      signIn(app, 'forwarder1@demo.test'),
      signIn(app, 'forwarder2@demo.test'),
      signIn(app, 'operator1@demo.test'),
      signIn(app, 'operator2@demo.test'),
    ]);
    // a departure operated by operator1's organisation
    d = await createDepartureWithListing(env.db, { capacityTeu: 50, capacityTonnes: 1000, listedTeu: 20 });
    await env.db.updateTable('departures').set({ operator_org_id: op1.me.org.id }).where('id', '=', d.departureId).execute();
  });
  afterAll(async () => {
    await built.app.close();
    await env.cleanup();
  });

  it('a forwarder cannot publish departures or create listings (403), and nothing changes', async () => {
    const before = await tableCounts(env.db);
    const corridor = await env.db.selectFrom('corridors').select('id').executeTakeFirstOrThrow();
    const t = Date.now() + 3 * 86_400_000;
    const dep = await as(built.app, f1)({
      method: 'POST',
      url: '/api/departures',
      payload: {
        corridorId: corridor.id, departsAt: new Date(t).toISOString(), arrivesAt: new Date(t + 86_400_000).toISOString(),
        cutoffAt: new Date(t - 3_600_000).toISOString(), capacityTeu: 80, capacityTonnes: 1600, assetName: 'X',
      },
    });
    expect(dep.statusCode).toBe(403);
    const lst = await as(built.app, f1)({ method: 'POST', url: '/api/listings', payload: { departureId: d.departureId, format: 'fixed', teu: 5, unitPriceCents: 1000 } });
    expect(lst.statusCode).toBe(403);
    expect(lst.json().error.code).toBe('forbidden');
    expect(await tableCounts(env.db)).toEqual(before);
  });

  it("an operator cannot list on another operator's departure (403), but can on its own (201)", async () => {
    const other = await as(built.app, op2)({ method: 'POST', url: '/api/listings', payload: { departureId: d.departureId, format: 'fixed', teu: 5, unitPriceCents: 1000 } });
    expect(other.statusCode).toBe(403);
    const own = await as(built.app, op1)({ method: 'POST', url: '/api/listings', payload: { departureId: d.departureId, format: 'fixed', teu: 5, unitPriceCents: 1000 } });
    expect(own.statusCode).toBe(201);
    // listings never offer more than the departure has: 50 capacity, 20 + 5 offered → 26 is too many
    const tooMuch = await as(built.app, op1)({ method: 'POST', url: '/api/listings', payload: { departureId: d.departureId, format: 'fixed', teu: 26, unitPriceCents: 1000 } });
    expect(tooMuch.statusCode).toBe(409);
    // an operator cannot cancel another operator's listing
    const cancel = await as(built.app, op2)({ method: 'DELETE', url: `/api/listings/${own.json().id}` });
    expect(cancel.statusCode).toBe(403);
  });

  it('operators cannot hold; nobody sees or touches another forwarder’s holds and bookings (404)', async () => {
    const byOp = await as(built.app, op1)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 1, tonnes: 10 } });
    expect(byOp.statusCode).toBe(403);

    const hold = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 2, tonnes: 20 } });
    expect(hold.statusCode).toBe(201);
    const holdId = hold.json().id;
    expect((await as(built.app, f2)({ method: 'GET', url: '/api/holds' })).json()).toEqual([]);
    expect((await as(built.app, f1)({ method: 'GET', url: '/api/holds' })).json().map((h: { id: string }) => h.id)).toEqual([holdId]);
    expect((await as(built.app, f2)({ method: 'POST', url: `/api/holds/${holdId}/confirm`, payload: {} })).statusCode).toBe(404);
    expect((await as(built.app, f2)({ method: 'DELETE', url: `/api/holds/${holdId}` })).statusCode).toBe(404);

    const booking = await as(built.app, f1)({ method: 'POST', url: `/api/holds/${holdId}/confirm`, payload: { reference: 'PO-77' } });
    expect(booking.statusCode).toBe(201);
    const bookingId = booking.json().id;
    expect((await as(built.app, f2)({ method: 'GET', url: '/api/bookings' })).json().some((b: { id: string }) => b.id === bookingId)).toBe(false);
    expect((await as(built.app, f2)({ method: 'DELETE', url: `/api/bookings/${bookingId}` })).statusCode).toBe(404);
    expect((await as(built.app, f2)({ method: 'GET', url: `/api/bookings/${bookingId}/cancellation` })).statusCode).toBe(404);
    // the operator of the departure sees the booking and who its customer is; another operator does not
    const opSees = ((await as(built.app, op1)({ method: 'GET', url: '/api/bookings' })).json() as { id: string; forwarderOrgName: string }[]).find((b) => b.id === bookingId);
    expect(opSees?.forwarderOrgName).toBe(f1.me.org.name);
    expect((await as(built.app, op2)({ method: 'GET', url: '/api/bookings' })).json().some((b: { id: string }) => b.id === bookingId)).toBe(false);
    // the operator cannot cancel the forwarder's booking
    expect((await as(built.app, op1)({ method: 'DELETE', url: `/api/bookings/${bookingId}` })).statusCode).toBe(403);
  });

  it('Idempotency-Key: a repeated hold has no second effect; the same key with another body is 409', async () => {
    const req = (teu: number) =>
      as(built.app, f1)({ method: 'POST', url: '/api/holds', headers: { 'idempotency-key': 'hold-abc' }, payload: { listingId: d.listingId, teu, tonnes: 10 } });
    const first = await req(1);
    const again = await req(1);
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json().id).toBe(first.json().id);
    const held = await env.db.selectFrom('holds').select('id').where('listing_id', '=', d.listingId).where('status', '=', 'active').execute();
    expect(held.filter((h) => h.id === first.json().id)).toHaveLength(1);
    const other = await req(2);
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('idempotency_key_reused');
    // another organisation may use the same key independently
    const f2hold = await as(built.app, f2)({ method: 'POST', url: '/api/holds', headers: { 'idempotency-key': 'hold-abc' }, payload: { listingId: d.listingId, teu: 1, tonnes: 10 } });
    expect(f2hold.statusCode).toBe(201);
    expect(f2hold.json().id).not.toBe(first.json().id);
  });

  it('cancelling a booking charges the listing fee rule and frees the capacity; a cancelled listing releases its holds', async () => {
    const hold = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 3, tonnes: 30 } });
    const b = await as(built.app, f1)({ method: 'POST', url: `/api/holds/${hold.json().id}/confirm`, payload: {} });
    const preview = await as(built.app, f1)({ method: 'GET', url: `/api/bookings/${b.json().id}/cancellation` });
    expect(preview.statusCode).toBe(200);
    // the departure is ~2 days away: inside 7 days → 50 %
    expect(preview.json()).toMatchObject({ percent: 50, feeCents: Math.round(b.json().totalCents / 2) });
    const before = await env.db.selectFrom('departures').select('booked_teu').where('id', '=', d.departureId).executeTakeFirstOrThrow();
    const cancelled = await as(built.app, f1)({ method: 'DELETE', url: `/api/bookings/${b.json().id}` });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', cancellationFeeCents: preview.json().feeCents });
    const after = await env.db.selectFrom('departures').select('booked_teu').where('id', '=', d.departureId).executeTakeFirstOrThrow();
    expect(after.booked_teu).toBe(before.booked_teu - 3);
    expect((await as(built.app, f1)({ method: 'DELETE', url: `/api/bookings/${b.json().id}` })).statusCode).toBe(409);

    const open = await as(built.app, f2)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 1, tonnes: 1 } });
    expect(open.statusCode).toBe(201);
    const cancel = await as(built.app, op1)({ method: 'DELETE', url: `/api/listings/${d.listingId}` });
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json().status).toBe('cancelled');
    const h = await env.db.selectFrom('holds').select('status').where('id', '=', open.json().id).executeTakeFirstOrThrow();
    expect(h.status).toBe('cancelled');
    const d2 = await env.db.selectFrom('departures').select(['held_teu']).where('id', '=', d.departureId).executeTakeFirstOrThrow();
    expect(d2.held_teu).toBe(0);
    const late = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 1, tonnes: 1 } });
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('listing_closed');
  });

  it('nothing can be held after the cut-off (409 past_cutoff)', async () => {
    const past = await createDepartureWithListing(env.db, { capacityTeu: 10, capacityTonnes: 100, cutoffInMs: -60_000 });
    const res = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId: past.listingId, teu: 1, tonnes: 1 } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('past_cutoff');
  });
});
