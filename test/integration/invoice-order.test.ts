import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerService } from '../../server/services/ledger/index.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';

/**
 * An issuer's invoice numbers and issue times rise together (migration 20261205T1300). An operator walking the demo
 * saw invoice 7692 listed above 7693: settlement runs in lanes, each with the time it started, and the lane that took
 * the counter first got the lower numbers although it had started later. Here two batches of one operator race
 * exactly so: the earlier one is held after its charges (the test seam) while the later one settles in full.
 */
describe('invoice numbers and issue times', () => {
  let env: TestEnv;
  let bookings: string[];
  let operatorId: string;

  beforeAll(async () => {
    env = await createTestEnv();
    const d = await createDepartureWithListing(env.db, { capacityTeu: 10, capacityTonnes: 200, listedTeu: 10, unitPriceCents: 50_000 });
    const dep = await env.db.selectFrom('departures').select('operator_org_id').where('id', '=', d.departureId).executeTakeFirstOrThrow();
    operatorId = dep.operator_org_id;
    const fwd = await env.db.selectFrom('organisations').select('id').where('kind', '=', 'forwarder').orderBy('slug').executeTakeFirstOrThrow();
    bookings = (
      await env.db
        .insertInto('bookings')
        .values([0, 1, 2].map(() => ({ departure_id: d.departureId, listing_id: d.listingId, forwarder_org_id: fwd.id, teu: 1, tonnes: 10, unit_price_cents: 50_000, total_cents: 50_000 })))
        .returning('id')
        .execute()
    ).map((r) => r.id);
    await env.db.updateTable('departures').set({ booked_teu: 3, booked_tonnes: 30 }).where('id', '=', d.departureId).execute();
    await env.db.updateTable('listings').set({ remaining_teu: 7 }).where('id', '=', d.listingId).execute();
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it('a batch that started earlier but took the counter later is not issued before the one that took it first', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let paused = false;
    const first = new LedgerService(env.db, { platformFeeBps: 300, vatRateBps: 2100 }, {
      afterCharges: async () => {
        if (paused) return;
        paused = true;
        await held;
      },
    });
    const second = new LedgerService(env.db, { platformFeeBps: 300, vatRateBps: 2100 });
    const early = first.settleBookings([bookings[0]!]); // starts first, stops after its charges (counter not yet taken)
    await expect.poll(() => paused).toBe(true);
    await new Promise((r) => setTimeout(r, 20)); // the clock moves on
    const [late] = await second.settleBookings([bookings[1]!]); // starts later, takes the counter first
    release();
    const [earlyResult] = await early;
    const issued = await env.db
      .selectFrom('invoices')
      .select(['id', 'seq', 'issued_at'])
      .where('id', 'in', [(late as { invoiceId: string }).invoiceId, (earlyResult as { invoiceId: string }).invoiceId])
      .execute();
    const lateInv = issued.find((i) => i.id === (late as { invoiceId: string }).invoiceId)!;
    const earlyInv = issued.find((i) => i.id === (earlyResult as { invoiceId: string }).invoiceId)!;
    expect(earlyInv.seq).toBe(lateInv.seq + 1); // the later-started batch took the lower number
    expect(earlyInv.issued_at.getTime()).toBeGreaterThanOrEqual(lateInv.issued_at.getTime()); // and the time does not go back
    // the issuer's list, newest first, reads in number order
    const list = await env.db.selectFrom('invoices').select('seq').where('issuer_org_id', '=', operatorId)
      .orderBy('issued_at', 'desc').orderBy('seq', 'desc').orderBy('id', 'desc').limit(20).execute();
    const seqs = list.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
  });

  it('a batch that settles the past keeps the time it is given (the history seed)', async () => {
    const past = new Date(Date.now() - 30 * 86_400_000);
    const ledger = new LedgerService(env.db, { platformFeeBps: 300, vatRateBps: 2100 });
    const [r] = await ledger.settleBookings([bookings[2]!], past);
    const inv = await env.db.selectFrom('invoices').select('issued_at').where('id', '=', (r as { invoiceId: string }).invoiceId).executeTakeFirstOrThrow();
    expect(inv.issued_at.getTime()).toBe(past.getTime());
  });
});
