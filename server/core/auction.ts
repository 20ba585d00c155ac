import { euros } from './settlement.ts';

/**
 * Auction rules for ascending (open, pay-as-bid) and sealed (uniform price)
 * listings.
 *
 * Pure: plain functions over plain data, no I/O, time is passed in as `now`.
 * Expected failures are returned as values, never thrown. Money is integer
 * cents, capacity whole TEU.
 *
 * ## Published rules (quoted in the README and the auction room)
 *
 * **Bids.** A bid is (TEU, unit price, all-or-nothing flag). Every bid is
 * independent: a bidder may hold several bids on one listing and its own bids
 * compete with each other like anyone else's. The server gives each bid a
 * `seq` (arrival order); the server clock decides whether it came in time.
 *
 * **Allocation order** (both formats). Bids below the reserve never win. The
 * others are ranked by unit price, highest first; equal prices rank by arrival
 * (`seq`, earlier first), then by bid id. The listing's TEU are filled down the
 * ranking: a partial bid takes what it asked for or whatever is left; an
 * all-or-nothing bid that does not fit in what is left is skipped, and lower
 * bids may still fill. The allocation never exceeds the listing's TEU.
 *
 * **Ascending (open, pay-as-bid).** Each winner pays its own unit price. A new
 * bid must be at least the reserve when it can take unallocated TEU (a partial
 * bid while any TEU are unallocated; an all-or-nothing bid when its TEU fit in
 * the unallocated TEU); otherwise it must beat the lowest winning unit price by
 * the minimum increment. A bid placed at most `softCloseWindowMs` before the
 * close moves the close to `now + softCloseExtendMs` (never earlier than it
 * was, never later than the cap = departure cut-off). Other bidders are shown
 * as "Bidder N", numbered by their first bid.
 *
 * **Auto-bid (ascending only).** A bid may carry a private maximum unit price.
 * Whenever such a bid is not filled in full, the platform replaces it by a new
 * bid at the lowest unit price that would be accepted as a new bid (the
 * reserve, or the lowest winning price + the minimum increment) and that beats
 * by the minimum increment the bid it must pass to be filled in full, provided
 * that price is within the maximum; otherwise it stays as it is. An auto-bid
 * never bids against its own organisation: the question is asked of the other
 * organisations' bids only, so a bid outbid by its bidder's own bids alone is
 * not raised, and a raise passes other bidders only. (Two
 * auto-bidders competing for the same TEU thus leapfrog each other by the
 * increment until one reaches its maximum; long wars are computed in one jump
 * with the same result.) Outbid auto-bids are handled one at a time,
 * earliest `seq` first, until none can improve; each raise strictly increases a price that is capped, so the
 * process ends (with an extra hard cap of {@link MAX_AUTO_BID_RAISES} raises).
 * A raise is a new bid (new `seq`, later than the incoming bid) that replaces
 * the earlier one (`replacesBidId`); it therefore loses ties. The maximum is
 * never shown to anyone else. An auto-bid whose opening price is below the
 * minimum acceptable but whose maximum reaches it is opened at the minimum.
 *
 * **Sealed (multi-unit, uniform price).** Bids stay invisible to everyone but
 * their bidder (and the operator) until close; a bid must be at least the
 * reserve; there is no soft close and no auto-bid. At close the same
 * allocation order applies and every winner pays the clearing price = the
 * lowest winning unit price (so never more than its own bid, never less than
 * the reserve).
 *
 * **Close.** A bid at or after the close (by the server clock) is refused with
 * `auction_closed`; a bid below the minimum with `bid_too_low`, carrying the
 * minimum that would be accepted; a unit price (or an auto-bid's maximum) above the listing's price ceiling with
 * `bid_too_high`, carrying that ceiling — a fat-finger guard, as trading venues have: `priceCeilingCents`, 20× the
 * reserve and at least €10,000 per TEU. An auction closes no later than its cap
 * (`maxCloseAt`, the departure's cut-off). The same bids always clear the same
 * way, whatever order they are given in. Unsold TEU (`unallocatedTeu`) return
 * to the departure or are re-listed at a fixed price (a service decision).
 */

/** Sale formats handled here. */
export type AuctionFormat = 'ascending' | 'sealed';

/** A bid on an auction listing. */
export interface AuctionBid {
  id: string;
  bidderId: string;
  /** Whole TEU, 1..config.teu. */
  teu: number;
  /** Integer cents per TEU. */
  unitPriceCents: number;
  /** true: filled fully or not at all; false: partial fill accepted. */
  allOrNothing: boolean;
  /** Monotonic arrival order assigned by the server (unique per listing). */
  seq: number;
  placedAt: Date;
  /** Auto-bid ceiling (integer cents, ≥ unitPriceCents). Private to its bidder. Ascending only. */
  maxUnitPriceCents?: number;
  /**
   * Set on auto-bid raises: the id of the bid this one replaces. A bid whose id
   * is named here by another bid in the set is no longer active (see {@link activeBids}).
   */
  replacesBidId?: string;
}

