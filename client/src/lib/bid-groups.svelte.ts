/**
 * Bid groups (either-or bids) in the auction room: the builder ("add an alternative") and the viewer's groups.
 *
 * The builder makes a group of the bid being entered on this auction plus up to four other open auctions
 * (picked from `GET /api/auctions`), each with its own TEU and price; `POST /api/bid-groups` places them all
 * or none. At most one bid of a group ever wins: when one wins, the others are withdrawn by the platform.
 */
import { api } from './api';
import type { BidGroup, BidGroupPlaced, OpenAuction } from './types';

export const MAX_ALTERNATIVES = 4;

export interface Alternative {
  auction: OpenAuction;
  teu: number | null;
  priceEur: number | null;
  aon: boolean;
}

export interface GroupBid {
  listingId: string;
  teu: number;
  unitPriceCents: number;
  allOrNothing: boolean;
}

const toCents = (eur: number | null) => (typeof eur === 'number' && Number.isFinite(eur) ? Math.round(eur * 100) : undefined);

/** What the builder would send for one alternative, or why it cannot be sent yet. */
export function alternativeBid(a: Alternative): GroupBid | string {
  if (typeof a.teu !== 'number' || !Number.isInteger(a.teu) || a.teu < 1) return 'TEU must be a whole number of at least 1.';
  if (a.teu > a.auction.teu) return `That auction offers ${a.auction.teu} TEU.`;
  const p = toCents(a.priceEur);
  if (p === undefined || p <= 0) return 'Enter a price per TEU in euros.';
  return { listingId: a.auction.listingId, teu: a.teu, unitPriceCents: p, allOrNothing: a.aon };
}

export class GroupBuilder {
  readonly listingId: string;
  open = $state(false);
  auctions = $state<OpenAuction[]>([]);
  loaded = $state(false);
  loadError = $state<string | null>(null);
  picks = $state<Alternative[]>([]);

  constructor(listingId: string) {
    this.listingId = listingId;
  }

  /** the open auctions other than this one, not yet picked */
  candidates = $derived(this.auctions.filter((a) => a.listingId !== this.listingId && !this.picks.some((p) => p.auction.listingId === a.listingId)));
  full = $derived(this.picks.length >= MAX_ALTERNATIVES);
  problems = $derived(this.picks.map((p) => alternativeBid(p)).map((r) => (typeof r === 'string' ? r : null)));

  async show() {
    this.open = true;
    if (this.loaded) return;
    try {
      const list = await api.get<OpenAuction[]>('/auctions');
      this.auctions = Array.isArray(list) ? list : [];
      this.loadError = null;
    } catch (e) {
      this.loadError = e instanceof Error ? e.message : String(e);
    } finally {
      this.loaded = true;
    }
  }

  hide() {
    this.open = false;
  }

  add(a: OpenAuction, teu: number | null, priceEur: number | null) {
    if (this.full || this.picks.some((p) => p.auction.listingId === a.listingId)) return;
    const reserve = typeof a.reservePriceCents === 'number' ? a.reservePriceCents / 100 : null;
    this.picks = [...this.picks, { auction: a, teu: typeof teu === 'number' ? Math.min(teu, a.teu) : 1, priceEur: priceEur ?? reserve, aon: false }];
  }

  remove(listingId: string) {
    this.picks = this.picks.filter((p) => p.auction.listingId !== listingId);
  }

  /** Places the group: this auction's bid first, then the alternatives. Throws ApiError (nothing placed). */
  async place(current: Omit<GroupBid, 'listingId'>): Promise<BidGroupPlaced> {
    const bids = [{ listingId: this.listingId, ...current }, ...this.picks.map((p) => alternativeBid(p))];
    const bad = bids.find((b): b is string => typeof b === 'string');
    if (bad) throw new Error(bad);
    const r = await api.post<BidGroupPlaced>('/bid-groups', { bids });
    this.picks = [];
    this.open = false;
    return r;
  }
}

/** The viewer's bid groups (a forwarder's), to show each bid's group in My bids. */
export class MyGroups {
  groups = $state<BidGroup[]>([]);
  loaded = $state(false);
  byId = $derived(new Map(this.groups.map((g) => [g.id, g] as const)));

  async load() {
    try {
      const list = await api.get<BidGroup[]>('/bid-groups');
      this.groups = Array.isArray(list) ? list : [];
    } catch {
      // not a forwarder, or a passing failure: My bids shows the bids without their groups
    } finally {
      this.loaded = true;
    }
  }
}

export const GROUP_STATUS_TEXT: Record<BidGroup['status'], string> = {
  open: 'open',
  won: 'won',
  lost: 'lost',
  withdrawn: 'withdrawn',
};
