import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../server/adapters/db/db.ts';
import { idemKey } from '../../server/adapters/db/idempotency.ts';
import type { Principal } from '../../server/domain/principal.ts';
import { Bidding } from '../../server/services/auctions/bidding.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createAscendingAuction, createForwarders } from '../helpers/fixtures.ts';

/**
 * A batch that waits for its listing's lock (another process holds it) takes in the bids that came for that listing
 * meanwhile (server/services/auctions/bidding.ts, `takeLate`): one lock and one database clock for all of them, in
 * arrival order — except behind a bid with an Idempotency-Key, which keeps its place and the bids after it.
 */
describe('bids that arrive while their batch waits for the listing lock', () => {
  let env: TestEnv;
  let app: Db;
  let bidding: Bidding;
  let fwd: Principal[];

  beforeAll(async () => {
    env = await createTestEnv();
    app = createDb(env.databaseUrl, { max: 4 });
    bidding = new Bidding(app, { emit: async () => {} }, { softCloseWindowMs: 0, softCloseExtendMs: 0 });
    const orgs = await createForwarders(env.db, 3, 'late');
    fwd = await Promise.all(
      orgs.map(async (o) => {
        const u = await env.db.selectFrom('users').select(['id', 'name']).where('email', '=', o.email).executeTakeFirstOrThrow();
        return { kind: 'session', userId: u.id, email: o.email, name: u.name, orgId: o.orgId, orgName: 'late', orgKind: 'forwarder', role: 'admin' } as Principal;
      }),
    );
  });
  afterAll(async () => {
    await app?.destroy();
    await env?.cleanup();
  });

  /** Holds the listing's row lock from another connection until `release` is called. */
  async function holdLock(listingId: string) {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const done = env.db.transaction().execute(async (tx) => {
      await sql`select 1 from listings where id = ${listingId} for update`.execute(tx);
      locked();
      await gate;
    });
    await isLocked;
    return async () => {
      release();
      await done;
    };
  }

  /** Resolves once the listing's lock has a waiter (the first batch asked for it). */
  async function waiterOn(listingId: string) {
    for (let i = 0; i < 200; i++) {
      const r = await sql<{ n: number }>`
        select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
         where not l.granted and a.query like '%for update%' and a.datname = current_database()`.execute(env.db);
      if (r.rows[0]!.n > 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no batch waited for the lock of ${listingId}`);
  }

  const stored = (listingId: string) =>
    env.db.selectFrom('bids').select(['org_id', 'unit_price_cents', 'seq', 'placed_at']).where('listing_id', '=', listingId).orderBy('seq').execute();

  it('decides the bids that came during the wait with the waiting batch: one clock, arrival order', async () => {
    const { listingId } = await createAscendingAuction(env.db, { teu: 50, minIncrementCents: 100 });
    const release = await holdLock(listingId);
    const first = bidding.place(fwd[0]!, listingId, { teu: 1, unitPriceCents: 10_000 });
    await waiterOn(listingId);
    const late = [1, 2, 3, 4].map((k) => bidding.place(fwd[k % 3]!, listingId, { teu: 1, unitPriceCents: 10_000 + k * 100 }));
    await new Promise((r) => setTimeout(r, 50)); // the late bids are waiting in the batcher
    await release();
    const answers = await Promise.all([first, ...late]);
    expect(answers.every((a) => a.status === 'leading')).toBe(true);
    const rows = await stored(listingId);
    expect(rows.map((r) => Number(r.unit_price_cents))).toEqual([10_000, 10_100, 10_200, 10_300, 10_400]); // arrival order
    // one batch: every bid was decided at the one database clock read under the lock
    expect(new Set(rows.map((r) => r.placed_at.getTime())).size).toBe(1);
  });

  it('leaves a keyed bid and every bid after it on that listing to the next batch, in order', async () => {
    const { listingId } = await createAscendingAuction(env.db, { teu: 50, minIncrementCents: 100 });
    const release = await holdLock(listingId);
    const first = bidding.place(fwd[0]!, listingId, { teu: 1, unitPriceCents: 10_000 });
    await waiterOn(listingId);
    const body = { teu: 1, unitPriceCents: 10_200 };
    const plainBefore = bidding.place(fwd[1]!, listingId, { teu: 1, unitPriceCents: 10_100 });
    const keyed = bidding.place(fwd[2]!, listingId, body, idemKey(fwd[2]!.orgId, 'late-key-1', 'POST /api/listings/:id/bids', body));
    const plainAfter = bidding.place(fwd[1]!, listingId, { teu: 1, unitPriceCents: 10_300 });
    await new Promise((r) => setTimeout(r, 50));
    await release();
    await Promise.all([first, plainBefore, keyed, plainAfter]);
    const rows = await stored(listingId);
    expect(rows.map((r) => Number(r.unit_price_cents))).toEqual([10_000, 10_100, 10_200, 10_300]);
    const at = rows.map((r) => r.placed_at.getTime());
    expect(at[1]).toBe(at[0]); // the plain bid before the keyed one joined the waiting batch
    expect(at[2]).toBeGreaterThan(at[1]!); // the keyed one went in a batch of its own…
    expect(at[3]).toBe(at[2]); // …with the bid that came after it
  });
});