/** Parameters of one auction listing. */
export interface AuctionConfig {
  format: AuctionFormat;
  /** TEU offered, whole number ≥ 1. */
  teu: number;
  reservePriceCents: number;
  /** Minimum amount a bid must beat the lowest winning unit price by (treated as at least 1 cent). */
  minIncrementCents: number;
  opensAt: Date;
  /** Current close (may already have been extended by soft close). */
  closesAt: Date;
  softCloseWindowMs: number;
  softCloseExtendMs: number;
  /** Hard cap for the close, e.g. the departure's cut-off. */
  maxCloseAt: Date;
}

export type AuctionFailureCode = 'auction_closed' | 'bid_too_low' | 'bid_too_high' | 'invalid_bid' | 'auction_not_open';

export interface AuctionFailure {
  ok: false;
  code: AuctionFailureCode;
  message: string;
  /** With `bid_too_low`: the lowest unit price that would be accepted. */
  minUnitPriceCents?: number;
  /** With `bid_too_high`: the highest unit price (and auto-bid maximum) accepted on this listing. */
  maxUnitPriceCents?: number;
}

/** The fat-finger guard: a bid this many times the reserve is taken for a typing error… */
export const PRICE_CEILING_RESERVE_MULTIPLE = 20;
/** …unless it is at most this, in cents per TEU (€10,000: a listing with a token reserve still trades at any real price). */
export const PRICE_CEILING_FLOOR_CENTS = 1_000_000;

/** The highest unit price, and auto-bid maximum, a bid on this listing may name. */
export function priceCeilingCents(config: Pick<AuctionConfig, 'reservePriceCents'>): number {
  return Math.max(config.reservePriceCents * PRICE_CEILING_RESERVE_MULTIPLE, PRICE_CEILING_FLOOR_CENTS);
}

export interface AuctionWinner {
  bidId: string;
  bidderId: string;
  /** TEU awarded (may be less than bid for a partial bid). */
  teu: number;
  /** Unit price paid: the bid's own price (ascending) or the clearing price (sealed). */
  unitPriceCents: number;
}

export interface Allocation {
  /** In allocation order (highest price first, then earliest seq, then id). */
  winners: AuctionWinner[];
  awardedTeu: number;
  unallocatedTeu: number;
  lowestWinningPriceCents: number | null;
}

export interface ClearingResult {
  winners: AuctionWinner[];
  clearingPriceCents: number | null;
  awardedTeu: number;
  unallocatedTeu: number;
}

/** A bid as submitted, before the server stamps `seq` and `placedAt`. */
export type IncomingBid = Omit<AuctionBid, 'seq' | 'placedAt'>;

export interface AcceptedBid {
  ok: true;
  /** The bid to store (an auto-bid's opening price may have been lifted to the minimum). */
  bid: AuctionBid;
  /** Close after this bid: possibly extended, never beyond `maxCloseAt`. */
  closesAt: Date;
  extended: boolean;
  /**
   * ascending: 'leading' if the bidder's bid (or its auto-bid raise) is awarded ≥ 1 TEU
   * after all auto-bid responses, else 'outbid'; sealed: always 'sealed'.
   */
  status: 'leading' | 'outbid' | 'sealed';
  /** TEU the bid (or its raise) currently wins; 0 for sealed (not disclosed before close). */
  allocatedTeu: number;
  /**
   * Auto-bid raises to store with this bid, seq = incoming seq + 1, + 2, … in order.
   * Each replaces (`replacesBidId`) a bid that was active before, or the incoming bid.
   * At most one raise per replaced bid (intermediate steps of a bidding war are collapsed).
   */
  autoBids: AuctionBid[];
}

export interface AcceptBidOptions {
  /** Id for an auto-bid raise (e.g. a UUID generator). Default: `${replacedId}:auto:${seq}`. */
  newBidId?: (seq: number, replaced: AuctionBid) => string;
  /** Testing aid: simulate auto-bid wars raise by raise, without the leapfrog jump. */
  stepwiseAutoBids?: boolean;
}

/** Safety cap on auto-bid raises evaluated for one incoming bid. */
export const MAX_AUTO_BID_RAISES = 10_000;

// ---------------------------------------------------------------------------
// Ordering and helpers

/** The effective increment: `minIncrementCents`, at least 1 cent (a raise must rank strictly higher). */
export function priceStep(config: AuctionConfig): number {
  return Math.max(1, Math.trunc(config.minIncrementCents));
}

/**
 * Total ranking order of bids: unit price descending, then seq ascending, then id;
 * remaining fields only break ties between malformed duplicates, so the result never
 * depends on input order.
 */
export function compareBids(a: AuctionBid, b: AuctionBid): number {
  return (
    b.unitPriceCents - a.unitPriceCents ||
    a.seq - b.seq ||
    cmpStr(a.id, b.id) ||
    a.teu - b.teu ||
    Number(a.allOrNothing) - Number(b.allOrNothing) ||
    cmpStr(a.bidderId, b.bidderId)
  );
}

export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Bids still in force: drops every bid whose id is named by another bid's `replacesBidId`. */
export function activeBids(bids: readonly AuctionBid[]): AuctionBid[] {
  const replaced = new Set<string>();
  for (const b of bids) if (b.replacesBidId !== undefined) replaced.add(b.replacesBidId);
  return replaced.size === 0 ? [...bids] : bids.filter((b) => !replaced.has(b.id));
}

