// One hot listing (issue 16, part 3): 500 simultaneous bids from 50 forwarders on one ascending listing over two
// server processes, beside 500 simultaneous no-op POST /api/noop at the same concurrency (the ceiling: the median of
// three such bursts). Every bid must be decided (201, or 409 with the minimum that would have been accepted); the stored book must be what the
// pure core gives when it replays the incoming bids in their order (auto-bids and soft close included).
import http from 'node:http';
import { sql } from 'kysely';
import { bidsOfListing } from '../../server/adapters/db/bids-repo.ts';
import { acceptBid, allocate, type AuctionBid, type AuctionConfig } from '../../server/core/auction.ts';
import { bookOf } from '../../server/services/auctions/book.ts';
import { cpuCell, cpuSnapshot, cpuSplit } from './cpu-split.ts';
import type { BenchStack } from './stack.ts';
import { log, pct, quiet, r1, timedRequest, type BenchRun, type User } from './measure.ts';

const BIDS = 500;
const FORWARDERS = 50;
const NOOP_BURSTS = 3;
const SOFT_WINDOW_MS = 120_000; // the servers' defaults (SOFT_CLOSE_WINDOW_SECONDS, SOFT_CLOSE_EXTEND_SECONDS)
const SOFT_EXTEND_MS = 120_000;

/** `n` POSTs at once (each its own connection: simultaneous, not queued behind a pool); statuses, latencies, bodies. */
async function burst(urls: string[], users: User[], n: number, req: (i: number) => { path: string; body: unknown }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: n + 10 });
  const one = (i: number, warmUp = false) => {
    const { path, body } = warmUp ? { path: '/api/noop', body: {} } : req(i);
    return timedRequest(urls[i % urls.length]!, 'POST', path, users[i % users.length]!, body, agent);
  };
  // connections opened first (a no-op each), so the burst measures requests, not TCP handshakes
  await Promise.all(Array.from({ length: n }, (_, i) => one(i, true)));
  const split0 = cpuSnapshot();
  const t0 = performance.now();
  const out = await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuCell(cpuSplit(split0, cpuSnapshot()));
  agent.destroy();
  const lat = out.map((o) => o.ms).sort((a, b) => a - b);
  return { out, secs, 'p50 ms': r1(pct(lat, 50)), 'p99 ms': r1(pct(lat, 99)), 'per s': Math.round(n / secs), cpu };
}

/** Replays the stored incoming bids (not the platform's auto-bid raises) through the pure core, in seq order. */
function replay(config: AuctionConfig, incoming: AuctionBid[]): { book: AuctionBid[]; closesAt: Date; refused: number } {
  let cfg = config;
  const book: AuctionBid[] = [];
  let seq = 0;
  let refused = 0;
  for (const b of incoming) {
    const { seq: _s, placedAt, replacesBidId: _r, ...rest } = b;
    const res = acceptBid(cfg, book, rest, placedAt, seq + 1);
    if (!res.ok) {
      refused++;
      continue;
    }
    seq += 1 + res.autoBids.length;
    book.push(res.bid, ...res.autoBids);
    cfg = { ...cfg, closesAt: res.closesAt };
  }
  return { book, closesAt: cfg.closesAt, refused };
}

/** The winners of a book as comparable data (bidder, TEU, price), in allocation order. */
const winners = (config: AuctionConfig, book: AuctionBid[]) => allocate(config, book).winners.map((w) => `${w.bidderId}:${w.teu}@${w.unitPriceCents}`);

