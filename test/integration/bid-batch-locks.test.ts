import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockListingsAtClock, writeBidBatch } from '../../server/adapters/db/auctions-repo.ts';
import { createDb, type Db } from '../../server/adapters/db/db.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createAscendingAuction, createForwarders } from '../helpers/fixtures.ts';

/** The bid batch statements under a lock wait and as the app role (an intruder review's probes, kept). */
describe('the bid batch statements, as the app role and after a lock wait', () => {
  let env: TestEnv;
  let app: Db;
  let a: string;
  let b: string;
  let orgId: string;

  beforeAll(async () => {
    env = await createTestEnv();
    app = createDb(env.databaseUrl, { max: 3 });
    [{ orgId }] = (await createForwarders(env.db, 1, 'revlock')) as [{ email: string; orgId: string }];
    const x = (await createAscendingAuction(env.db, { teu: 10 })).listingId;
    const y = (await createAscendingAuction(env.db, { teu: 10 })).listingId;
    [a, b] = [x, y].sort() as [string, string];
  });
  afterAll(async () => {
    await app?.destroy();
    await env?.cleanup();
  });

  it('returns the row version committed by the holder it waited for (EvalPlanQual), clock after the last lock', async () => {
    let releasedAt: Date | undefined;
    let release!: () => void;
    const holding = new Promise<void>((r) => (release = r));
    // the holder has the SECOND listing in lock order, and changes it
    const holder = env.db.transaction().execute(async (tx) => {
      await sql`select 1 from listings where id = ${b} for update`.execute(tx);
      await holding;
      await sql`update listings set bid_seq = 77, closes_at = closes_at + interval '1 minute' where id = ${b}`.execute(tx);
      releasedAt = (await sql<{ t: Date }>`select clock_timestamp() as t`.execute(tx)).rows[0]!.t;
    });
    await new Promise((r) => setTimeout(r, 50));
    const batch = app.transaction().execute((tx) => lockListingsAtClock(tx, [a, b]));
    await new Promise((r) => setTimeout(r, 200));
    release();
    await holder;
    const got = await batch;
    expect(got.listings.map((l) => l.id)).toEqual([a, b]);
    expect(Number(got.listings[1]!.bid_seq)).toBe(77);
    expect(got.now.getTime()).toBeGreaterThanOrEqual(releasedAt!.getTime());
  });

  it('writeBidBatch runs as the app role (cx_app)', async () => {
    const now = new Date();
    const id = randomUUID();
    await app.transaction().execute((tx) =>
      writeBidBatch(
        tx,
        {
          bids: [{ id, listing_id: a, org_id: orgId, user_id: null, seq: 1, teu: 2, unit_price_cents: 10_000, all_or_nothing: false, max_unit_price_cents: null, replaces_bid_id: null, placed_at: now, bid_group_id: null }],
          replaced: [],
          listings: [{ id: a, bidSeq: 1, closesAt: new Date(now.getTime() + 3_600_000) }],
          audits: [{ actor: { userId: null, orgId }, id, data: { x: 1 } }],
        },
        now,
      ),
    );
    const r = await env.db.selectFrom('bids').select(['status']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(r.status).toBe('active');
  });
});