/** A bid that may take part in allocation: whole TEU ≥ 1, integer price ≥ reserve. */
export function eligible(config: Pick<AuctionConfig, 'reservePriceCents'>, b: AuctionBid): boolean {
  return (
    Number.isSafeInteger(b.teu) &&
    b.teu >= 1 &&
    Number.isSafeInteger(b.unitPriceCents) &&
    b.unitPriceCents >= config.reservePriceCents
  );
}

export function capacityOf(config: Pick<AuctionConfig, 'teu'>): number {
  return Number.isSafeInteger(config.teu) && config.teu > 0 ? config.teu : 0;
}

/** Active, eligible bids in ranking order. */
function ranked(config: AuctionConfig, bids: readonly AuctionBid[]): AuctionBid[] {
  return activeBids(bids)
    .filter((b) => eligible(config, b))
    .sort(compareBids);
}

/** Allocation over bids already ranked; returns also the TEU given to each bid id. */
function fill(capacity: number, ranking: readonly AuctionBid[]): Allocation & { byBid: Map<string, number> } {
  let remaining = capacity;
  const winners: AuctionWinner[] = [];
  const byBid = new Map<string, number>();
  let lowest: number | null = null;
  for (const b of ranking) {
    if (remaining === 0) break;
    let take: number;
    if (b.allOrNothing) {
      if (b.teu > remaining) continue; // does not fit: skipped, lower bids may still fill
      take = b.teu;
    } else {
      take = Math.min(b.teu, remaining);
    }
    remaining -= take;
    winners.push({ bidId: b.id, bidderId: b.bidderId, teu: take, unitPriceCents: b.unitPriceCents });
    byBid.set(b.id, take);
    lowest = b.unitPriceCents; // ranking is by price descending
  }
  return { winners, awardedTeu: capacity - remaining, unallocatedTeu: remaining, lowestWinningPriceCents: lowest, byBid };
}

// ---------------------------------------------------------------------------
// Allocation and clearing

/**
 * Current allocation (the live ladder of an ascending auction, and its result at close).
 *
 * Only active bids (not replaced by an auto-bid raise) with whole TEU ≥ 1 and an integer
 * unit price ≥ the reserve take part. They are ranked by unit price (highest first), then
 * seq (earlier first), then id, and fill the listing's TEU in that order: a partial bid
 * takes min(its TEU, what is left); an all-or-nothing bid that does not fit in what is left
 * is skipped and lower bids may still fill. Winners are listed in that order, each at its
 * own unit price (pay-as-bid). The result does not depend on the order of `bids`.
 */
export function allocate(config: AuctionConfig, bids: readonly AuctionBid[]): Allocation {
  const { byBid: _byBid, ...rest } = fill(capacityOf(config), ranked(config, bids));
  return rest;
}

/**
 * Sealed-bid clearing (multi-unit, uniform price): the allocation of {@link allocate};
 * every winner pays the clearing price = the lowest winning unit price (≥ reserve, ≤ each
 * winner's own bid). `clearingPriceCents` is null when nothing is awarded.
 */
export function clearSealed(config: AuctionConfig, bids: readonly AuctionBid[]): ClearingResult {
  const a = allocate(config, bids);
  const price = a.lowestWinningPriceCents;
  return {
    winners: a.winners.map((w) => ({ ...w, unitPriceCents: price ?? w.unitPriceCents })),
    clearingPriceCents: price,
    awardedTeu: a.awardedTeu,
    unallocatedTeu: a.unallocatedTeu,
  };
}

/**
 * Result at close. Ascending: pay-as-bid winners of {@link allocate}, with
 * `clearingPriceCents` = lowest winning unit price (for reporting only). Sealed:
 * {@link clearSealed}. Unallocated TEU go back to the departure or are re-listed.
 */
export function clearAuction(config: AuctionConfig, bids: readonly AuctionBid[]): ClearingResult {
  if (config.format === 'sealed') return clearSealed(config, bids);
  const a = allocate(config, bids);
  return {
    winners: a.winners,
    clearingPriceCents: a.lowestWinningPriceCents,
    awardedTeu: a.awardedTeu,
    unallocatedTeu: a.unallocatedTeu,
  };
}

/** The close that counts: min(closesAt, maxCloseAt). */
export function effectiveCloseAt(config: AuctionConfig): Date {
  return new Date(Math.min(config.closesAt.getTime(), config.maxCloseAt.getTime()));
}

// ---------------------------------------------------------------------------
// Minimum bids

/**
 * The lowest unit price a new bid must carry.
 *
 * Sealed: the reserve. Ascending: the reserve while the new bid can take unallocated TEU
 * (without `request`: while any TEU are unallocated; with `request`: a partial bid while
 * any TEU are unallocated, an all-or-nothing bid when its TEU fit in the unallocated TEU);
 * otherwise the lowest winning unit price + the minimum increment.
 *
 * `bidderId` is accepted for symmetry with the API but does not change the rule: every bid
 * is independent, so a bidder's own winning bids count like anyone else's.
 */
export function minAcceptableBid(
  config: AuctionConfig,
  bids: readonly AuctionBid[],
  _bidderId?: string | null,
  request?: { teu: number; allOrNothing: boolean },
): number {
  if (config.format === 'sealed') return config.reservePriceCents;
  return minFromAllocation(config, allocate(config, bids), request);
}

