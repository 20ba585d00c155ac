/**
 * Either-or bids (bid groups): pure rules. No I/O.
 *
 * **Rule.** A bid group is 2–5 bids of one forwarder on different auction listings, of which at most one
 * may win. A bid of a group *wins* at its auction's close when it is awarded any TEU (a partial award
 * counts). In the same transaction as that close the group becomes `won` and its other bids still in force
 * are withdrawn: they never count again — neither in a ladder nor in any clearing. A group bid that loses
 * leaves its siblings standing. A bid whose group is already decided (won or withdrawn) is excluded from
 * clearing even if its own row still read `active` (belt and braces: the close locks the group first).
 *
 * Clearing itself stays the auction core's ({@link clearAuction}); this module only says which bids take part
 * (the excluded ids are data) and what a result means for the groups.
 */
import { clearAuction, type AuctionBid, type AuctionConfig, type ClearingResult } from './auction.ts';

export const MIN_GROUP_BIDS = 2;
export const MAX_GROUP_BIDS = 5;

/** A stored bid as the group rule sees it. */
export interface GroupedBidState {
  id: string;
  /** null for a single bid */
  groupId: string | null;
  status: 'active' | 'replaced' | 'won' | 'lost' | 'withdrawn';
}

export type GroupState = 'open' | 'won' | 'lost' | 'withdrawn';

/** Group states in which none of its bids may count any more. */
const DECIDED: ReadonlySet<GroupState> = new Set(['won', 'withdrawn']);

/** Why a group's shape is refused (400), or null when it is acceptable. */
export function groupShapeProblem(listingIds: readonly string[]): string | null {
  if (listingIds.length < MIN_GROUP_BIDS) return `a bid group needs at least ${MIN_GROUP_BIDS} bids on different listings`;
  if (listingIds.length > MAX_GROUP_BIDS) return `a bid group has at most ${MAX_GROUP_BIDS} bids`;
  const seen = new Set<string>();
  for (const [i, id] of listingIds.entries()) {
    if (seen.has(id)) return `bids[${i}] names listing ${id} a second time: a group bids once per listing`;
    seen.add(id);
  }
  return null;
}

/**
 * The bids of one auction that must not count at its close (nor in its ladder): withdrawn ones, and any bid
 * whose group is no longer open (already won elsewhere, or withdrawn as a whole).
 */
export function excludedBidIds(bids: readonly GroupedBidState[], groups: ReadonlyMap<string, GroupState>): Set<string> {
  const out = new Set<string>();
  for (const b of bids) {
    if (b.status === 'withdrawn') out.add(b.id);
    else if (b.groupId !== null && DECIDED.has(groups.get(b.groupId) ?? 'open')) out.add(b.id);
  }
  return out;
}

/** The book without the excluded bids (what bidding, ladders and clearing see). */
export function withoutExcluded<B extends { id: string }>(bids: readonly B[], excluded: ReadonlySet<string>): B[] {
  return excluded.size === 0 ? [...bids] : bids.filter((b) => !excluded.has(b.id));
}

export interface GroupedClearing {
  result: ClearingResult;
  /** Groups one of whose bids won here (awarded ≥ 1 TEU), each with its winning bid, in winner order. */
  won: { groupId: string; bidId: string }[];
}

/**
 * Clears an auction whose book may hold group bids: the excluded bids take no part; every group with an
 * awarded bid is reported as won by that bid. (One group never has two bids on one listing.)
 */
export function clearWithGroups(
  config: AuctionConfig,
  bids: readonly AuctionBid[],
  excluded: ReadonlySet<string>,
  groupOf: ReadonlyMap<string, string>,
): GroupedClearing {
  const result = clearAuction(config, withoutExcluded(bids, excluded));
  const won: { groupId: string; bidId: string }[] = [];
  const seen = new Set<string>();
  for (const w of result.winners) {
    const g = groupOf.get(w.bidId);
    if (g === undefined || seen.has(g) || w.teu <= 0) continue;
    seen.add(g);
    won.push({ groupId: g, bidId: w.bidId });
  }
  return { result, won };
}

/**
 * After a close decided its bids (won / lost), what becomes of a group that did not win here: `lost` when none
 * of its bids is still in force anywhere, else still `open`.
 */
export function groupAfterClose(bidsOfGroup: readonly Pick<GroupedBidState, 'status'>[]): 'open' | 'lost' {
  return bidsOfGroup.some((b) => b.status === 'active') ? 'open' : 'lost';
}
