import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamEventSink } from '../../server/adapters/realtime/events.ts';
import { createContext, type Context } from '../../server/context.ts';
import { seedActivity, type ActivitySummary } from '../../server/seed/activity.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

/** Issue 11, item 1: the demo network is alive — loads, holds, auctions, falling listings — through the services. */
describe('demo activity (npm run seed -- --activity)', () => {
  let env: TestEnv;
  let ctx: Context;
  let summary: ActivitySummary;
  const now = new Date();

  beforeAll(async () => {
    env = await createTestEnv({ template: 'demo' });
    // built as the seed CLI builds it: the schema owner's URL, a Redis event stream
    ctx = createContext({ ...env.cfg, databaseUrl: env.ownerDatabaseUrl }, (redis) => new StreamEventSink(redis, env.cfg.redisPrefix));
    await ctx.ready();
    const started = Date.now();
    summary = await seedActivity(ctx, now);
    console.log(`seedActivity: ${((Date.now() - started) / 1000).toFixed(1)}s`, summary);
  });
  afterAll(async () => {
    await ctx?.close();
    await env?.cleanup();
  });

  it('loads most upcoming fixed-listing departures to 40–90 %, spread over the four forwarders', async () => {
    expect(summary.skipped).toBe(false);
    expect(summary.refused).toBe(0);
    const deps = await env.db
      .selectFrom('departures as d')
      .select(['d.id', 'd.capacity_teu', 'd.held_teu', 'd.booked_teu'])
      .where('d.cutoff_at', '>', now)
      .where('d.departs_at', '<=', new Date(now.getTime() + 14 * 86_400_000))
      .where((eb) => eb.exists(eb.selectFrom('listings as l').select('l.id').whereRef('l.departure_id', '=', 'd.id').where('l.format', '=', 'fixed')))
      .execute();
    expect(deps.length).toBeGreaterThan(20);
    const inBand = deps.filter((d) => {
      const lf = (d.booked_teu + d.held_teu) / d.capacity_teu;
      return lf >= 0.4 && lf <= 0.9;
    });
    expect(inBand.length / deps.length).toBeGreaterThanOrEqual(0.7);
    const byForwarder = await env.db
      .selectFrom('bookings as b')
      .innerJoin('organisations as o', 'o.id', 'b.forwarder_org_id')
      .select(['o.slug', sql<number>`count(*)::int`.as('n')])
      .groupBy('o.slug')
      .execute();
    expect(byForwarder.map((r) => r.slug).sort()).toEqual(['forwarder1', 'forwarder2', 'forwarder3', 'forwarder4']);
    expect(byForwarder.reduce((s, r) => s + r.n, 0)).toBe(summary.bookings);
  });

  it('never overbooks a departure (TEU and tonnes)', async () => {
    const over = await env.db
      .selectFrom('departures')
      .select('id')
      .where((eb) =>
        eb.or([
          eb(sql`held_teu + booked_teu`, '>', eb.ref('capacity_teu')),
          eb(sql`held_tonnes + booked_tonnes`, '>', eb.ref('capacity_tonnes')),
        ]),
      )
      .execute();
    expect(over).toEqual([]);
  });

  it('leaves active holds, running ascending and sealed auctions with bids, and falling listings', async () => {
    const holds = await env.db.selectFrom('holds').select('id').where('status', '=', 'active').where('expires_at', '>', new Date()).execute();
    expect(holds.length).toBeGreaterThan(0);
    const auctions = await env.db
      .selectFrom('listings as l')
      .select(['l.format', 'l.closes_at', sql<number>`(select count(*)::int from bids b where b.listing_id = l.id)`.as('bids')])
      .where('l.status', '=', 'open')
      .where('l.format', 'in', ['ascending', 'sealed'])
      .execute();
    for (const f of ['ascending', 'sealed'] as const) {
      const open = auctions.filter((a) => a.format === f);
      expect(open.length, f).toBeGreaterThan(0);
      expect(open.some((a) => a.bids > 0), f).toBe(true);
      for (const a of open) expect(a.closes_at!.getTime()).toBeGreaterThan(Date.now());
    }
    const falling = await env.db.selectFrom('listings').select('id').where('status', '=', 'open').where('format', '=', 'falling').execute();
    expect(falling.length).toBeGreaterThan(0);
  });

  it('bookings are real: the settlement jobs settle them and the ledger verifies', async () => {
    // each confirm wrote its booking.settle job to the outbox (drained to the queue; no worker runs here):
    // the settlement sweep does what the worker would
    const ids = (await env.db.selectFrom('bookings').select('id').where('status', '=', 'confirmed').execute()).map((b) => b.id);
    expect(ids.length).toBe(summary.bookings);
    let settled = 0;
    await Promise.all(ids.map(async (id) => {
      const r = await ctx.services.ledger.settleQueued(id); // what the worker's booking.settle job calls
      if (!r.already) settled++;
    }));
    expect(settled).toBe(summary.bookings);
    const v = await verifyLedger(env.db);
    expect(v.ok, JSON.stringify(v.checks, null, 2)).toBe(true);
    const invoices = await env.db.selectFrom('invoices').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    expect(invoices.n).toBeGreaterThan(0);
  });

  it('runs once: a second run changes nothing', async () => {
    const load = () => env.db.selectFrom('departures').select(sql<number>`sum(booked_teu)::int`.as('n')).executeTakeFirstOrThrow();
    const before = await load();
    const again = await seedActivity(ctx, new Date());
    expect(again.skipped).toBe(true);
    expect(await load()).toEqual(before);
  });
});
