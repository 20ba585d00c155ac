/**
 * A forwarder's standing in an ascending auction (the auction room's "my position", AuctionRoom.position) and
 * its text: "winning 2 of 9 TEU — your 7 TEU bid at €400.00 is outbid; a new bid needs at least €430.00 per
 * TEU". The TEU wanted add up every active bid of the viewer, so the text names the bids that win less than
 * they ask. Pure: tested in test/unit/client-auction-position.test.ts.
 */
import { fmtMoney, fmtNum } from './format.ts';

/** One of the viewer's active bids: what it asks and what the ladder gives it now. */
export interface BidStanding {
  teu: number;
  unitPriceCents: number;
  allocatedTeu: number;
}

export interface AuctionPosition {
  /** open: 'winning' (every TEU wanted), 'partly', 'outbid' (none); closed: 'won' / 'lost' */
  state: 'winning' | 'partly' | 'outbid' | 'won' | 'lost';
  allocated: number;
  wanted: number;
  final: boolean;
  /** while open: the viewer's bids that win less than they ask, highest price first */
  short: BidStanding[];
}

/** more outbid bids than this are counted, not listed */
const LISTED = 3;

/**
 * The standing of the viewer's active bids while the auction is open; null without any. `allocated`: the TEU
 * the ladder gives the viewer in all, when it is newer than the bids (an auto-bid raise the bids do not show
 * yet); by default what the bids win.
 */
export function openPosition(bids: readonly BidStanding[], allocated = bids.reduce((s, b) => s + b.allocatedTeu, 0)): AuctionPosition | null {
  if (!bids.length) return null;
  const wanted = Math.max(allocated, bids.reduce((s, b) => s + b.teu, 0));
  return {
    allocated,
    wanted,
    state: allocated <= 0 ? 'outbid' : allocated >= wanted ? 'winning' : 'partly',
    final: false,
    short: bids.filter((b) => b.allocatedTeu < b.teu).sort((a, b) => b.unitPriceCents - a.unitPriceCents),
  };
}

const bidName = (b: BidStanding) => `your ${fmtNum(b.teu)} TEU bid at ${fmtMoney(b.unitPriceCents)}`;

function listed(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Which bids win less than they ask: the partly filled ones by what they win, then the outbid ones. */
function shortText(p: AuctionPosition): string {
  const partial = p.short.filter((b) => b.allocatedTeu > 0).map((b) => `${bidName(b)} wins only ${fmtNum(b.allocatedTeu)} TEU`);
  const none = p.short.filter((b) => b.allocatedTeu <= 0);
  const many = none.length > 1;
  // under an "outbid" heading "is outbid" would say it twice
  const verb = p.state === 'outbid' ? (many ? 'win nothing' : 'wins nothing') : many ? 'are outbid' : 'is outbid';
  const outbid = !none.length
    ? []
    : none.length > LISTED
      ? [`${fmtNum(none.length)} of your bids (${fmtNum(none.reduce((s, b) => s + b.teu, 0))} TEU) ${verb}`]
      : [`${listed(none.map(bidName))} ${verb}`];
  return [...partial, ...outbid].join(', ');
}

/**
 * The position as the room shows it. Open and short of what is wanted: which bids win less and, when the
 * page knows it (`minBidCents`, the listing's minimum next bid), the price a new bid needs.
 */
export function positionText(p: AuctionPosition, minBidCents?: number): string {
  if (p.state === 'won') return `won ${fmtNum(p.allocated)} TEU`;
  if (p.state === 'lost') return 'not won';
  if (p.state === 'winning') return `winning all ${fmtNum(p.wanted)} TEU you bid for`;
  const head = p.state === 'outbid' ? 'outbid' : `winning ${fmtNum(p.allocated)} of ${fmtNum(p.wanted)} TEU`;
  const why = shortText(p);
  const next = typeof minBidCents === 'number' ? `; a new bid needs at least ${fmtMoney(minBidCents)} per TEU` : '';
  return `${head}${why ? ` — ${why}` : ''}${next}`;
}

/**
 * Whether a ladder (a read of the listing or a `listing:update`) of book version `incoming` is older than the one the
 * room shows (`shown`, -1 before any): then it changes nothing. Only between open states: a close or a cancellation
 * always applies, and a ladder without a version (a sealed auction's, a hold's update) is never older.
 */
export function olderLadder(incoming: number | undefined, shown: number, incomingStatus: string | undefined, shownStatus: string | undefined): boolean {
  return typeof incoming === 'number' && incoming < shown && incomingStatus === 'open' && shownStatus === 'open';
}