/** {@link minAcceptableBid} given the current allocation (saves ranking the book again). */
export function minFromAllocation(
  config: AuctionConfig,
  a: Pick<Allocation, 'unallocatedTeu' | 'lowestWinningPriceCents'>,
  request?: { teu: number; allOrNothing: boolean },
): number {
  const reserve = config.reservePriceCents;
  if (config.format === 'sealed') return reserve;
  const canTakeUnallocated =
    a.unallocatedTeu > 0 && (request === undefined || !request.allOrNothing || request.teu <= a.unallocatedTeu);
  if (canTakeUnallocated || a.lowestWinningPriceCents === null) return reserve;
  return Math.max(reserve, a.lowestWinningPriceCents + priceStep(config));
}

/**
 * What {@link fill} decides, without building the winners: TEU left, lowest winning price, and the TEU
 * given to one bid (`bidId`). Same rules, no allocation — the hot path of every bid.
 */
function fillSummary(capacity: number, ranking: readonly AuctionBid[], bidId?: string): { unallocatedTeu: number; lowestWinningPriceCents: number | null; teuOfBid: number } {
  let remaining = capacity;
  let lowest: number | null = null;
  let teuOfBid = 0;
  for (const b of ranking) {
    if (remaining === 0) break;
    let take: number;
    if (b.allOrNothing) {
      if (b.teu > remaining) continue;
      take = b.teu;
    } else {
      take = Math.min(b.teu, remaining);
    }
    remaining -= take;
    lowest = b.unitPriceCents;
    if (b.id === bidId) teuOfBid = take;
  }
  return { unallocatedTeu: remaining, lowestWinningPriceCents: lowest, teuOfBid };
}

/** `ranking` (sorted by {@link compareBids}) with `bid` inserted in its place: O(n) instead of a sort. */
function insertRanked(ranking: readonly AuctionBid[], bid: AuctionBid): AuctionBid[] {
  let lo = 0;
  let hi = ranking.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBids(ranking[mid]!, bid) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return [...ranking.slice(0, lo), bid, ...ranking.slice(lo)];
}

/**
 * Lowest unit price at which a new bid of `teu` (ranked after every existing bid of the
 * same price, as a later arrival) would be filled in full, and that is also acceptable
 * under {@link minAcceptableBid}. Always reachable for teu ≤ config.teu.
 */
export function priceToFillFully(
  config: AuctionConfig,
  bids: readonly AuctionBid[],
  teu: number,
  allOrNothing: boolean,
): number {
  return fullFillPrice(config, bids, teu, allOrNothing, 1);
}

/**
 * The price an outbid auto-bid of `teu` is raised to against `bids` (its own bid excluded):
 * like {@link priceToFillFully}, but beating the bid it must pass by the minimum increment.
 * The raise happens only if this is within its maximum.
 */
export function autoBidRaisePrice(config: AuctionConfig, bids: readonly AuctionBid[], teu: number, allOrNothing: boolean): number {
  return fullFillPrice(config, bids, teu, allOrNothing, priceStep(config));
}

/** {@link priceToFillFully}, passing the bid it must pass by `margin` (1, or the step for auto-bid raises). */
function fullFillPrice(
  config: AuctionConfig,
  bids: readonly AuctionBid[],
  teu: number,
  allOrNothing: boolean,
  margin: number,
): number {
  const capacity = capacityOf(config);
  const ranking = ranked(config, bids);
  const { byBid } = fill(capacity, ranking);
  // remainingAfter[k] = TEU left after the first k ranked bids took their share.
  // Non-increasing in k, so find the largest k with remainingAfter[k] >= teu.
  let remaining = capacity;
  let k = 0;
  for (; k < ranking.length; k++) {
    const next = remaining - (byBid.get(ranking[k]!.id) ?? 0);
    if (next < teu) break;
    remaining = next;
  }
  const floor = minAcceptableBid(config, bids, null, { teu, allOrNothing });
  if (k === ranking.length) return floor;
  // Must rank strictly above ranking[k] (a later arrival loses ties), and be acceptable.
  return Math.max(floor, ranking[k]!.unitPriceCents + margin);
}

// ---------------------------------------------------------------------------
// Accepting bids

export function fail(code: AuctionFailureCode, message: string, minUnitPriceCents?: number): AuctionFailure {
  return minUnitPriceCents === undefined ? { ok: false, code, message } : { ok: false, code, message, minUnitPriceCents };
}

/**
 * Close after a bid at `now`, and whether it moved (soft close, ascending only): when the
 * bid comes at most `softCloseWindowMs` before the effective close, the close becomes
 * max(close, now + softCloseExtendMs), capped at `maxCloseAt`.
 */
export function closeAfterBid(config: AuctionConfig, now: Date): { closesAt: Date; extended: boolean } {
  const close = effectiveCloseAt(config);
  if (config.format !== 'ascending') return { closesAt: close, extended: false };
  const t = now.getTime();
  if (close.getTime() - t > config.softCloseWindowMs) return { closesAt: close, extended: false };
  const target = Math.min(Math.max(close.getTime(), t + config.softCloseExtendMs), config.maxCloseAt.getTime());
  return target > close.getTime() ? { closesAt: new Date(target), extended: true } : { closesAt: close, extended: false };
}

