import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../server/adapters/db/db.ts';
import type { Principal } from '../../server/domain/principal.ts';
import { Bidding } from '../../server/services/auctions/bidding.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createAscendingAuction, createForwarders } from '../helpers/fixtures.ts';

/**
 * A late bid taken in by `takeLate` must not be decided at the database clock the batch read when it got its lock: that
 * clock can be from BEFORE the late bid arrived (the lock's answer waits for a busy event loop — a CPU-heavy batch of
 * another lane, the warm-up — simulated here with a synchronous busy wait), and a bid sent after the close would be
 * accepted. The batch reads the clock again once it took late bids in (an intruder review's probe, kept).
 */
describe('late bids and the database clock', () => {
  let env: TestEnv;
  let app: Db;
  let bidding: Bidding;
  let fwd: Principal[];

  beforeAll(async () => {
    env = await createTestEnv();
    app = createDb(env.databaseUrl, { max: 4 });
    bidding = new Bidding(app, { emit: async () => {} }, { softCloseWindowMs: 0, softCloseExtendMs: 0 });
    const orgs = await createForwarders(env.db, 3, 'lateclock');
    fwd = await Promise.all(
      orgs.map(async (o) => {
        const u = await env.db.selectFrom('users').select(['id', 'name']).where('email', '=', o.email).executeTakeFirstOrThrow();
        return { kind: 'session', userId: u.id, email: o.email, name: u.name, orgId: o.orgId, orgName: 'lateclock', orgKind: 'forwarder', role: 'admin' } as Principal;
      }),
    );
  });
  afterAll(async () => {
    await app?.destroy();
    await env?.cleanup();
  });

  it('refuses a bid that arrived after the close, even when it joins a batch whose lock was granted before the close', async () => {
    const { listingId } = await createAscendingAuction(env.db, { teu: 50, minIncrementCents: 100, closesInMs: 2500 });
    const closesAt = (await env.db.selectFrom('listings').select('closes_at').where('id', '=', listingId).executeTakeFirstOrThrow()).closes_at!.getTime();
    await bidding.place(fwd[0]!, listingId, { teu: 1, unitPriceCents: 10_000 }); // the format is cached: a later place() submits without I/O

    // another session holds the listing's lock until 400 ms before the close (released by Postgres itself)
    const releaseAt = closesAt - 400;
    const holder = sql`select pg_sleep(${(releaseAt - Date.now()) / 1000}) from (select id from listings where id = ${listingId} for update) s`.execute(env.db);
    await new Promise((r) => setTimeout(r, 150));
    const first = bidding.place(fwd[1]!, listingId, { teu: 1, unitPriceCents: 10_100 }); // waits for the lock
    while (Date.now() < releaseAt - 150) await new Promise((r) => setTimeout(r, 10));

    // the event loop is busy (as under a flurry) from before the lock is released until after the close
    while (Date.now() < closesAt + 200) {
      /* busy */
    }
    const submittedAt = Date.now();
    expect(submittedAt).toBeGreaterThan(closesAt);
    const late = bidding.place(fwd[2]!, listingId, { teu: 1, unitPriceCents: 10_200 }).then(
      (a) => a,
      (e: Error) => e,
    );
    await holder;
    // the first bid is decided at the batch's clock — read under the lock, after the late bid was taken in: it may be
    // refused too (a bid is decided when its batch holds the lock, as always); it must not fail otherwise
    await first.catch((e: Error & { code?: string }) => expect(e.code).toBe('auction_closed'));
    const answer = await late;

    // a bid after the close must be refused (as the next one is)
    const control = await bidding.place(fwd[2]!, listingId, { teu: 1, unitPriceCents: 10_300 }).catch((e: Error & { code?: string }) => e);
    expect((control as { code?: string }).code).toBe('auction_closed');

    const row = await env.db.selectFrom('bids').select(['placed_at']).where('listing_id', '=', listingId).where('unit_price_cents', '=', 10_200).executeTakeFirst();
    expect({ accepted: !(answer instanceof Error), placedBeforeItArrived: row ? row.placed_at.getTime() < submittedAt : false }).toEqual({
      accepted: false,
      placedBeforeItArrived: false,
    });
  });
});
