/**
 * Auto-bid responses on the incremental book (issue 16, part 3): the same simulation as `runAutoBids` in
 * ./auction.ts — raise by raise, earliest outbid auto-bid first, with the leapfrog jump — but over a copy-on-write
 * clone of the book's ranking tree instead of arrays sorted again for every question. Pure: plain data in and out.
 *
 * Every question the simulation asks is a walk from the top of the ranking that stops once the listing's TEU are
 * given out (O(w), w the winning bids), never a sort of the whole book:
 * - who is outbid: one fill, then the auto-bids in force (a handful, kept beside the tree);
 * - the price an auto-bid is raised to ({@link raisePrice}): one fill without that bid;
 * - a raise: a tree delete and insert, O(log n) on the clone (the book itself is not touched).
 * So a raise costs O(a·w) (a the auto-bids in force) where the plain simulation costs O(a·n log n). The answers are
 * the plain ones: test/unit/order-book.test.ts compares them on random books, auto-bid wars included.
 */
import {
  capacityOf, cmpStr, jumpLeapfrog, MAX_AUTO_BID_RAISES, minFromAllocation, priceStep, type AcceptBidOptions, type AuctionBid, type AuctionConfig,
} from './auction.ts';

/** What the simulation needs of the book's B+ tree (sorted-btree): ranking order, O(log n) changes, O(1) clone. */
export interface RankingTree {
  keys(): IterableIterator<AuctionBid>;
  set(key: AuctionBid, value: true): boolean;
  delete(key: AuctionBid): boolean;
  clone(): RankingTree;
}

/** The ranking being simulated: the tree (active, eligible bids in ranking order) and the auto-bids in it. */
interface Sim {
  tree: RankingTree;
  autos: Set<AuctionBid>;
}

/**
 * The ranking read from the top on demand into an array: the walks of one question (who is outbid, then a raise price
 * per outbid auto-bid) share it instead of each iterating the tree again. Valid while the tree does not change.
 */
class Prefix {
  private readonly items: AuctionBid[] = [];
  private readonly it: Iterator<AuctionBid>;
  private done = false;

  constructor(tree: RankingTree) {
    this.it = tree.keys();
  }

  at(i: number): AuctionBid | undefined {
    while (i >= this.items.length && !this.done) {
      const r = this.it.next();
      if (r.done) this.done = true;
      else this.items.push(r.value);
    }
    return this.items[i];
  }
}

/**
 * The fill of the ranking (the rules of `allocate`), the bids `skip` says to leave out left out, stopping once the TEU
 * are given out. `take` sees each bid given TEU, with the TEU left before it took them.
 */
function walk(
  capacity: number,
  ranking: Prefix,
  skip?: (b: AuctionBid) => boolean,
  take?: (b: AuctionBid, t: number, before: number) => void,
): { remaining: number; lowest: number | null } {
  let remaining = capacity;
  let lowest: number | null = null;
  for (let i = 0; remaining > 0; i++) {
    const b = ranking.at(i);
    if (b === undefined) break;
    if (skip?.(b)) continue;
    let t: number;
    if (b.allOrNothing) {
      if (b.teu > remaining) continue;
      t = b.teu;
    } else t = Math.min(b.teu, remaining);
    take?.(b, t, remaining);
    remaining -= t;
    lowest = b.unitPriceCents;
  }
  return { remaining, lowest };
}

/** TEU given to each bid of the ranking (bids given none are absent). */
function allocationMap(capacity: number, ranking: Prefix): Map<AuctionBid, number> {
  const m = new Map<AuctionBid, number>();
  walk(capacity, ranking, undefined, (b, t) => m.set(b, t));
  return m;
}

/**
 * `fullFillPrice` of ./auction.ts over the ranking without `b`'s organisation (an auto-bid never bids against its own):
 * the lowest acceptable price at which `b`'s TEU would be filled in full, passing by `margin` the first bid whose share
 * would leave too little.
 */
function raisePrice(config: AuctionConfig, ranking: Prefix, b: AuctionBid, margin: number): number {
  let passPrice: number | undefined;
  const f = walk(capacityOf(config), ranking, (x) => x.bidderId === b.bidderId, (x, t, before) => {
    if (passPrice === undefined && t > 0 && before - t < b.teu) passPrice = x.unitPriceCents;
  });
  const floor = minFromAllocation(config, { unallocatedTeu: f.remaining, lowestWinningPriceCents: f.lowest }, { teu: b.teu, allOrNothing: b.allOrNothing });
  return passPrice === undefined ? floor : Math.max(floor, passPrice + margin);
}

