// The incremental order book (issue 16, part 2): the pure core's cost per placed bid on books of 10 … 10,000 bids,
// the incremental book (server/core/order-book.ts) beside the plain functions over the array (what it replaced).
// In process, no I/O: the same random bids for both; per-bid cost should be flat for the book.
import { acceptBid, type AuctionBid, type AuctionConfig } from '../../server/core/auction.ts';
import { acceptBidInBook, OrderBook } from '../../server/core/order-book.ts';
import { prng } from '../../server/core/rng.ts';
import { log, r1, type BenchRun } from './measure.ts';

const T0 = Date.parse('2030-01-01T10:00:00Z');
const config: AuctionConfig = {
  format: 'ascending', teu: 40, reservePriceCents: 10_000, minIncrementCents: 100, softCloseWindowMs: 0, softCloseExtendMs: 0,
  opensAt: new Date(T0), closesAt: new Date(T0 + 3_600_000), maxCloseAt: new Date(T0 + 3_600_000),
};

/** A book of `n` accepted plain bids, built through the core (rising prices: most end up below the winners). */
function bookOf(n: number): AuctionBid[] {
  const rng = prng(7);
  const book = new OrderBook(config);
  const bids: AuctionBid[] = [];
  let seq = 0;
  for (let i = 0; bids.length < n; i++) {
    const base = book.summaryWith();
    const min = base.unallocatedTeu > 0 ? 10_000 : (base.lowestWinningPriceCents ?? 10_000) + 100;
    const res = acceptBidInBook(config, book, { id: `b${i}`, bidderId: `f${i % 50}`, teu: 1 + (i % 3), unitPriceCents: min + Math.floor(rng.next() * 3) * 100, allOrNothing: false }, new Date(T0 + 1000), seq + 1);
    if (!res.ok) continue;
    seq++;
    book.add(res.bid);
    bids.push(res.bid);
  }
  return bids;
}

/** Microseconds per decided bid: `m` bids at the current minimum, placed on the book of `n` bids. */
function perBid(n: number, m: number, incremental: boolean): number {
  const bids = bookOf(n);
  const book = new OrderBook(config, bids);
  let seq = Math.max(...bids.map((b) => b.seq));
  const t0 = performance.now();
  for (let i = 0; i < m; i++) {
    const s = book.summaryWith();
    const price = (s.lowestWinningPriceCents ?? 10_000) + 100;
    const incoming = { id: `x${i}`, bidderId: `g${i % 50}`, teu: 1, unitPriceCents: price, allOrNothing: false };
    const res = incremental ? acceptBidInBook(config, book, incoming, new Date(T0 + 2000), seq + 1) : acceptBid(config, bids, incoming, new Date(T0 + 2000), seq + 1);
    if (!res.ok) continue;
    seq++;
    book.add(res.bid);
    if (!incremental) bids.push(res.bid);
  }
  return ((performance.now() - t0) * 1000) / m;
}

export function orderBookPhase(r: BenchRun) {
  log('order book: per-bid cost on books of 10 … 10,000 bids…');
  const sizes = [10, 100, 1000, 10_000];
  const m = r.quick ? 500 : 2000;
  perBid(100, 200, true); // warm-up (JIT)
  perBid(100, 200, false);
  // the plain path (every function over the whole array, unranked) as context: fewer bids, it is slow on big books
  const rows = sizes.map((n) => ({ 'bids in the book': n, 'incremental µs/bid': r1(perBid(n, m, true)), 'plain array µs/bid (context)': r1(perBid(n, Math.max(20, m / 20), false)) }));
  const flat = rows.at(-1)!['incremental µs/bid'] / Math.max(0.1, rows[0]!['incremental µs/bid']);
  r.report.orderBook = { rows, flatRatio: r1(flat) };
  console.log(`\nOrder book: the pure core's cost per placed bid (${m} bids at the minimum on each book; in process)`);
  console.table(rows);
  r.targets.push({ target: 'order book: per-bid cost at 10,000 bids ≤ 2× at 10 (flat)', value: `${r1(flat)}×`, met: flat <= 2 });
}