/**
 * Validates and places a bid at server time `now` with arrival number `seq`.
 *
 * Checks, in this order:
 * 1. `now` ≥ `opensAt` → else `auction_not_open`;
 * 2. `now` < effective close (min(closesAt, maxCloseAt)) → else `auction_closed`;
 * 3. `teu` whole, 1..config.teu; unit price (and maximum, if any) an integer > 0; the
 *    maximum ≥ the unit price; the id new; `seq` greater than every existing seq → else `invalid_bid`;
 * 4. unit price ≥ {@link minAcceptableBid} for this bid (sealed: the reserve) → else
 *    `bid_too_low` with `minUnitPriceCents` (an ascending auto-bid whose maximum reaches the
 *    minimum is opened at the minimum instead).
 *
 * Then (ascending only) the soft close is applied and outbid auto-bids respond (see the
 * module rules). Sealed bids ignore `maxUnitPriceCents` (it is dropped from the stored bid).
 */
export function acceptBid(
  config: AuctionConfig,
  bids: readonly AuctionBid[],
  incoming: IncomingBid,
  now: Date,
  seq: number,
  options: AcceptBidOptions = {},
): AcceptedBid | AuctionFailure {
  const early = checkIncoming(config, incoming, now);
  if (early) return early;
  if (!Number.isSafeInteger(seq) || bids.some((b) => b.seq >= seq)) {
    return fail('invalid_bid', 'seq must be greater than every earlier bid');
  }
  if (bids.some((b) => b.id === incoming.id)) {
    return fail('invalid_bid', `bid ${incoming.id} already exists`);
  }

  // the book ranked once: gives the minimum now, and (with the new bid inserted) its allocation after
  const ranking = config.format === 'sealed' ? [] : ranked(config, bids);
  const min = config.format === 'sealed' ? config.reservePriceCents : minFromAllocation(config, fillSummary(capacityOf(config), ranking), incoming);
  const bid = bidAtMinimum(config, incoming, min, seq, now);
  if ('ok' in bid) return bid;

  const { closesAt, extended } = closeAfterBid(config, now);
  if (config.format === 'sealed') {
    return { ok: true, bid, closesAt, extended, status: 'sealed', allocatedTeu: 0, autoBids: [] };
  }

  const { autoBids, finalLineId } = runAutoBids(config, [...bids, bid], bid, seq, now, options);
  const allocatedTeu =
    autoBids.length === 0
      ? eligible(config, bid)
        ? fillSummary(capacityOf(config), insertRanked(ranking, bid), bid.id).teuOfBid
        : 0
      : allocationOf(config, [...bids, bid, ...autoBids], finalLineId);
  return { ok: true, bid, closesAt, extended, status: allocatedTeu > 0 ? 'leading' : 'outbid', allocatedTeu, autoBids };
}

/**
 * Check 4 of {@link acceptBid} and the bid it places: the incoming bid at its price when that reaches `min`, an
 * ascending auto-bid whose maximum reaches it opened at `min`, else `bid_too_low` with the minimum. Sealed bids drop
 * the maximum.
 */
export function bidAtMinimum(config: AuctionConfig, incoming: IncomingBid, min: number, seq: number, now: Date): AuctionBid | AuctionFailure {
  const isAuto = config.format === 'ascending' && incoming.maxUnitPriceCents !== undefined;
  let price = incoming.unitPriceCents;
  if (price < min) {
    if (isAuto && incoming.maxUnitPriceCents! >= min) price = min;
    else return fail('bid_too_low', `the lowest acceptable unit price is ${min} cents`, min);
  }
  const { maxUnitPriceCents: _drop, replacesBidId: _r, ...base } = incoming;
  const bid: AuctionBid = { ...base, unitPriceCents: price, seq, placedAt: now };
  if (isAuto) bid.maxUnitPriceCents = incoming.maxUnitPriceCents!;
  return bid;
}

/** Checks 1–3 of {@link acceptBid} that need no book: open, not closed, TEU, price and maximum. Null: passed. */
export function checkIncoming(config: AuctionConfig, incoming: IncomingBid, now: Date): AuctionFailure | null {
  const t = now.getTime();
  if (t < config.opensAt.getTime()) {
    return fail('auction_not_open', `the auction opens at ${config.opensAt.toISOString()}`);
  }
  const close = effectiveCloseAt(config);
  if (!(t < close.getTime())) {
    return fail('auction_closed', `the auction closed at ${close.toISOString()}`);
  }
  if (!Number.isSafeInteger(incoming.teu) || incoming.teu < 1 || incoming.teu > config.teu) {
    return fail('invalid_bid', `teu must be a whole number from 1 to ${config.teu}`);
  }
  if (!Number.isSafeInteger(incoming.unitPriceCents) || incoming.unitPriceCents <= 0) {
    return fail('invalid_bid', 'unitPriceCents must be a whole number of cents above 0');
  }
  if (config.format === 'ascending' && incoming.maxUnitPriceCents !== undefined) {
    const max = incoming.maxUnitPriceCents;
    if (!Number.isSafeInteger(max) || max < incoming.unitPriceCents) {
      return fail('invalid_bid', 'maxUnitPriceCents must be a whole number of cents, at least unitPriceCents');
    }
  }
  const ceiling = priceCeilingCents(config);
  // an auto-bid maximum is refused above the ceiling in a sealed auction too, where it is otherwise ignored
  const named = Math.max(incoming.unitPriceCents, incoming.maxUnitPriceCents ?? 0);
  if (named > ceiling) {
    return {
      ok: false, code: 'bid_too_high', maxUnitPriceCents: ceiling,
      message: `a unit price above ${euros(ceiling)} per TEU on this listing (${PRICE_CEILING_RESERVE_MULTIPLE}× its reserve, at least ${euros(PRICE_CEILING_FLOOR_CENTS)}) is refused as a likely typing error`,
    };
  }
  return null;
}