/** `raisable` of ./auction.ts: outbid auto-bids that can be raised within their maximum, earliest seq first. */
function raisable(config: AuctionConfig, sim: Sim, firstOnly: boolean): { bid: AuctionBid; price: number }[] {
  if (sim.autos.size === 0) return [];
  const capacity = capacityOf(config);
  const step = priceStep(config);
  const ranking = new Prefix(sim.tree);
  const given = new Map<AuctionBid, number>();
  const winnersOf = new Map<string, number>(); // organisation → its bids given TEU
  const full = walk(capacity, ranking, undefined, (b, t) => {
    given.set(b, t);
    winnersOf.set(b.bidderId, (winnersOf.get(b.bidderId) ?? 0) + 1);
  });
  const fullFill = { unallocatedTeu: full.remaining, lowestWinningPriceCents: full.lowest };
  // Outbid auto-bids, earliest first. The question is asked without the bidder's other bids (never against its own
  // organisation); those given nothing change no fill, so while its organisation has no other winning bid the full fill
  // is the fill it is asked against. Then one given nothing changes no fill either: its raise price is at least the floor
  // of the full fill — above its maximum, it cannot be raised (the common case of an auto-bid spent), known without a walk.
  const outbid: AuctionBid[] = [];
  for (const b of sim.autos) {
    const g = given.get(b) ?? 0;
    if (b.teu > capacity || g >= b.teu) continue;
    const ownWinners = (winnersOf.get(b.bidderId) ?? 0) - (g > 0 ? 1 : 0);
    if (ownWinners === 0) {
      if (g === 0 && minFromAllocation(config, fullFill, b) > b.maxUnitPriceCents!) continue;
    } else {
      let alone = 0;
      walk(capacity, ranking, (x) => x !== b && x.bidderId === b.bidderId, (x, t) => {
        if (x === b) alone = t;
      });
      if (alone >= b.teu) continue; // outbid by its own organisation's bids only
    }
    outbid.push(b);
  }
  outbid.sort((a, b) => a.seq - b.seq || cmpStr(a.id, b.id));
  const out: { bid: AuctionBid; price: number }[] = [];
  for (const b of outbid) {
    const p = raisePrice(config, ranking, b, step);
    if (p > b.maxUnitPriceCents! || p <= b.unitPriceCents) continue;
    out.push({ bid: b, price: p });
    if (firstOnly) break;
  }
  return out;
}

/** `sim` with `old` replaced by `now` (a clone: `sim` itself is not changed). */
function swapped(sim: Sim, old: AuctionBid, now: AuctionBid): Sim {
  const tree = sim.tree.clone();
  tree.delete(old);
  tree.set(now, true);
  const autos = new Set(sim.autos);
  autos.delete(old);
  autos.add(now);
  return { tree, autos };
}

/**
 * The auto-bid responses to `incoming` (already in `tree`, a clone the caller gives away): the raises as stored bids
 * (seqs consecutive after `seq`, each replacing the bid its line started from), the TEU the incoming bid's line is
 * given after them, and the tree as they leave it.
 */
export function autoBidsInTree(
  config: AuctionConfig,
  tree: RankingTree,
  autos: Set<AuctionBid>,
  incoming: AuctionBid,
  seq: number,
  now: Date,
  options: AcceptBidOptions,
): { autoBids: AuctionBid[]; allocatedTeu: number } {
  const sim: Sim = { tree, autos };
  const origin = new Map<AuctionBid, AuctionBid>(); // a simulated raise → the bid its line started from
  let nextSeq = seq + 1;
  const step = priceStep(config);
  const history: { from: AuctionBid; to: AuctionBid }[] = [];

  const replace = (old: AuctionBid, price: number): AuctionBid => {
    const s = nextSeq++;
    const raise: AuctionBid = { ...old, id: `\u0000auto:${s}`, unitPriceCents: price, seq: s, placedAt: now };
    origin.set(raise, origin.get(old) ?? old);
    sim.tree.delete(old);
    sim.tree.set(raise, true);
    sim.autos.delete(old);
    sim.autos.add(raise);
    return raise;
  };

  for (let raises = 0; raises < MAX_AUTO_BID_RAISES; raises++) {
    const next = raisable(config, sim, true)[0];
    if (!next) break;
    history.push({ from: next.bid, to: replace(next.bid, next.price) });
    if (!options.stepwiseAutoBids) leapfrog(config, sim, history, step, replace);
  }

  const finals = [...sim.autos].filter((b) => origin.has(b)).sort((a, b) => a.seq - b.seq);
  const makeId = options.newBidId ?? ((s: number, replaced: AuctionBid) => `${replaced.id}:auto:${s}`);
  const incomingLine = finals.find((b) => origin.get(b) === incoming) ?? incoming;
  const allocatedTeu = allocationMap(capacityOf(config), new Prefix(sim.tree)).get(incomingLine) ?? 0;
  const autoBids = finals.map((b, i) => {
    const replaced = origin.get(b)!;
    const s = seq + 1 + i;
    return { ...b, id: makeId(s, replaced), seq: s, replacesBidId: replaced.id };
  });
  return { autoBids, allocatedTeu };
}

/** `leapfrog` of ./auction.ts: many periods of a two-line war at once, when the last two raises form one. */
function leapfrog(
  config: AuctionConfig,
  sim: Sim,
  history: { from: AuctionBid; to: AuctionBid }[],
  step: number,
  replace: (old: AuctionBid, price: number) => AuctionBid,
): void {
  const rY = history[history.length - 2];
  const rX = history[history.length - 1];
  if (!rX || !rY) return;
  const X = rX.to;
  const Y = rY.to;
  if (rX.from === Y || !sim.autos.has(Y) || X.unitPriceCents !== Y.unitPriceCents + step) return;
  // No other bid's price in the range they will move through (the ranking is by price, highest first).
  const lo = Y.unitPriceCents;
  let ceilingOfRange = Number.MAX_SAFE_INTEGER;
  for (const b of sim.tree.keys()) {
    if (b.unitPriceCents < lo) break;
    if (b === X || b === Y) continue;
    if (b.unitPriceCents <= X.unitPriceCents) return;
    ceilingOfRange = Math.min(ceilingOfRange, b.unitPriceCents - 1);
  }
  const pending = raisable(config, sim, false);
  if (pending.length !== 1 || pending[0]!.bid !== Y || pending[0]!.price !== X.unitPriceCents + step) return;
  const y3: AuctionBid = { ...Y, id: '\u0000probe', unitPriceCents: X.unitPriceCents + step, seq: Number.MAX_SAFE_INTEGER };
  const then = raisable(config, swapped(sim, Y, y3), false);
  if (then.length !== 1 || then[0]!.bid !== X || then[0]!.price !== X.unitPriceCents + 2 * step) return;
  jumpLeapfrog(X, Y, ceilingOfRange, step, replace, history);
}