export async function hotListingPhase(s: BenchStack, r: BenchRun) {
  await quiet('hot listing');
  const users = s.users.slice(0, FORWARDERS);
  // r.repeats runs, each a no-op burst then a bid burst on a fresh listing: the machine's noise falls on both, the
  // first run also warms the servers up; the row is the median run by p99 ratio, every run's figures beside it
  // One warm-up run first, not counted: the no-op's code is warm from the phases before, the bid path's auto-bid
  // simulation is not (its first run measured V8 compiling it); its figures are printed in the report all the same.
  const warmUp = await oneRun(s, users, -1, r.repeats);
  const runs = [];
  for (let k = 0; k < r.repeats; k++) runs.push(await oneRun(s, users, k, r.repeats));
  const sorted = [...runs].sort((a, b) => a['p99 ÷ no-op p99'] - b['p99 ÷ no-op p99']);
  const row = {
    ...sorted[Math.floor((sorted.length - 1) / 2)]!,
    'runs: p99 ratio': runs.map((x) => x['p99 ÷ no-op p99']).join(' / '),
    'runs: rate share %': runs.map((x) => x['share of no-op rate %']).join(' / '),
  };
  r.report.hotListing = { ...row, runs, warmUp };
  console.log(`\nOne hot listing (${BIDS} simultaneous bids from ${FORWARDERS} forwarders, 2 servers), beside ${BIDS} simultaneous no-op requests (the median of ${NOOP_BURSTS} bursts per run); median of ${r.repeats} runs after one warm-up run (not counted: p99 ratio ${warmUp['p99 ÷ no-op p99']}, rate share ${warmUp['share of no-op rate %']} %)`);
  console.table([row]);
  const undecided = runs.reduce((t, x) => t + x.undecided, 0);
  const checksOk = runs.every((x) => x.durableOk && x['book = core replay'] === 'yes' && x['close = replay close'] === 'yes');
  r.targets.push({ target: 'hot listing: every bid decided', value: `${BIDS * runs.length - undecided}/${BIDS * runs.length}`, met: undecided === 0 });
  r.targets.push({ target: 'hot listing: p99 ack ≤ 3× the no-op p99 at the same concurrency', value: `${row['p99 ÷ no-op p99']}× (${row['p99 ms']} / ${row['no-op p99 ms']} ms; runs ${row['runs: p99 ratio']})`, met: row['p99 ÷ no-op p99'] <= 3 });
  r.targets.push({ target: 'hot listing: decided bids/s ≥ 40 % of the no-op rate', value: `${row['share of no-op rate %']} % (runs ${row['runs: rate share %']})`, met: row['share of no-op rate %'] >= 40 });
  r.targets.push({
    target: 'hot listing: durable = acknowledged, book and close = the core’s replay',
    value: runs.map((x) => `${x['durable / acknowledged']}, ${x['book = core replay'] === 'yes' ? 'same' : 'DIFFERENT'}, ${x['close = replay close'] === 'yes' ? 'same' : 'DIFFERENT'}`).join('; '),
    met: checksOk,
  });
}