function allocationOf(config: AuctionConfig, bids: readonly AuctionBid[], bidId: string): number {
  return allocate(config, bids).winners.find((w) => w.bidId === bidId)?.teu ?? 0;
}

/**
 * Auto-bid responses to `incoming` (see module rules). Simulates raise by raise, then
 * collapses each replaced bid's chain to its last raise and renumbers seqs consecutively
 * after the incoming seq (preserving their relative order, hence the allocation).
 *
 * Leapfrog jump: when the last two raises were two lines passing each other by exactly
 * the step (X at x-step -> Y raised to x, X raised to x+step... ), and no other bid's price
 * lies in the range they move through, every further period is a translate of the last,
 * so many raises are applied at once, stopping two raises short of the first ceiling or
 * foreign price; the tail is simulated raise by raise. Equivalence with the plain
 * simulation is property-tested (`stepwiseAutoBids`).
 */
function runAutoBids(
  config: AuctionConfig,
  all: readonly AuctionBid[],
  incoming: AuctionBid,
  seq: number,
  now: Date,
  options: AcceptBidOptions,
): { autoBids: AuctionBid[]; finalLineId: string } {
  let active = activeBids(all);
  // A simulated raise's id -> the pre-existing bid its line started from.
  const origin = new Map<string, AuctionBid>();
  let nextSeq = seq + 1;
  const step = priceStep(config);
  type Raise = { from: AuctionBid; to: AuctionBid };
  const history: Raise[] = [];

  const replace = (old: AuctionBid, price: number): AuctionBid => {
    const s = nextSeq++;
    const raise: AuctionBid = { ...old, id: `\u0000auto:${s}`, unitPriceCents: price, seq: s, placedAt: now };
    origin.set(raise.id, origin.get(old.id) ?? old);
    active = active.map((b) => (b === old ? raise : b));
    return raise;
  };

  for (let raises = 0; raises < MAX_AUTO_BID_RAISES; raises++) {
    const next = raisable(config, active, true)[0];
    if (!next) break;
    history.push({ from: next.bid, to: replace(next.bid, next.price) });
    if (!options.stepwiseAutoBids) leapfrog(history, active, step, config, replace);
  }

  const finals = active.filter((b) => origin.has(b.id)).sort((a, b) => a.seq - b.seq);
  const makeId = options.newBidId ?? ((s: number, replaced: AuctionBid) => `${replaced.id}:auto:${s}`);
  let finalLineId = incoming.id;
  const autoBids = finals.map((b, i) => {
    const replaced = origin.get(b.id)!;
    const s = seq + 1 + i;
    const out: AuctionBid = { ...b, id: makeId(s, replaced), seq: s, replacesBidId: replaced.id };
    if (replaced.id === incoming.id) finalLineId = out.id;
    return out;
  });
  return { autoBids, finalLineId };
}

/**
 * Outbid auto-bids that can be raised within their maximum, with their raise price, in the
 * order they are served (earliest seq first). With `firstOnly`, stops at the first.
 */
function raisable(
  config: AuctionConfig,
  active: readonly AuctionBid[],
  firstOnly: boolean,
): { bid: AuctionBid; price: number }[] {
  // no auto-bid in force: nothing can be raised (skips ranking the whole book on every plain bid)
  if (!active.some((b) => b.maxUnitPriceCents !== undefined)) return [];
  const capacity = capacityOf(config);
  const step = priceStep(config);
  const { byBid } = fill(capacity, active.filter((b) => eligible(config, b)).sort(compareBids));
  const outbid = active
    .filter(
      (b) =>
        b.maxUnitPriceCents !== undefined &&
        eligible(config, b) &&
        b.teu <= capacity &&
        (byBid.get(b.id) ?? 0) < b.teu,
    )
    .sort((a, b) => a.seq - b.seq || cmpStr(a.id, b.id));
  const out: { bid: AuctionBid; price: number }[] = [];
  for (const b of outbid) {
    // never against its own organisation: its bidder's other bids are left out of the question
    const rivals = active.filter((o) => o.bidderId !== b.bidderId);
    if (rivals.length < active.length - 1) {
      const alone = fill(capacity, [...rivals, b].filter((o) => eligible(config, o)).sort(compareBids)).byBid;
      if ((alone.get(b.id) ?? 0) >= b.teu) continue; // outbid by its own organisation's bids only
    }
    const p = fullFillPrice(config, rivals, b.teu, b.allOrNothing, step);
    if (p > b.maxUnitPriceCents! || p <= b.unitPriceCents) continue;
    out.push({ bid: b, price: p });
    if (firstOnly) break;
  }
  return out;
}

