import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Managed, TSX } from '../../scripts/lib/procs.mjs';
import type { Db } from '../../server/adapters/db/db.ts';
import type { LiveEvent } from '../../server/adapters/realtime/events.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';
import { waitUntil } from '../helpers/procs.ts';

/** An auction on a fresh departure of `operatorOrgId` (room for it and 10 TEU more), created in the database. */
async function createAuction(db: Db, operatorOrgId: string, o: { teu: number; format?: 'ascending' | 'sealed'; corridor?: string; reserve?: number }) {
  const corridor = await db.selectFrom('corridors').select('id').where('code', '=', o.corridor ?? 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
  const cutoff = new Date(Date.now() + 2 * 86_400_000);
  const d = await db
    .insertInto('departures')
    .values({
      corridor_id: corridor.id, operator_org_id: operatorOrgId, asset_name: 'Group Shuttle', departs_at: new Date(cutoff.getTime() + 3_600_000),
      arrives_at: new Date(cutoff.getTime() + 30 * 3_600_000), cutoff_at: cutoff, capacity_teu: o.teu + 10, capacity_tonnes: (o.teu + 10) * 20,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const l = await db
    .insertInto('listings')
    .values({
      departure_id: d.id, format: o.format ?? 'ascending', teu: o.teu, remaining_teu: o.teu, reserve_price_cents: o.reserve ?? 10_000, min_increment_cents: 100,
      opens_at: new Date(Date.now() - 1000), closes_at: new Date(Date.now() + 3_600_000), max_close_at: cutoff,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { departureId: d.id, listingId: l.id };
}

const overdue = (db: Db, ...ids: string[]) => db.updateTable('listings').set({ closes_at: sql`now() - interval '1 second'` }).where('id', 'in', ids).execute();
const bidsOf = (db: Db, listingId: string) => db.selectFrom('bids').select(['id', 'org_id', 'status', 'bid_group_id', 'awarded_teu']).where('listing_id', '=', listingId).orderBy('seq').execute();
const groupRow = (db: Db, id: string) => db.selectFrom('bid_groups').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

interface Placed {
  id: string;
  status: string;
  bids: { id: string; listingId: string; status: string }[];
}

describe('bid groups: either-or bids, at most one wins', () => {
  let env: TestEnv;
  let built: App;
  let f: Session[];
  let op: Session;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    f = await Promise.all([1, 2, 3].map((i) => signIn(built.app, `forwarder${i}@demo.test`)));
    op = await signIn(built.app, 'operator1@demo.test');
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await built.app.close();
    await env.cleanup();
  });

  const bid = (s: Session, listingId: string, teu: number, unitPriceCents: number) =>
    as(built.app, s)({ method: 'POST', url: `/api/listings/${listingId}/bids`, payload: { teu, unitPriceCents } });
  const group = (s: Session, bids: { listingId: string; teu: number; unitPriceCents: number; allOrNothing?: boolean }[]) =>
    as(built.app, s)({ method: 'POST', url: '/api/bid-groups', payload: { bids } });
  const close = async (listingId: string) => {
    const emitted: LiveEvent[] = [];
    const spy = vi.spyOn(built.ctx.events, 'emit').mockImplementation(async (e) => void emitted.push(...e));
    try {
      return { r: await built.ctx.services.auctions.close(listingId), emitted };
    } finally {
      spy.mockRestore();
    }
  };

  it('the first close wins: its siblings are withdrawn in the same transaction and their auction re-ranks without them, live', async () => {
    const a = await createAuction(env.db, op.me.org.id, { teu: 5 });
    const b = await createAuction(env.db, op.me.org.id, { teu: 5, corridor: 'DEDUI-ITBLQ-rail' });
    const res = await group(f[0]!, [
      { listingId: a.listingId, teu: 3, unitPriceCents: 30_000 },
      { listingId: b.listingId, teu: 3, unitPriceCents: 30_000 },
    ]);
    expect(res.statusCode, res.body).toBe(201);
    const g = res.json() as Placed;
    expect(g.status).toBe('open');
    expect(g.bids.map((x) => [x.listingId, x.status])).toEqual([[a.listingId, 'leading'], [b.listingId, 'leading']]);
    expect((await bid(f[1]!, b.listingId, 3, 25_000)).statusCode).toBe(201); // B: f1 3 TEU, f2 the 2 left
    const before = (await as(built.app, f[1]!)({ method: 'GET', url: `/api/listings/${b.listingId}` })).json() as { leadingBids: { allocatedTeu: number }[]; bidSeq: number };
    expect(before.leadingBids.map((x) => x.allocatedTeu)).toEqual([3, 2]);
    const seqBefore = (await env.db.selectFrom('listings').select('bid_seq').where('id', '=', b.listingId).executeTakeFirstOrThrow()).bid_seq;
    expect(before.bidSeq).toBe(Number(seqBefore)); // the read names the book version of its ladder

    await overdue(env.db, a.listingId);
    const { r, emitted } = await close(a.listingId);
    expect(r).toMatchObject({ done: true, awardedTeu: 3 });

    // one commit did all of it
    expect((await bidsOf(env.db, a.listingId)).map((x) => x.status)).toEqual(['won']);
    const onB = await bidsOf(env.db, b.listingId);
    expect(onB.map((x) => [x.org_id, x.status])).toEqual([[f[0]!.me.org.id, 'withdrawn'], [f[1]!.me.org.id, 'active']]);
    const row = await groupRow(env.db, g.id);
    expect(row).toMatchObject({ status: 'won', won_bid_id: g.bids[0]!.id });
    expect(Number((await env.db.selectFrom('listings').select('bid_seq').where('id', '=', b.listingId).executeTakeFirstOrThrow()).bid_seq)).toBeGreaterThan(Number(seqBefore));

    // B re-ranked without the withdrawn bid: live, and in every read
    const ladder = emitted.find((e) => e.event === 'listing:update' && (e.payload as { listingId: string }).listingId === b.listingId);
    expect((ladder?.payload as { leadingBids: { allocatedTeu: number; unitPriceCents: number }[] }).leadingBids).toEqual([
      expect.objectContaining({ allocatedTeu: 3, unitPriceCents: 25_000 }),
    ]);
    // …with the book version the withdrawal moved on to, so that a client drops any older read or ladder
    const seqAfter = Number((await env.db.selectFrom('listings').select('bid_seq').where('id', '=', b.listingId).executeTakeFirstOrThrow()).bid_seq);
    expect((ladder?.payload as { bidSeq: number }).bidSeq).toBe(seqAfter);
    expect(ladder?.version).toBe(seqAfter); // and so do the emitter, the relay and the fan-out: the newest ladder wins
    const told = emitted.find((e) => e.event === 'bid-group:update');
    expect(told).toMatchObject({ rooms: [`org:${f[0]!.me.org.id}`], payload: { groupId: g.id, status: 'won', wonBidId: g.bids[0]!.id, withdrawnBidIds: [g.bids[1]!.id] } });
    const after = (await as(built.app, f[2]!)({ method: 'GET', url: `/api/listings/${b.listingId}` })).json() as { leadingBids: { allocatedTeu: number }[]; minNextBidCents: number };
    expect(after.leadingBids.map((x) => x.allocatedTeu)).toEqual([3]);
    expect(after.minNextBidCents).toBe(10_000); // 2 TEU unallocated again: the reserve

    // the forwarder sees it in My bids and in its group
    const mine = (await as(built.app, f[0]!)({ method: 'GET', url: `/api/listings/${b.listingId}/bids` })).json() as { status: string; groupId?: string }[];
    expect(mine).toEqual([expect.objectContaining({ status: 'withdrawn', groupId: g.id })]);
    const shown = (await as(built.app, f[0]!)({ method: 'GET', url: `/api/bid-groups/${g.id}` })).json() as { status: string; bids: { id: string; status: string; mode: string }[] };
    expect(shown.status).toBe('won');
    expect(Object.fromEntries(shown.bids.map((x) => [x.id, x.status]))).toEqual({ [g.bids[0]!.id]: 'won', [g.bids[1]!.id]: 'withdrawn' });
    const list = (await as(built.app, f[0]!)({ method: 'GET', url: '/api/bid-groups' })).json() as { id: string }[];
    expect(list.map((x) => x.id)).toContain(g.id);
    expect((await as(built.app, f[1]!)({ method: 'GET', url: `/api/bid-groups/${g.id}` })).statusCode).toBe(404);

    // B closes later: the withdrawn bid never counts, bidding went on without it
    expect((await bid(f[2]!, b.listingId, 2, 20_000)).statusCode).toBe(201);
    await overdue(env.db, b.listingId);
    expect((await close(b.listingId)).r).toMatchObject({ done: true, awardedTeu: 5 });
    expect((await bidsOf(env.db, b.listingId)).map((x) => x.status)).toEqual(['withdrawn', 'won', 'won']);
    const f1Bookings = await env.db.selectFrom('bookings').select('listing_id').where('forwarder_org_id', '=', f[0]!.me.org.id).where('listing_id', 'in', [a.listingId, b.listingId]).execute();
    expect(f1Bookings.map((x) => x.listing_id)).toEqual([a.listingId]);
  });

  it('a group bid that loses leaves its siblings standing; they can still win; a group all of whose bids lose is lost', async () => {
    const a = await createAuction(env.db, op.me.org.id, { teu: 2 });
    const b = await createAuction(env.db, op.me.org.id, { teu: 2, format: 'sealed' });
    const c = await createAuction(env.db, op.me.org.id, { teu: 2, format: 'sealed' });
    const g = (
      await group(f[0]!, [
        { listingId: a.listingId, teu: 2, unitPriceCents: 20_000, allOrNothing: true },
        { listingId: b.listingId, teu: 2, unitPriceCents: 20_000 },
        { listingId: c.listingId, teu: 1, unitPriceCents: 15_000 },
      ])
    ).json() as Placed;
    expect(g.bids.map((x) => x.status)).toEqual(['leading', 'sealed', 'sealed']);
    expect((await bid(f[1]!, a.listingId, 2, 50_000)).statusCode).toBe(201); // outbids the group's bid on A

    await overdue(env.db, a.listingId);
    const first = await close(a.listingId);
    expect(first.r).toMatchObject({ done: true, awardedTeu: 2 });
    expect((await bidsOf(env.db, a.listingId)).map((x) => x.status)).toEqual(['lost', 'won']);
    expect((await groupRow(env.db, g.id)).status).toBe('open');
    expect((await bidsOf(env.db, b.listingId)).map((x) => x.status)).toEqual(['active']);
    expect(first.emitted.some((e) => e.event === 'bid-group:update')).toBe(false);

    await overdue(env.db, b.listingId);
    expect((await close(b.listingId)).r).toMatchObject({ done: true, awardedTeu: 2 });
    expect((await bidsOf(env.db, b.listingId)).map((x) => x.status)).toEqual(['won']);
    expect((await bidsOf(env.db, c.listingId)).map((x) => x.status)).toEqual(['withdrawn']);
    expect(await groupRow(env.db, g.id)).toMatchObject({ status: 'won', won_bid_id: g.bids[1]!.id });
    await overdue(env.db, c.listingId);
    expect((await close(c.listingId)).r).toMatchObject({ done: true, awardedTeu: 0 });

    // every bid of a group loses: the group is lost
    const d = await createAuction(env.db, op.me.org.id, { teu: 1 });
    const e = await createAuction(env.db, op.me.org.id, { teu: 1 });
    const h = (await group(f[0]!, [{ listingId: d.listingId, teu: 1, unitPriceCents: 11_000 }, { listingId: e.listingId, teu: 1, unitPriceCents: 11_000 }])).json() as Placed;
    for (const l of [d, e]) expect((await bid(f[1]!, l.listingId, 1, 40_000)).statusCode).toBe(201);
    await overdue(env.db, d.listingId, e.listingId);
    await close(d.listingId);
    expect((await groupRow(env.db, h.id)).status).toBe('open');
    const last = await close(e.listingId);
    expect((await groupRow(env.db, h.id)).status).toBe('lost');
    expect(last.emitted.find((x) => x.event === 'bid-group:update')).toMatchObject({ payload: { groupId: h.id, status: 'lost' } });
  });

  it('bad groups are refused whole and change nothing', async () => {
    const a = await createAuction(env.db, op.me.org.id, { teu: 5 });
    const b = await createAuction(env.db, op.me.org.id, { teu: 5 });
    const fixed = await createDepartureWithListing(env.db, { capacityTeu: 10, capacityTonnes: 200 });
    const closed = await createAuction(env.db, op.me.org.id, { teu: 5 });
    await overdue(env.db, closed.listingId);
    const ok = (l: string, o: Record<string, unknown> = {}) => ({ listingId: l, teu: 1, unitPriceCents: 20_000, ...o });
    const counts = await tableCounts(env.db);
    const cases: [string, unknown, number, string, number?][] = [
      ['one listing twice', { bids: [ok(a.listingId), ok(a.listingId)] }, 400, 'invalid_bid_group'],
      ['a single listing', { bids: [ok(a.listingId)] }, 400, 'invalid_bid_group'],
      ['six listings', { bids: [a, b, closed, a, b, closed].map((x, i) => ok(i < 3 ? x.listingId : randomUUID())) }, 400, 'invalid_bid_group'],
      ['a fixed listing', { bids: [ok(a.listingId), ok(fixed.listingId)] }, 409, 'wrong_format', 1],
      ['a listing that does not exist', { bids: [ok(randomUUID()), ok(b.listingId)] }, 404, 'not_found', 0],
      ['a closed auction', { bids: [ok(a.listingId), ok(closed.listingId)] }, 409, 'auction_closed', 1],
      ['one bid too low', { bids: [ok(a.listingId), ok(b.listingId, { unitPriceCents: 5_000 })] }, 409, 'bid_too_low', 1],
      ['one bid larger than its auction', { bids: [ok(a.listingId, { teu: 6 }), ok(b.listingId)] }, 400, 'invalid_bid', 0],
      ['a bid of another forwarder adopted', { bids: [ok(a.listingId, { bidId: randomUUID() }), ok(b.listingId)] }, 400, 'invalid_input'],
    ];
    for (const [name, body, status, code, index] of cases) {
      const r = await as(built.app, f[0]!)({ method: 'POST', url: '/api/bid-groups', payload: body as Record<string, unknown> });
      expect(r.statusCode, `${name}: ${r.body}`).toBe(status);
      const e = r.json();
      expectErrorShape(e);
      expect(e.error.code, name).toBe(code);
      if (index !== undefined) expect((e.error as { bidIndex?: number }).bidIndex, name).toBe(index);
    }
    expect(await tableCounts(env.db)).toEqual(counts);
    // not for operators and schedulers
    const sched = await signIn(built.app, 'scheduler@demo.test');
    for (const s of [op, sched]) {
      expect((await as(built.app, s)({ method: 'POST', url: '/api/bid-groups', payload: { bids: [ok(a.listingId), ok(b.listingId)] } })).statusCode).toBe(403);
    }
    // the picker lists open auctions, not closed or fixed ones
    const open = (await as(built.app, f[0]!)({ method: 'GET', url: '/api/auctions' })).json() as { listingId: string; mode: string }[];
    expect(open.map((x) => x.listingId)).toEqual(expect.arrayContaining([a.listingId, b.listingId]));
    expect(open.map((x) => x.listingId)).not.toContain(closed.listingId);
    expect(open.map((x) => x.listingId)).not.toContain(fixed.listingId);
  });
});

/** Sends `<tag> <listingId>` to an auction-closer process and waits for its answer. */
async function closeOn(p: Managed, tag: string, listingId: string): Promise<{ done: boolean; awardedTeu?: number }> {
  p.child!.stdin!.write(`${tag} ${listingId}\n`);
  const line = await waitUntil(
    async () => p.out.split('\n').find((l) => l.startsWith(`DONE ${tag} `) || l.startsWith(`FAIL ${tag} `)) ?? null,
    `close ${tag}`,
    600,
    50,
  );
  if (line.startsWith('FAIL')) throw new Error(line);
  return JSON.parse(line.slice(`DONE ${tag} `.length));
}

/**
 * Two processes close the two auctions of one group at the same moment, round after round. In half of the
 * rounds the test holds both departures' row locks while the closes start, so that both are surely inside
 * their transactions at once (each close locks its departure after deciding its winners): never two winners.
 */
describe('concurrent closes of two auctions of one group on two processes', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  const closers: Managed[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    [f1, f2] = await Promise.all([signIn(built.app, 'forwarder1@demo.test'), signIn(built.app, 'forwarder2@demo.test')]);
    const procEnv = { ...process.env, DATABASE_URL: env.cfg.databaseUrl, MIGRATION_DATABASE_URL: undefined, REDIS_URL: env.cfg.redisUrl, REDIS_PREFIX: env.cfg.redisPrefix, LOG_LEVEL: 'warn' };
    for (let i = 0; i < 2; i++) closers.push(new Managed(`closer${i}`, TSX, ['test/helpers/auction-closer.ts'], { env: procEnv, group: false, stdio: ['pipe', 'pipe', 'pipe'] }).start());
    for (const c of closers) await waitUntil(async () => (c.out.includes('closer ready') ? true : null), 'closer ready', 600);
  });
  afterAll(async () => {
    for (const c of closers) {
      c.child?.stdin?.end();
      await c.stop();
    }
    await built.app.close();
    await env.cleanup();
  });

  it('never two winners, over several rounds', async () => {
    const opOrg = (await env.db.selectFrom('organisations').select('id').where('kind', '=', 'operator').orderBy('slug').executeTakeFirstOrThrow()).id;
    for (let round = 0; round < 8; round++) {
      const a = await createAuction(env.db, opOrg, { teu: 4, format: round % 2 ? 'sealed' : 'ascending' });
      const b = await createAuction(env.db, opOrg, { teu: 4, corridor: 'DEDUI-ITBLQ-rail' });
      const res = await as(built.app, f1)({
        method: 'POST', url: '/api/bid-groups',
        payload: { bids: [{ listingId: a.listingId, teu: 2, unitPriceCents: 30_000 }, { listingId: b.listingId, teu: 2, unitPriceCents: 30_000 }] },
      });
      expect(res.statusCode, res.body).toBe(201);
      const g = res.json() as Placed;
      expect((await as(built.app, f2)({ method: 'POST', url: `/api/listings/${b.listingId}/bids`, payload: { teu: 3, unitPriceCents: 20_000 } })).statusCode).toBe(201);
      await overdue(env.db, a.listingId, b.listingId);

      const [pa, pb] = round % 4 < 2 ? [closers[0]!, closers[1]!] : [closers[1]!, closers[0]!];
      const blocked = round % 2 === 0;
      // the test's own transaction holds both departures' row locks (surely, before any close starts) until released
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const blocker = blocked
        ? env.db.transaction().execute(async (trx) => {
            await trx.selectFrom('departures').select('id').where('id', 'in', [a.departureId, b.departureId]).forUpdate().execute();
            locked();
            await released;
          })
        : Promise.resolve();
      if (blocked) await Promise.race([isLocked, blocker]); // a blocker that fails before locking shows its error
      const closes = Promise.all([closeOn(pa, `r${round}a`, a.listingId), closeOn(pb, `r${round}b`, b.listingId)]);
      if (blocked) {
        // both closes are under way (each waits on a lock of this database) before the departures are let go
        await waitUntil(
          async () => {
            const r = await sql<{ n: number }>`
              select count(distinct l.pid)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
               where not l.granted and a.datname = current_database()`.execute(env.db);
            return r.rows[0]!.n >= 2 ? true : null;
          },
          'both closes waiting on locks',
          200,
          25,
        ).catch(() => {}); // only makes the overlap sure; the invariant is checked either way
      }
      release();
      await blocker;
      const [ra, rb] = await closes;
      expect(ra.done && rb.done, `round ${round}`).toBe(true);

      const mine = await env.db.selectFrom('bids').select(['listing_id', 'status']).where('bid_group_id', '=', g.id).execute();
      const won = mine.filter((x) => x.status === 'won');
      expect(won, `round ${round}: ${JSON.stringify(mine)}`).toHaveLength(1);
      expect(mine.filter((x) => x.status === 'withdrawn'), `round ${round}`).toHaveLength(1);
      expect(await groupRow(env.db, g.id)).toMatchObject({ status: 'won' });
      const bookings = await env.db.selectFrom('bookings').select('listing_id').where('forwarder_org_id', '=', f1.me.org.id).where('listing_id', 'in', [a.listingId, b.listingId]).execute();
      expect(bookings, `round ${round}`).toHaveLength(1);
      // f2 gets what f1's withdrawn bid no longer takes on B (all 3 TEU), or 2 TEU behind f1's winning bid there
      const f2b = await env.db.selectFrom('bookings').select('teu').where('forwarder_org_id', '=', f2.me.org.id).where('listing_id', '=', b.listingId).execute();
      expect(f2b.map((x) => x.teu), `round ${round}`).toEqual([won[0]!.listing_id === b.listingId ? 2 : 3]);
    }
  });
});