/** One run: a fresh listing closing inside the soft-close window, the no-op burst, the bid burst, the checks. */
async function oneRun(s: BenchStack, users: User[], k: number, of: number) {
  const which = k < 0 ? 'warm-up' : `${k + 1}/${of}`;
  const corridor = await s.db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
  const op = await s.db.selectFrom('organisations').select('id').where('kind', '=', 'operator').executeTakeFirstOrThrow();
  const now = Date.now();
  const cutoff = new Date(now + 2 * 86_400_000);
  const closesAt = new Date(now + 60_000); // inside the soft-close window: every accepted bid qualifies
  const dep = await s.db
    .insertInto('departures')
    .values({ corridor_id: corridor.id, operator_org_id: op.id, asset_name: `Bench hot listing ${which}`, departs_at: new Date(cutoff.getTime() + 3_600_000),
      arrives_at: new Date(cutoff.getTime() + 30 * 3_600_000), cutoff_at: cutoff, capacity_teu: 40, capacity_tonnes: 800 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const l = await s.db
    .insertInto('listings')
    .values({ departure_id: dep.id, format: 'ascending', teu: 40, remaining_teu: 40, reserve_price_cents: 10_000, min_increment_cents: 100,
      opens_at: new Date(now - 1000), closes_at: closesAt, max_close_at: cutoff })
    .returning(['id', 'opens_at', 'created_at'])
    .executeTakeFirstOrThrow();

  // The reference: three no-op bursts, the median one by p99 (and the median rate). One burst of 500 takes 50–110 ms on
  // this machine and a single sample swung the ratios by half either way; the bid burst cannot be repeated on one listing.
  log(`hot listing ${which}: 3 × ${BIDS} simultaneous no-op requests (the ceiling at this concurrency)…`);
  const noops: Awaited<ReturnType<typeof burst>>[] = [];
  for (let n = 0; n < NOOP_BURSTS; n++) noops.push(await burst(s.urls, users, BIDS, () => ({ path: '/api/noop', body: {} })));
  const byP99 = [...noops].sort((a, b) => a['p99 ms'] - b['p99 ms']);
  const noop = { ...byP99[1]!, 'per s': [...noops].map((x) => x['per s']).sort((a, b) => a - b)[1]! };
  log(`hot listing ${which}: ${BIDS} simultaneous bids from ${FORWARDERS} forwarders on one listing…`);
  const bids = await burst(s.urls, users, BIDS, (i) => ({
    path: `/api/listings/${l.id}/bids`,
    // 1–3 TEU at prices spread over the range; every tenth an auto-bid with a maximum
    body: { teu: 1 + (i % 3), unitPriceCents: 10_000 + ((i * 37) % 200) * 100, ...(i % 10 === 0 ? { maxUnitPriceCents: 40_000 + (i % 7) * 1_000 } : {}) },
  }));
  let accepted = 0;
  let refusedWithMin = 0;
  let undecided = 0;
  for (const o of bids.out) {
    if (o.status === 201) accepted++;
    else if (o.status === 409 && /minUnitPriceCents/.test(o.body)) refusedWithMin++;
    else undecided++;
  }

  // durable and equal to the core's replay
  const rows = await bidsOfListing(s.db, l.id);
  const listing = await s.db.selectFrom('listings').select(['closes_at']).where('id', '=', l.id).executeTakeFirstOrThrow();
  const stored = bookOf(rows);
  const config: AuctionConfig = {
    format: 'ascending', teu: 40, reservePriceCents: 10_000, minIncrementCents: 100, opensAt: l.opens_at ?? l.created_at, closesAt, softCloseWindowMs: SOFT_WINDOW_MS,
    softCloseExtendMs: SOFT_EXTEND_MS, maxCloseAt: cutoff,
  };
  const incoming = stored.filter((b) => rows.find((x) => x.id === b.id)?.user_id !== null).sort((a, b) => a.seq - b.seq);
  const re = replay(config, incoming);
  const same = JSON.stringify(winners(config, stored)) === JSON.stringify(winners(config, re.book));
  const userBids = rows.filter((x) => x.user_id !== null).length;
  const extendedOk = re.closesAt.getTime() === listing.closes_at!.getTime();
  const stats = await sql<{ n: number }>`select count(*)::int as n from bids where listing_id = ${l.id} and replaces_bid_id is not null`.execute(s.db);

  const ratioP99 = bids['p99 ms'] / Math.max(0.1, noop['p99 ms']);
  const shareRate = Math.round((100 * bids['per s']) / Math.max(1, noop['per s']));
  return {
    run: k + 1,
    bids: BIDS, accepted, 'refused with minimum': refusedWithMin, undecided, 'decided/s': bids['per s'], 'p50 ms': bids['p50 ms'], 'p99 ms': bids['p99 ms'],
    'no-op p99 ms': noop['p99 ms'], 'no-op/s': noop['per s'], 'no-op bursts p99 ms': noops.map((x) => x['p99 ms']).join(' / '), 'p99 ÷ no-op p99': r1(ratioP99), 'share of no-op rate %': shareRate,
    'CPU cores (bids)': bids.cpu, 'CPU cores (no-op)': noop.cpu,
    'durable / acknowledged': `${userBids} / ${accepted}`, 'auto-bid raises': stats.rows[0]!.n, 'book = core replay': same ? 'yes' : 'NO', 'close = replay close': extendedOk ? 'yes' : 'NO',
    durableOk: userBids === accepted,
  };
}
