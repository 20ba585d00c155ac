import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../server/adapters/db/db.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

/** An ascending auction (10 TEU, reserve 10.00, step 1.00) on a fresh departure of `operatorOrgId`, in the database. */
async function createAuction(db: Db, operatorOrgId: string, o: { closed?: boolean } = {}) {
  const corridor = await db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
  const cutoff = new Date(Date.now() + 2 * 86_400_000);
  const d = await db
    .insertInto('departures')
    .values({
      corridor_id: corridor.id, operator_org_id: operatorOrgId, asset_name: 'Idempotent Shuttle', departs_at: new Date(cutoff.getTime() + 3_600_000),
      arrives_at: new Date(cutoff.getTime() + 30 * 3_600_000), cutoff_at: cutoff, capacity_teu: 20, capacity_tonnes: 400,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const l = await db
    .insertInto('listings')
    .values({
      departure_id: d.id, format: 'ascending', teu: 10, remaining_teu: 10, reserve_price_cents: 1000, min_increment_cents: 100,
      opens_at: new Date(Date.now() - 1000), closes_at: new Date(Date.now() + 3_600_000), max_close_at: cutoff, ...(o.closed ? { status: 'closed' as const } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return l.id;
}

/**
 * A bid with an Idempotency-Key goes through the same group commit as one without: the key is claimed in the
 * batch's transaction, a used key replays its answer, a refused bid keeps its refusal under its key, and one listing's
 * refusal never fails the other bids of the batch.
 */
describe('bids with an Idempotency-Key (one write path with the others)', () => {
  let env: TestEnv;
  let built: App;
  let f: Session[];
  let opOrg: string;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    f = await Promise.all([1, 2].map((i) => signIn(built.app, `forwarder${i}@demo.test`)));
    opOrg = (await signIn(built.app, 'operator1@demo.test')).me.org.id;
  });
  afterAll(async () => {
    await built.app.close();
    await env.cleanup();
  });

  const bid = (s: Session, listingId: string, body: Record<string, unknown>, key?: string) =>
    as(built.app, s)({ method: 'POST', url: `/api/listings/${listingId}/bids`, payload: body, ...(key ? { headers: { 'idempotency-key': key } } : {}) });
  const bidsOn = async (listingId: string) => (await env.db.selectFrom('bids').select('id').where('listing_id', '=', listingId).execute()).length;

  it('a repeated key replays the first answer, also when the repeats arrive at once; a different body with it is refused', async () => {
    const listingId = await createAuction(env.db, opOrg);
    const body = { teu: 2, unitPriceCents: 1500 };
    const answers = await Promise.all(Array.from({ length: 6 }, () => bid(f[0]!, listingId, body, 'bid-key-1')));
    expect(answers.map((r) => r.statusCode)).toEqual([201, 201, 201, 201, 201, 201]);
    expect(new Set(answers.map((r) => r.json().id)).size).toBe(1);
    const later = await bid(f[0]!, listingId, { unitPriceCents: 1500, teu: 2 }, 'bid-key-1'); // same request, keys reordered
    expect(later.statusCode).toBe(201);
    expect(later.json()).toEqual(answers[0]!.json());
    expect(await bidsOn(listingId)).toBe(1);

    const reused = await bid(f[0]!, listingId, { teu: 3, unitPriceCents: 1500 }, 'bid-key-1');
    expect(reused.statusCode).toBe(409);
    expect(reused.json().error.code).toBe('idempotency_key_reused');
    expect(await bidsOn(listingId)).toBe(1);
  });

  it('a refused bid keeps its refusal under its key (a repeat gets it again, another bid needs another key); a batch of keyed and plain bids on several listings decides each on its own', async () => {
    const listingId = await createAuction(env.db, opOrg);
    const closedId = await createAuction(env.db, opOrg, { closed: true });
    const low = await bid(f[0]!, listingId, { teu: 1, unitPriceCents: 500 }, 'bid-key-2');
    expect(low.statusCode).toBe(409);
    expect(low.json().error.code).toBe('bid_too_low');
    const kept = await env.db.selectFrom('idempotency_keys').select(['key', 'status_code']).where('key', '=', 'bid-key-2').execute();
    expect(kept).toEqual([{ key: 'bid-key-2', status_code: 409 }]);
    const repeat = await bid(f[0]!, listingId, { teu: 1, unitPriceCents: 500 }, 'bid-key-2');
    expect(repeat.statusCode).toBe(409);
    expect(repeat.json()).toEqual(low.json());
    expect((await bid(f[0]!, listingId, { teu: 1, unitPriceCents: 1200 }, 'bid-key-2')).json().error.code).toBe('idempotency_key_reused');
    expect((await bid(f[0]!, listingId, { teu: 1, unitPriceCents: 1200 }, 'bid-key-2b')).statusCode).toBe(201);

    const [a, b, c, d] = await Promise.all([
      bid(f[1]!, listingId, { teu: 2, unitPriceCents: 1600 }, 'bid-key-3'),
      bid(f[1]!, closedId, { teu: 2, unitPriceCents: 1600 }, 'bid-key-4'),
      bid(f[0]!, listingId, { teu: 1, unitPriceCents: 1700 }),
      bid(f[1]!, closedId, { teu: 1, unitPriceCents: 1700 }),
    ]);
    expect([a.statusCode, b.statusCode, c.statusCode, d.statusCode]).toEqual([201, 409, 201, 409]);
    expect(b.json().error.code).toBe('auction_closed');
    const stored = await env.db.selectFrom('idempotency_keys').select(['key', 'status_code']).where('key', 'in', ['bid-key-3', 'bid-key-4']).orderBy('key').execute();
    expect(stored).toEqual([{ key: 'bid-key-3', status_code: 201 }, { key: 'bid-key-4', status_code: 409 }]);
    expect(await bidsOn(listingId)).toBe(3);
    expect(await bidsOn(closedId)).toBe(0);
  });
});