/** Applies many leapfrog periods at once when the last two raises form one (see {@link runAutoBids}). */
function leapfrog(
  history: { from: AuctionBid; to: AuctionBid }[],
  active: readonly AuctionBid[],
  step: number,
  config: AuctionConfig,
  replace: (old: AuctionBid, price: number) => AuctionBid,
): void {
  const rY = history[history.length - 2];
  const rX = history[history.length - 1];
  if (!rX || !rY) return;
  const X = rX.to;
  const Y = rY.to;
  // X has just passed Y's bid by exactly the step; Y is still in force.
  if (rX.from === Y || !active.includes(Y) || X.unitPriceCents !== Y.unitPriceCents + step) return;
  // No other bid's price in the range they will move through: the ranking keeps its shape.
  const lo = Y.unitPriceCents;
  let ceilingOfRange = Number.MAX_SAFE_INTEGER;
  for (const b of active) {
    if (b === X || b === Y || !eligible(config, b)) continue;
    if (b.unitPriceCents >= lo) {
      if (b.unitPriceCents <= X.unitPriceCents) return;
      ceilingOfRange = Math.min(ceilingOfRange, b.unitPriceCents - 1);
    }
  }
  // Both half-periods must be pure: only Y can be raised now (to x+step), and after that
  // only X (to x+2*step). With the ranking's shape fixed, every later period repeats this
  // (other raise prices only grow with X's and Y's prices) until a maximum is reached.
  const pending = raisable(config, active, false);
  if (pending.length !== 1 || pending[0]!.bid !== Y || pending[0]!.price !== X.unitPriceCents + step) return;
  const y3: AuctionBid = { ...Y, id: '\u0000probe', unitPriceCents: X.unitPriceCents + step, seq: Number.MAX_SAFE_INTEGER };
  const then = raisable(config, active.map((b) => (b === Y ? y3 : b)), false);
  if (then.length !== 1 || then[0]!.bid !== X || then[0]!.price !== X.unitPriceCents + 2 * step) return;
  jumpLeapfrog(X, Y, ceilingOfRange, step, replace, history);
}

/**
 * The jump of {@link leapfrog} once its checks hold (also used by the book's simulation, ./order-book-auto-bids.ts): X has
 * just passed Y by the step and nothing else lies in the range they move through below `ceilingOfRange`; applies as many
 * raises as both maxima allow at once, leaving the last two to the simulation (none when the war is too short).
 */
export function jumpLeapfrog(
  X: AuctionBid,
  Y: AuctionBid,
  ceilingOfRange: number,
  step: number,
  replace: (old: AuctionBid, price: number) => AuctionBid,
  history: { from: AuctionBid; to: AuctionBid }[],
): void {
  const x = X.unitPriceCents;
  // Raise i (i = 1, 2, …) moves Y (odd i) or X (even i) to x + i*step.
  const limitY = Math.min(ceilingOfRange, Y.maxUnitPriceCents!);
  const limitX = Math.min(ceilingOfRange, X.maxUnitPriceCents!);
  const iY = Math.floor((limitY - x) / step); // last i with x + i*step <= limitY
  const iX = Math.floor((limitX - x) / step);
  const firstFailOdd = iY < 1 ? 1 : iY % 2 === 0 ? iY + 1 : iY + 2;
  const firstFailEven = iX < 2 ? 2 : iX % 2 === 0 ? iX + 2 : iX + 1;
  const m = Math.min(firstFailOdd, firstFailEven) - 1 - 2; // leave the tail to the simulation
  if (m < 2) return;
  // After m raises: the last mover is at x + m*step, the other at x + (m-1)*step.
  const lastIsY = m % 2 === 1;
  const other = lastIsY ? X : Y;
  const mover = lastIsY ? Y : X;
  const o = replace(other, x + (m - 1) * step);
  const v = replace(mover, x + m * step);
  history.push({ from: other, to: o }, { from: mover, to: v });
}

// ---------------------------------------------------------------------------
// Public views

/** A bid as others may see it: no bidder id, no auto-bid maximum. */
export interface AnonymisedBid {
  /** 'You' for the viewer's own bids, else 'Bidder N' (N by the bidder's first bid, by seq). */
  label: string;
  isYou: boolean;
  bidId: string;
  teu: number;
  unitPriceCents: number;
  allOrNothing: boolean;
  seq: number;
  placedAt: Date;
}

/**
 * Stable bidder labels: bidders are numbered 1, 2, … in the order of their first bid
 * (lowest seq, replaced bids included), the same for every viewer; the viewer's own
 * bids read 'You'. New bids never renumber earlier bidders.
 */
export function bidderLabels(bids: readonly AuctionBid[], viewerBidderId: string | null): Map<string, string> {
  const first = new Map<string, number>();
  for (const b of bids) {
    const s = first.get(b.bidderId);
    if (s === undefined || b.seq < s) first.set(b.bidderId, b.seq);
  }
  const order = [...first.entries()].sort((a, b) => a[1] - b[1] || cmpStr(a[0], b[0]));
  const labels = new Map<string, string>();
  order.forEach(([bidder], i) => labels.set(bidder, bidder === viewerBidderId ? 'You' : `Bidder ${i + 1}`));
  return labels;
}

/** The bids (in input order) with bidder ids replaced by stable labels (see {@link bidderLabels}). */
export function anonymise(bids: readonly AuctionBid[], viewerBidderId: string | null): AnonymisedBid[] {
  const labels = bidderLabels(bids, viewerBidderId);
  return bids.map((b) => ({
    label: labels.get(b.bidderId)!,
    isYou: viewerBidderId !== null && b.bidderId === viewerBidderId,
    bidId: b.id,
    teu: b.teu,
    unitPriceCents: b.unitPriceCents,
    allOrNothing: b.allOrNothing,
    seq: b.seq,
    placedAt: b.placedAt,
  }));
}

