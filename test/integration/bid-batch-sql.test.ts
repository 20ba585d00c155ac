import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockListingsAtClock, writeBidBatch } from '../../server/adapters/db/auctions-repo.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createForwarders } from '../helpers/fixtures.ts';

/** The two statements a batch of bids runs under its listings' locks (server/services/auctions/bidding.ts). */
describe('the bid batch statements', () => {
  let env: TestEnv;
  let listingId: string;
  let orgId: string;

  beforeAll(async () => {
    env = await createTestEnv();
    [{ orgId }] = (await createForwarders(env.db, 1, 'batchsql')) as [{ email: string; orgId: string }];
    const corridor = await env.db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
    const op = await env.db.selectFrom('organisations').select('id').where('kind', '=', 'operator').executeTakeFirstOrThrow();
    const cutoff = new Date(Date.now() + 2 * 86_400_000);
    const d = await env.db
      .insertInto('departures')
      .values({
        corridor_id: corridor.id, operator_org_id: op.id, asset_name: 'Batch SQL', departs_at: new Date(cutoff.getTime() + 3_600_000),
        arrives_at: new Date(cutoff.getTime() + 30 * 3_600_000), cutoff_at: cutoff, capacity_teu: 50, capacity_tonnes: 1000,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const l = await env.db
      .insertInto('listings')
      .values({
        departure_id: d.id, format: 'ascending', teu: 40, remaining_teu: 40, reserve_price_cents: 10_000, min_increment_cents: 100,
        opens_at: new Date(Date.now() - 1000), closes_at: new Date(Date.now() + 600_000), max_close_at: cutoff,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    listingId = l.id;
  });
  afterAll(async () => env?.cleanup());

  it('reads the database clock only once every lock is held', async () => {
    let releasedAt: Date | undefined;
    let release!: () => void;
    const holding = new Promise<void>((r) => (release = r));
    const holder = env.db.transaction().execute(async (tx) => {
      await sql`select 1 from listings where id = ${listingId} for update`.execute(tx);
      await holding;
      releasedAt = (await sql<{ t: Date }>`select clock_timestamp() as t`.execute(tx)).rows[0]!.t;
    });
    // the batch asks for the lock while the holder has it: its clock must come after the holder let go
    await new Promise((r) => setTimeout(r, 50));
    const batch = env.db.transaction().execute((tx) => lockListingsAtClock(tx, [listingId, randomUUID()].sort()));
    await new Promise((r) => setTimeout(r, 200));
    release();
    await holder;
    const got = await batch;
    expect(got.listings.map((l) => l.id)).toEqual([listingId]);
    expect(got.now.getTime()).toBeGreaterThanOrEqual(releasedAt!.getTime());
    // no listing found: no rows, still the clock
    const none = await env.db.transaction().execute((tx) => lockListingsAtClock(tx, [randomUUID()]));
    expect(none.listings).toEqual([]);
    expect(none.now).toBeInstanceOf(Date);
  });

  it('writes bids, raises (replaced in the same batch or stored before), the listing and the audit in one statement', async () => {
    const now = new Date();
    const bid = (seq: number, price: number, replaces: string | null = null) => ({
      id: randomUUID(), listing_id: listingId, org_id: orgId, user_id: null, seq, teu: 2, unit_price_cents: price, all_or_nothing: false,
      max_unit_price_cents: null, replaces_bid_id: replaces, placed_at: now, bid_group_id: null,
    });
    const stored = bid(1, 10_000);
    await env.db.transaction().execute((tx) =>
      writeBidBatch(tx, { bids: [stored], replaced: [], listings: [{ id: listingId, bidSeq: 1, closesAt: new Date(now.getTime() + 700_000) }], audits: [] }, now),
    );
    const first = bid(2, 10_100, stored.id);
    const raised = bid(3, 10_200, first.id);
    const closesAt = new Date(now.getTime() + 800_000);
    const actor = { userId: null, orgId };
    await env.db.transaction().execute((tx) =>
      writeBidBatch(
        tx,
        {
          bids: [first, raised], replaced: [stored.id, first.id], listings: [{ id: listingId, bidSeq: 3, closesAt }],
          audits: [{ actor, id: first.id, data: { n: 1 } }, { actor, id: raised.id, data: { n: 2 } }],
        },
        now,
      ),
    );
    const rows = await env.db.selectFrom('bids').select(['id', 'status', 'seq']).where('listing_id', '=', listingId).orderBy('seq').execute();
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      [stored.id, 'replaced'],
      [first.id, 'replaced'],
      [raised.id, 'active'],
    ]);
    const l = await env.db.selectFrom('listings').select(['bid_seq', 'closes_at']).where('id', '=', listingId).executeTakeFirstOrThrow();
    expect([Number(l.bid_seq), l.closes_at!.getTime()]).toEqual([3, closesAt.getTime()]);
    const audits = await env.db.selectFrom('audit_log').select(['entity_id', 'action', 'actor_org_id', 'data']).where('entity_id', 'in', [first.id, raised.id]).orderBy('id').execute();
    expect(audits).toEqual([
      { entity_id: first.id, action: 'bid.place', actor_org_id: orgId, data: { n: 1 } },
      { entity_id: raised.id, action: 'bid.place', actor_org_id: orgId, data: { n: 2 } },
    ]);
  });
});
