import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { buildApp } from '../helpers/http.ts';

/**
 * Issue 9 (hardening), money: the settlement sweep cannot be starved — neither by bookings with nothing to
 * charge (0 cents, possible before the 1-cent minimum price) nor by bookings whose settlement fails.
 */
describe('hardening: settlement.sweep never starves', () => {
  let env: TestEnv;
  let built: App;
  let forwarderOrgId: string;
  let d: Awaited<ReturnType<typeof createDepartureWithListing>>;

  const booking = async (totalCents: number, createdAgoMs: number) =>
    (
      await env.db
        .insertInto('bookings')
        .values({
          departure_id: d.departureId, listing_id: d.listingId, forwarder_org_id: forwarderOrgId, teu: 1, tonnes: 10,
          unit_price_cents: totalCents, total_cents: totalCents, created_at: new Date(Date.now() - createdAgoMs),
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const statusOf = async (id: string) => (await env.db.selectFrom('bookings').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    d = await createDepartureWithListing(env.db, { capacityTeu: 80, capacityTonnes: 2000, listedTeu: 10 });
    forwarderOrgId = (await env.db.selectFrom('organisations').select('id').where('kind', '=', 'forwarder').orderBy('slug').executeTakeFirstOrThrow()).id;
  });
  afterAll(async () => {
    await built.app.close();
    await env.cleanup();
  });

  it('0-cent bookings are never selected, so they cannot crowd a real booking out of the batch', async () => {
    const zero = [await booking(0, 60_000), await booking(0, 50_000), await booking(0, 40_000)];
    const real = await booking(12_345, 10_000);
    // a batch of 2: before the fix the two oldest 0-cent bookings filled it on every sweep, for ever
    expect(await built.ctx.services.ledger.sweep(0, 2)).toEqual({ settled: 1, refunded: 0, failed: 0 });
    expect(await statusOf(real)).toBe('settled');
    for (const id of zero) expect(await statusOf(id)).toBe('confirmed');
    expect(await built.ctx.services.ledger.sweep(0, 2)).toEqual({ settled: 0, refunded: 0, failed: 0 });
  });

  it('a booking whose settlement fails is logged and skipped (then backed off); the others settle', async () => {
    const bad = await booking(5_000, 30_000);
    const good = await booking(7_000, 20_000);
    await sql.raw(`create function fail_settle() returns trigger language plpgsql as $$ begin raise exception 'injected fault'; end $$`).execute(env.db);
    await sql.raw(`create trigger fail_settle before insert on ledger_transactions for each row when (new.booking_id = '${bad}') execute function fail_settle()`).execute(env.db);
    const errors: string[] = [];
    expect(await built.ctx.services.ledger.sweep(0, 500, { error: (m) => errors.push(m) })).toEqual({ settled: 1, refunded: 0, failed: 1 });
    expect(errors.join()).toContain(bad);
    expect(await statusOf(good)).toBe('settled');
    expect(await statusOf(bad)).toBe('confirmed');
    // backing off: the failing booking is not picked again at once (it cannot fill the next batches)
    expect(await built.ctx.services.ledger.sweep(0, 1, { error: (m) => errors.push(m) })).toEqual({ settled: 0, refunded: 0, failed: 0 });
    await sql`drop trigger fail_settle on ledger_transactions`.execute(env.db);
    expect((await built.ctx.services.ledger.settleBooking(bad)).already).toBe(false);
    expect(await statusOf(bad)).toBe('settled');
  });
});
