import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import type { OpenAuction } from '../../server/domain/schemas/auctions.ts';
import type { Departure, DepartureWithListings } from '../../server/domain/schemas/network.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

const HOUR = 3_600_000;

// A new-user walkthrough found that a forwarder could not find the auctions (there was no list of them) and that the
// board showed only "TEU free" — capacity minus booked and held, which counts capacity the operator has not listed.
// GET /api/auctions lists the open auctions; every Departure carries `onSale`, the summary of its open listings.
describe('GET /api/auctions and Departure.onSale', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let op1: Session;
  let sched: Session;

  /** A departure of op1's published through the API, its cut-off in two days. */
  let railDep: string;
  let bargeDep: string;
  let emptyDep: string;
  const ids = {} as Record<'fixed' | 'falling' | 'ascending' | 'sealed' | 'bargeAscending' | 'closed' | 'pastClose' | 'cancelled' | 'notYetOpen', string>;

  const call = (s: Session | null) => as(built.app, s);
  const ok = async <T>(s: Session, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, status = 200): Promise<T> => {
    const r = await call(s)({ method, url, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
    expect(r.statusCode, `${method} ${url}: ${r.body}`).toBe(status);
    return (r.body ? r.json() : undefined) as T;
  };
  const inHours = (h: number) => new Date(Date.now() + h * HOUR).toISOString();

  async function departure(corridorCode: string, capacityTeu: number): Promise<string> {
    const corridor = await env.db.selectFrom('corridors').select('id').where('code', '=', corridorCode).executeTakeFirstOrThrow();
    const d = await ok<Departure>(op1, 'POST', '/api/departures', {
      corridorId: corridor.id, departsAt: inHours(52), arrivesAt: inHours(80), cutoffAt: inHours(48), capacityTeu, capacityTonnes: capacityTeu * 20,
      assetName: `List test ${corridorCode}`,
    }, 201);
    return d.id;
  }
  async function listing(body: Record<string, unknown>): Promise<string> {
    return (await ok<{ id: string }>(op1, 'POST', '/api/listings', body, 201)).id;
  }

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    [f1, f2, op1, sched] = await Promise.all([
      signIn(built.app, 'forwarder1@demo.test'), signIn(built.app, 'forwarder2@demo.test'), signIn(built.app, 'operator1@demo.test'), signIn(built.app, 'scheduler@demo.test'),
    ]);
    railDep = await departure('DEDUI-ITBLQ-rail', 100);
    bargeDep = await departure('BEANR-DEDUI-barge', 60);
    emptyDep = await departure('DEDUI-ITBLQ-rail', 40);

    // on sale on railDep: fixed 10 (2 of them then held), falling 5, ascending 20, sealed 15
    ids.fixed = await listing({ departureId: railDep, format: 'fixed', teu: 10, unitPriceCents: 50_000 });
    ids.falling = await listing({ departureId: railDep, format: 'falling', teu: 5, unitPriceCents: 45_000, floorPriceCents: 20_000 });
    ids.ascending = await listing({ departureId: railDep, format: 'ascending', teu: 20, reservePriceCents: 10_000, minIncrementCents: 500, closesAt: inHours(2) });
    ids.sealed = await listing({ departureId: railDep, format: 'sealed', teu: 15, reservePriceCents: 8_000, closesAt: inHours(1) });
    // not on sale: an auction closed, one past its close (its close job has not run yet), a cancelled listing, one not yet open
    ids.closed = await listing({ departureId: railDep, format: 'ascending', teu: 20, reservePriceCents: 10_000, closesAt: inHours(3) });
    await env.db.updateTable('listings').set({ status: 'closed', closed_at: new Date(), awarded_teu: 0 }).where('id', '=', ids.closed).execute();
    ids.pastClose = await listing({ departureId: railDep, format: 'sealed', teu: 5, reservePriceCents: 10_000, closesAt: inHours(4) });
    await env.db.updateTable('listings').set({ closes_at: new Date(Date.now() - 60_000) }).where('id', '=', ids.pastClose).execute();
    ids.cancelled = await listing({ departureId: railDep, format: 'fixed', teu: 5, unitPriceCents: 1_000 });
    await ok(op1, 'DELETE', `/api/listings/${ids.cancelled}`);
    ids.notYetOpen = await listing({ departureId: railDep, format: 'fixed', teu: 3, unitPriceCents: 2_000, opensAt: inHours(24) });
    // another corridor, another mode: an ascending auction closing soonest
    ids.bargeAscending = await listing({ departureId: bargeDep, format: 'ascending', teu: 30, reservePriceCents: 20_000, closesAt: new Date(Date.now() + HOUR / 2).toISOString() });

    // trade: forwarder 1 holds 2 TEU of the fixed listing, bids on the ascending auction and in the sealed one
    await ok(f1, 'POST', '/api/holds', { listingId: ids.fixed, teu: 2, tonnes: 20 }, 201);
    await ok(f1, 'POST', `/api/listings/${ids.ascending}/bids`, { teu: 4, unitPriceCents: 12_300 }, 201);
    await ok(f2, 'POST', `/api/listings/${ids.ascending}/bids`, { teu: 3, unitPriceCents: 11_100 }, 201);
    await ok(f1, 'POST', `/api/listings/${ids.sealed}/bids`, { teu: 5, unitPriceCents: 98_765 }, 201);
    await ok(f2, 'POST', `/api/listings/${ids.sealed}/bids`, { teu: 6, unitPriceCents: 87_654 }, 201);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const mine = (list: OpenAuction[]) => list.filter((a) => Object.values(ids).includes(a.listingId));

  it('lists only the open auctions, soonest close first, with their departure, operator and live price', async () => {
    const all = await ok<OpenAuction[]>(f2, 'GET', '/api/auctions');
    const closes = all.map((a) => a.closesAt);
    expect(closes).toEqual([...closes].sort());
    expect(all.length).toBeLessThanOrEqual(200);
    const listed = mine(all);
    expect(listed.map((a) => a.listingId)).toEqual([ids.bargeAscending, ids.sealed, ids.ascending]);
    for (const a of all) expect(['ascending', 'sealed']).toContain(a.format);

    const asc = listed.find((a) => a.listingId === ids.ascending)!;
    expect(asc).toMatchObject({
      format: 'ascending', teu: 20, remainingTeu: 20, departureId: railDep, origin: 'DEDUI', destination: 'ITBLQ', mode: 'rail',
      assetName: 'List test DEDUI-ITBLQ-rail', operatorOrgId: op1.me.org.id, operatorName: op1.me.org.name, reservePriceCents: 10_000,
      // 7 of 20 TEU allocated: the lowest winning price is 111 €, and a new bid may still take unallocated TEU at the reserve
      currentPriceCents: 11_100, minNextBidCents: 10_000, bidCount: 2,
    });
    // the same figures as the auction room's (GET /api/listings/:id)
    const room = await ok<{ currentPriceCents?: number; minNextBidCents?: number; closesAt?: string }>(f2, 'GET', `/api/listings/${ids.ascending}`);
    expect({ currentPriceCents: asc.currentPriceCents, minNextBidCents: asc.minNextBidCents, closesAt: asc.closesAt })
      .toEqual({ currentPriceCents: room.currentPriceCents, minNextBidCents: room.minNextBidCents, closesAt: room.closesAt });

    const barge = listed.find((a) => a.listingId === ids.bargeAscending)!;
    expect(barge).toMatchObject({ mode: 'barge', origin: 'BEANR', destination: 'DEDUI', minNextBidCents: 20_000, bidCount: 0 });
    expect(barge.currentPriceCents).toBeUndefined();

    // every kind of organisation signed in sees the list; nobody signed out does
    expect(mine(await ok<OpenAuction[]>(sched, 'GET', '/api/auctions'))).toHaveLength(3);
    expect(mine(await ok<OpenAuction[]>(op1, 'GET', '/api/auctions'))).toHaveLength(3);
    const anon = await call(null)({ method: 'GET', url: '/api/auctions' });
    expect(anon.statusCode).toBe(401);
    expectErrorShape(anon.json());
  });

  it('prices follow the books: a bid after a read shows at the next read, as the auction room shows it', async () => {
    const priceOf = async (id: string) => {
      const a = (await ok<OpenAuction[]>(f1, 'GET', '/api/auctions')).find((x) => x.listingId === id)!;
      const room = await ok<{ currentPriceCents?: number; minNextBidCents?: number }>(f1, 'GET', `/api/listings/${id}`);
      expect({ currentPriceCents: a.currentPriceCents, minNextBidCents: a.minNextBidCents }).toEqual({ currentPriceCents: room.currentPriceCents, minNextBidCents: room.minNextBidCents });
      return { currentPriceCents: a.currentPriceCents, minNextBidCents: a.minNextBidCents, bidCount: a.bidCount };
    };
    const other = await listing({ departureId: await departure('DEDUI-ITBLQ-rail', 20), format: 'ascending', teu: 10, reservePriceCents: 10_000, minIncrementCents: 1_000, closesAt: inHours(5) });
    expect(await priceOf(other)).toEqual({ currentPriceCents: undefined, minNextBidCents: 10_000, bidCount: 0 });
    await ok(f2, 'POST', `/api/listings/${other}/bids`, { teu: 10, unitPriceCents: 15_000 }, 201);
    // every TEU allocated: the next bid must beat 150 € by the increment
    expect(await priceOf(other)).toEqual({ currentPriceCents: 15_000, minNextBidCents: 16_000, bidCount: 1 });
    await ok(f1, 'POST', `/api/listings/${other}/bids`, { teu: 10, unitPriceCents: 16_000 }, 201);
    expect(await priceOf(other)).toEqual({ currentPriceCents: 16_000, minNextBidCents: 17_000, bidCount: 2 });
  });

  it('never shows the prices or the number of sealed bids, to anyone', async () => {
    for (const s of [f1, f2, op1, sched]) {
      const r = await call(s)({ method: 'GET', url: '/api/auctions' });
      expect(r.statusCode).toBe(200);
      expect(r.body).not.toContain('98765');
      expect(r.body).not.toContain('87654');
      const sealed = (r.json() as OpenAuction[]).find((a) => a.listingId === ids.sealed)!;
      expect(sealed).toMatchObject({ format: 'sealed', teu: 15, reservePriceCents: 8_000, minNextBidCents: 8_000 });
      expect(sealed.currentPriceCents).toBeUndefined();
      expect(sealed.bidCount).toBeUndefined();
    }
  });

  it('filters by origin, destination and mode', async () => {
    const q = async (query: string) => mine(await ok<OpenAuction[]>(f1, 'GET', `/api/auctions?${query}`)).map((a) => a.listingId);
    expect(await q('from=DEDUI')).toEqual([ids.sealed, ids.ascending]);
    expect(await q('from=BEANR')).toEqual([ids.bargeAscending]);
    expect(await q('to=DEDUI')).toEqual([ids.bargeAscending]);
    expect(await q('mode=barge')).toEqual([ids.bargeAscending]);
    expect(await q('from=DEDUI&to=ITBLQ&mode=rail')).toEqual([ids.sealed, ids.ascending]);
    expect(await q('from=DEDUI&mode=barge')).toEqual([]);
    expect(await q('from=ESZAZ')).toEqual([]);
    for (const a of await ok<OpenAuction[]>(f1, 'GET', '/api/auctions?mode=rail&from=DEDUI')) expect([a.mode, a.origin]).toEqual(['rail', 'DEDUI']);
  });

  it('refuses a bad filter with 400 and the error shape', async () => {
    for (const query of ['from=dedui', 'from=DEDUISBURG', 'to=1', 'mode=truck', 'mode=', 'from=DEDUI&colour=red', 'to[]=DEDUI&to[]=ITBLQ']) {
      const r = await call(f1)({ method: 'GET', url: `/api/auctions?${query}` });
      expect(r.statusCode, `${query}: ${r.body}`).toBe(400);
      expectErrorShape(r.json());
    }
  });

  it('onSale of a departure sums its open listings only: not unlisted capacity, held TEU, closed, cancelled or unopened listings', async () => {
    const dep = await ok<DepartureWithListings>(f1, 'GET', `/api/departures/${railDep}`);
    expect(dep.freeTeu).toBe(98); // 100 − 2 held: capacity nobody listed counts here
    const sealed = dep.listings.find((l) => l.id === ids.sealed)!;
    expect(dep.onSale).toEqual({
      teu: 8 + 5 + 20 + 15, // fixed 10 − 2 held, falling 5, ascending 20, sealed 15
      fromUnitPriceCents: 45_000, // the falling listing's price now, below the fixed 500 €
      formats: ['ascending', 'falling', 'fixed', 'sealed'],
      nextCloseAt: sealed.closesAt, // the sealed auction closes first (the one past its close does not count)
    });
    // what a new listing may still offer: every open listing counts, also one past its close or not open yet
    expect(dep.unlistedTeu).toBe(100 - 2 - (8 + 5 + 20 + 15 + 5 + 3));
    const over = await call(op1)({ method: 'POST', url: '/api/listings', payload: { departureId: railDep, format: 'fixed', teu: dep.unlistedTeu + 1, unitPriceCents: 10_000 } });
    expect(over.statusCode, over.body).toBe(409);

    // the board's list answers the same, and the operator's console and a departure without listings too
    const board = await ok<Departure[]>(f2, 'GET', `/api/departures?from=DEDUI&to=ITBLQ&mode=rail&after=${encodeURIComponent(inHours(51))}&before=${encodeURIComponent(inHours(53))}`);
    expect(board.find((d) => d.id === railDep)?.onSale).toEqual(dep.onSale);
    expect(board.find((d) => d.id === emptyDep)?.onSale).toEqual({ teu: 0, fromUnitPriceCents: null, formats: [], nextCloseAt: null });
    const consoleList = await ok<Departure[]>(op1, 'GET', '/api/operator/departures');
    expect(consoleList.find((d) => d.id === railDep)?.onSale).toEqual(dep.onSale);
    const barge = await ok<Departure>(sched, 'GET', `/api/departures/${bargeDep}`);
    expect(barge.onSale).toMatchObject({ teu: 30, fromUnitPriceCents: null, formats: ['ascending'] });

    // what is on sale never exceeds the free capacity (capacity is promised once), anywhere on the board
    const all = await ok<Departure[]>(f1, 'GET', '/api/departures?limit=1000');
    expect(all.length).toBeGreaterThan(10);
    for (const d of all) {
      expect(d.onSale.teu, d.id).toBeLessThanOrEqual(d.freeTeu);
      expect(d.unlistedTeu, d.id).toBeLessThanOrEqual(d.freeTeu - d.onSale.teu);
    }
    expect(all.filter((d) => d.onSale.formats.includes('fixed')).length).toBeGreaterThan(0);
  });

  it('onSale follows trading: a released hold returns to sale, a closed auction leaves it', async () => {
    const before = (await ok<Departure>(f1, 'GET', `/api/departures/${railDep}`)).onSale;
    const hold = await ok<{ id: string }>(f2, 'POST', '/api/holds', { listingId: ids.fixed, teu: 3, tonnes: 30 }, 201);
    expect((await ok<Departure>(f1, 'GET', `/api/departures/${railDep}`)).onSale.teu).toBe(before.teu - 3);
    await ok(f2, 'DELETE', `/api/holds/${hold.id}`, undefined, 204);
    expect((await ok<Departure>(f1, 'GET', `/api/departures/${railDep}`)).onSale.teu).toBe(before.teu);

    await env.db.updateTable('listings').set({ closes_at: new Date(Date.now() - 1000) }).where('id', '=', ids.sealed).execute();
    const after = (await ok<Departure>(f1, 'GET', `/api/departures/${railDep}`)).onSale;
    expect(after.teu).toBe(before.teu - 15);
    expect(after.formats).toEqual(['ascending', 'falling', 'fixed']);
    expect(after.nextCloseAt).toBe(mine(await ok<OpenAuction[]>(f1, 'GET', '/api/auctions?from=DEDUI')).find((a) => a.listingId === ids.ascending)?.closesAt);
    expect(mine(await ok<OpenAuction[]>(f1, 'GET', '/api/auctions')).map((a) => a.listingId)).toEqual([ids.bargeAscending, ids.ascending]);
  });

  it('a departure past its cut-off, or cancelled, has nothing on sale and takes no new listing (unlistedTeu 0)', async () => {
    const nothing = { teu: 0, fromUnitPriceCents: null, formats: [], nextCloseAt: null };
    for (const change of ['cut-off passed', 'cancelled'] as const) {
      const dep = await departure('DEDUI-ITBLQ-rail', 30);
      await listing({ departureId: dep, format: 'fixed', teu: 10, unitPriceCents: 30_000 });
      await listing({ departureId: dep, format: 'ascending', teu: 5, reservePriceCents: 10_000, minIncrementCents: 500, closesAt: inHours(2) });
      const open = await ok<Departure>(f1, 'GET', `/api/departures/${dep}`);
      expect(open.onSale).toMatchObject({ teu: 15, formats: ['ascending', 'fixed'] });
      expect(open.unlistedTeu).toBe(15);
      await env.db.updateTable('departures')
        .set(change === 'cancelled' ? { status: 'cancelled' } : { cutoff_at: new Date(Date.now() - 60_000) })
        .where('id', '=', dep).execute();
      const after = await ok<Departure>(f1, 'GET', `/api/departures/${dep}`);
      expect(after.onSale, change).toEqual(nothing);
      expect(after.unlistedTeu, change).toBe(0);
    }
  });
});
