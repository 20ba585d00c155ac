/**
 * A synthetic auction flurry through the pure auction core, for a server to run a few times right after it starts.
 *
 * Why: V8 compiles a function to fast machine code only after it has run often. The bid path's auto-bid simulation
 * (./order-book-auto-bids.ts) runs in bursts — the last minutes of an auction — so a fresh server met its first flurry
 * with that code still interpreted: measured, a batch of ~250 bids with ~300 auto-bid raises took 60–120 ms in its first
 * runs and ~17 ms from about the tenth on. A server now plays that flurry itself before the first one comes.
 *
 * Pure: plain data in and out, no clock, no randomness beyond the seeded generator. Returns what it decided: the
 * accepted bids, the auto-bid raises (the code it is for) and a checksum of the answers (so that the work is not dead
 * code, and a test can pin it).
 */
import { type AuctionBid, type AuctionConfig } from './auction.ts';
import { acceptBidInBook, OrderBook } from './order-book.ts';
import { prng } from './rng.ts';

const BIDDERS = 50;
const BIDS = 250;

/** One flurry: `BIDS` bids from `BIDDERS` bidders on a 40-TEU ascending auction, every tenth an auto-bid. */
export function auctionWarmUpRound(seed: number): { accepted: number; raises: number; checksum: number } {
  const rng = prng(seed);
  const start = new Date(Date.UTC(2026, 0, 1));
  let config: AuctionConfig = {
    format: 'ascending', teu: 40, reservePriceCents: 10_000, minIncrementCents: 100, opensAt: start,
    closesAt: new Date(start.getTime() + 60_000), softCloseWindowMs: 120_000, softCloseExtendMs: 120_000, maxCloseAt: new Date(start.getTime() + 86_400_000),
  };
  const book = new OrderBook(config, []);
  let seq = 0;
  let ids = 0;
  let checksum = 0;
  let accepted = 0;
  let raises = 0;
  const now = new Date(start.getTime() + 30_000);
  for (let i = 0; i < BIDS; i++) {
    const auto = rng.int(0, 9) === 0;
    const incoming = {
      id: `warm-${seed}-${ids++}`, bidderId: `bidder-${rng.int(0, BIDDERS - 1)}`, teu: rng.int(1, 3), unitPriceCents: 10_000 + rng.int(0, 199) * 100,
      allOrNothing: false, ...(auto ? { maxUnitPriceCents: 40_000 + rng.int(0, 6) * 1_000 } : {}),
    };
    const res = acceptBidInBook(config, book, incoming, now, seq + 1, { newBidId: () => `warm-${seed}-${ids++}` });
    if (!res.ok) {
      checksum += res.minUnitPriceCents ?? 0;
      continue;
    }
    accepted++;
    raises += res.autoBids.length;
    seq += 1 + res.autoBids.length;
    const placed: AuctionBid[] = [res.bid, ...res.autoBids];
    for (const b of placed) book.add(b);
    config = { ...config, closesAt: res.closesAt };
    checksum += res.allocatedTeu + res.autoBids.length;
  }
  const ladder = book.ladder(config, null);
  return { accepted, raises, checksum: checksum + (ladder.format === 'ascending' ? ladder.leadingBidCount + ladder.minNextBidCents : 0) };
}