export interface LadderEntry {
  /** Its place in the allocation, from 1 (a viewer's own bid below the shown top keeps its place). */
  rank: number;
  label: string;
  isYou: boolean;
  bidId: string;
  /** TEU currently awarded to this bid. */
  teu: number;
  /** TEU asked for. */
  bidTeu: number;
  unitPriceCents: number;
  allOrNothing: boolean;
}

/**
 * How many winning bids a public ladder shows: the top of the allocation, as a trading screen shows the top of
 * its book (`leadingBidCount` tells how many win in all; a viewer always sees its own winning bids too). A
 * broadcast ladder then costs the same however many bids win — a listing of many TEU can have thousands.
 */
export const LADDER_ROWS = 50;

export type PublicLadder =
  | {
      format: 'ascending';
      closesAt: Date;
      /** Winning bids in allocation order, anonymised: the first `LADDER_ROWS`, and any further ones of the viewer. */
      leadingBids: LadderEntry[];
      /** How many bids win now (leadingBids may show fewer). */
      leadingBidCount: number;
      /** Lowest winning unit price, null when nothing is allocated. */
      currentPriceCents: number | null;
      /** {@link minAcceptableBid} for a partial bid. */
      minNextBidCents: number;
      awardedTeu: number;
      unallocatedTeu: number;
    }
  | { format: 'sealed'; closesAt: Date };

/**
 * What a viewer (or a broadcast, with `viewerBidderId` null) may see live.
 * Ascending: the winning bids, anonymised, with the current and next minimum price.
 * Sealed: only the close time — no prices, no bids, no counts.
 */
export function publicLadder(
  config: AuctionConfig,
  bids: readonly AuctionBid[],
  viewerBidderId: string | null,
  maxRows = LADDER_ROWS,
): PublicLadder {
  const closesAt = effectiveCloseAt(config);
  if (config.format === 'sealed') return { format: 'sealed', closesAt };
  const labels = bidderLabels(bids, viewerBidderId);
  const byId = new Map(bids.map((b) => [b.id, b] as const));
  return ascendingLadder(config, allocate(config, bids), (id) => byId.get(id)!, (bidder) => labels.get(bidder)!, viewerBidderId, maxRows);
}

/**
 * An ascending auction's public ladder from its allocation, its bids by id and its bidders' labels: the first
 * `maxRows` winners and the viewer's further ones. `winnerCount`: how many win, when `a.winners` holds only the first
 * `maxRows` of them (a broadcast ladder of an undersubscribed book, ./order-book.ts).
 */
export function ascendingLadder(
  config: AuctionConfig,
  a: Allocation,
  bidOf: (bidId: string) => Pick<AuctionBid, 'teu' | 'allOrNothing'>,
  labelOf: (bidderId: string) => string,
  viewerBidderId: string | null,
  maxRows = LADDER_ROWS,
  winnerCount = a.winners.length,
): PublicLadder {
  const shown = a.winners.flatMap((w, i) => (i < maxRows || (viewerBidderId !== null && w.bidderId === viewerBidderId) ? [{ w, rank: i + 1 }] : []));
  return {
    format: 'ascending',
    closesAt: effectiveCloseAt(config),
    leadingBidCount: winnerCount,
    leadingBids: shown.map(({ w, rank }) => {
      const b = bidOf(w.bidId);
      return {
        rank,
        label: labelOf(w.bidderId),
        isYou: viewerBidderId !== null && w.bidderId === viewerBidderId,
        bidId: w.bidId,
        teu: w.teu,
        bidTeu: b.teu,
        unitPriceCents: w.unitPriceCents,
        allOrNothing: b.allOrNothing,
      };
    }),
    currentPriceCents: a.lowestWinningPriceCents,
    minNextBidCents: minFromAllocation(config, a),
    awardedTeu: a.awardedTeu,
    unallocatedTeu: a.unallocatedTeu,
  };
}

/** Checks an auction's parameters; returns the problems found (empty when valid). */
export function validateAuctionConfig(config: AuctionConfig): string[] {
  const errors: string[] = [];
  const int = (n: number) => Number.isSafeInteger(n);
  if (config.format !== 'ascending' && config.format !== 'sealed') errors.push('format must be ascending or sealed');
  if (!int(config.teu) || config.teu < 1) errors.push('teu must be a whole number of at least 1');
  if (!int(config.reservePriceCents) || config.reservePriceCents < 1) errors.push('reservePriceCents must be a whole number of at least 1');
  if (!int(config.minIncrementCents) || config.minIncrementCents < 1) errors.push('minIncrementCents must be a whole number of at least 1');
  if (!(config.opensAt.getTime() < config.closesAt.getTime())) errors.push('opensAt must be before closesAt');
  if (config.closesAt.getTime() > config.maxCloseAt.getTime()) errors.push('closesAt must not be after maxCloseAt');
  if (!(config.softCloseWindowMs >= 0) || !(config.softCloseExtendMs >= 0)) errors.push('soft close durations must be ≥ 0');
  return errors;
}
