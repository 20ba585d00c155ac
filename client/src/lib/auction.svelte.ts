/**
 * Auction room state: one ascending or sealed listing, its bids and its live updates.
 *
 * The listing room is joined first, then the listing is read (nothing between the two is
 * missed); `listing:update` / `listing:closed` keep it current, `auction:result` arrives in
 * the organisation's room. After a reconnect everything is read again.
 */
import { api, ApiError, errorMessage } from './api';
import { live } from './live.svelte';
import { session } from './session.svelte';
import { fmtDateTime, fmtSeconds } from './format';
import { olderLadder, openPosition, positionText, type AuctionPosition } from './auction-position';
import type {
  AuctionResultEvent,
  Bid,
  BidResult,
  Booking,
  Departure,
  LeadingBid,
  Listing,
  ListingClosedEvent,
  ListingUpdateEvent,
  NewBidBody,
} from './types';

/** soft close defaults when the listing does not carry its own (seconds) */
const DEFAULT_SOFT_CLOSE_SECONDS = 120;

/** the listing's soft-close window / extension in seconds (ascending auctions) */
export function softCloseOf(l: Pick<Listing, 'softCloseWindowSeconds' | 'softCloseExtendSeconds'>) {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  return {
    windowSeconds: ok(l.softCloseWindowSeconds) ? l.softCloseWindowSeconds : DEFAULT_SOFT_CLOSE_SECONDS,
    extendSeconds: ok(l.softCloseExtendSeconds) ? l.softCloseExtendSeconds : DEFAULT_SOFT_CLOSE_SECONDS,
  };
}

/** The rules of the listing's auction format, worded with the listing's own soft close and cap. */
export function auctionRules(l: Listing): { title: string; rules: string[] } | null {
  const cap = l.maxCloseAt ? `, ${fmtDateTime(l.maxCloseAt)} UTC` : '';
  if (l.format === 'ascending') {
    const { windowSeconds, extendSeconds } = softCloseOf(l);
    const softClose =
      windowSeconds > 0 && extendSeconds > 0
        ? `A bid in the last ${fmtSeconds(windowSeconds)} moves the close to now + ${fmtSeconds(extendSeconds)} (never past the departure's cut-off${cap}).`
        : `Bids do not extend the close${l.maxCloseAt ? `; it never moves past the departure's cut-off${cap}` : ''}.`;
    return {
      title: 'Ascending auction — open, multi-unit, pay-as-bid',
      rules: [
        "The listing's TEU go to the highest unit prices first; on equal prices the earlier bid wins. Every winner pays its own bid.",
        'A new bid must beat the lowest winning price by the minimum increment, or take unallocated TEU at no less than the reserve.',
        softClose,
        'Auto-bid raises your bid by the minimum step whenever you are outbid, up to your maximum.',
        'All-or-nothing bids are filled completely or not at all.',
      ],
    };
  }
  if (l.format === 'sealed') {
    return {
      title: 'Sealed-bid auction — multi-unit, uniform price',
      rules: [
        'Bids are invisible to everyone else until the close.',
        `At the close the TEU go to the highest unit prices first; everyone who wins pays the lowest winning unit price (the clearing price).`,
        'All-or-nothing bids that do not fit are skipped.',
        ...(l.maxCloseAt ? [`The close never moves past the departure's cut-off${cap}.`] : []),
      ],
    };
  }
  return null;
}

export const FORMAT_LABEL: Record<string, string> = {
  fixed: 'Fixed price',
  falling: 'Falling price',
  ascending: 'Ascending auction',
  sealed: 'Sealed bid',
};

export interface LadderRow extends LeadingBid {
  mine: boolean;
  /** label to show ('You' for the viewer's own bids) */
  shown: string;
}

export interface AuctionOutcome {
  won: boolean;
  awardedTeu: number;
  /** sealed: the clearing price; ascending: the (average) price of the winning bids */
  unitPriceCents?: number;
  averaged: boolean;
}

const EXTENDED_SHOW_MS = 6000;

export class AuctionRoom {
  readonly id: string;
  listing = $state<Listing | null>(null);
  departure = $state<Departure | null>(null);
  bids = $state<Bid[]>([]);
  bidsLoaded = $state(false);
  /** how the last bid went: on the live connection, or by REST (its fallback) */
  lastPath = $state<'socket' | 'rest' | null>(null);
  status = $state<'loading' | 'ready' | 'error' | 'notfound'>('loading');
  error = $state<string | null>(null);
  result = $state<AuctionResultEvent | null>(null);
  /** Date.now() when the close last moved later (0 = never) */
  extendedAt = $state(0);
  /** after the close (forwarders): the viewer's bookings from this auction */
  bookings = $state<Booking[]>([]);
  bookingsLoaded = $state(false);
  /** labels ('Bidder N') learned to be the viewer's own */
  #myLabels = $state<string[]>([]);

  #token = 0;
  #fetchStartedAt = 0;
  /** the book version (`bidSeq`) of the ladder shown: a read or an event older than it is dropped */
  #bidSeq = -1;
  #bidsTimer: ReturnType<typeof setTimeout> | null = null;
  #bidsInFlight: Promise<void> | null = null;
  #bidsAgain = false;
  #disposed = false;
  #bookingsTimer: ReturnType<typeof setTimeout> | null = null;
  #bookingsTries = 0;
  #listingTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(id: string) {
    this.id = id;
  }

  isForwarder = $derived(session.me?.org.kind === 'forwarder');
  /** the operator organisation that owns the listing's departure */
  isOwner = $derived(
    session.me?.org.kind === 'operator' &&
      ((!!this.departure && this.departure.operatorOrgId === session.me.org.id) ||
        (!this.departure && this.bids.some((b) => !!b.orgName))),
  );
  isAuction = $derived(this.listing?.format === 'ascending' || this.listing?.format === 'sealed');
  isOpen = $derived(this.listing?.status === 'open');
  canBid = $derived(this.isForwarder && this.isAuction && this.isOpen);

  mySeqs = $derived(new Set(this.isForwarder ? this.bids.map((b) => b.seq).filter((s): s is number => typeof s === 'number') : []));
  myLabelSet = $derived(
    new Set([...(this.isForwarder ? this.bids.map((b) => b.label).filter((l): l is string => !!l && l !== 'You') : []), ...this.#myLabels]),
  );

  ladder: LadderRow[] = $derived.by(() => {
    const rows = this.listing?.format === 'ascending' ? (this.listing.leadingBids ?? []) : [];
    return rows.map((r) => {
      const mine =
        r.label === 'You' ||
        (this.isForwarder && typeof r.seq === 'number' && this.mySeqs.has(r.seq)) ||
        (this.isForwarder && this.myLabelSet.has(r.label));
      return { ...r, mine, shown: mine ? 'You' : r.label };
    });
  });

  /**
   * my standing in an ascending auction: while open 'winning' / 'partly' / 'outbid' of the TEU wanted;
   * once closed the final result, 'won' (allocated > 0) or 'lost'
   */
  position: AuctionPosition | null = $derived.by(() => {
    const l = this.listing;
    if (!this.isForwarder || l?.format !== 'ascending' || l.status === 'cancelled') return null;
    const mineRows = this.ladder.filter((r) => r.mine);
    const ladderTeu = mineRows.reduce((s, r) => s + (r.allocatedTeu ?? 0), 0);
    if (l.status === 'closed') {
      // the bids that took part at the close (raises replace their earlier steps)
      const final = this.bids.filter((b) => b.status !== 'replaced');
      if (!final.length && !mineRows.length) return null;
      // the settled bids / result event have the last word; until then the final ladder tells
      const allocated = this.outcome ? this.outcome.awardedTeu : ladderTeu;
      const wanted = final.length ? final.reduce((s, b) => s + b.teu, 0) : mineRows.reduce((s, r) => s + r.teu, 0);
      return { allocated, wanted: Math.max(wanted, allocated), state: allocated > 0 ? ('won' as const) : ('lost' as const), final: true, short: [] };
    }
    // each active bid wins what its ladder row gives it (the ladder lists every winning bid of the viewer);
    // until the viewer's bids are read, its ladder rows stand for them. The ladder's total is the newer one.
    const active = this.bids.filter((b) => b.status === 'active');
    const bySeq = new Map(mineRows.map((r) => [r.seq, r]));
    const standings = active.length
      ? active.map((b) => ({ teu: b.teu, unitPriceCents: b.unitPriceCents, allocatedTeu: bySeq.get(b.seq)?.allocatedTeu ?? 0 }))
      : mineRows.map((r) => ({ teu: r.teu, unitPriceCents: r.unitPriceCents, allocatedTeu: r.allocatedTeu ?? 0 }));
    return openPosition(standings, ladderTeu);
  });

  /** the minimum unit price a new bid must carry (cents), when known */
  minBidCents = $derived.by(() => {
    const l = this.listing;
    if (!l) return undefined;
    if (typeof l.minNextBidCents === 'number') return l.minNextBidCents;
    return typeof l.reservePriceCents === 'number' && l.reservePriceCents > 0 ? l.reservePriceCents : undefined;
  });

  /** the position as the room shows it, with the minimum a new bid needs */
  positionText = $derived(this.position ? positionText(this.position, this.minBidCents) : '');

  /** after the close: what the viewer (a forwarder) won */
  outcome: AuctionOutcome | null = $derived.by(() => {
    const l = this.listing;
    if (!l || !this.isForwarder || (l.status !== 'closed' && !this.result)) return null;
    const won = this.bids.filter((b) => b.status === 'won' || (typeof b.awardedTeu === 'number' && b.awardedTeu > 0));
    const fromBids = won.reduce((s, b) => s + (typeof b.awardedTeu === 'number' ? b.awardedTeu : b.teu), 0);
    const awardedTeu = this.result ? Math.max(this.result.awardedTeu ?? 0, fromBids) : fromBids;
    const isWon = this.result ? this.result.won || awardedTeu > 0 : awardedTeu > 0;
    if (!isWon) {
      // bids not yet settled: no verdict before the bids say won/lost or the result event arrived
      if (!this.result && this.bids.some((b) => b.status === 'active')) return null;
      return { won: false, awardedTeu: 0, averaged: false };
    }
    if (l.format === 'sealed' && typeof l.clearingPriceCents === 'number') {
      return { won: true, awardedTeu, unitPriceCents: l.clearingPriceCents, averaged: false };
    }
    const prices = new Set(won.map((b) => b.unitPriceCents));
    const teu = won.reduce((s, b) => s + (typeof b.awardedTeu === 'number' ? b.awardedTeu : b.teu), 0);
    const unit = teu ? Math.round(won.reduce((s, b) => s + b.unitPriceCents * (typeof b.awardedTeu === 'number' ? b.awardedTeu : b.teu), 0) / teu) : undefined;
    return { won: true, awardedTeu, unitPriceCents: unit ?? l.clearingPriceCents, averaged: prices.size > 1 };
  });

  /** every (not cancelled) booking of the viewer from this auction is settled */
  bookingsSettled = $derived.by(() => {
    const live = this.bookings.filter((b) => b.status !== 'cancelled');
    return live.length > 0 && live.every((b) => b.status === 'settled');
  });

  /** was the close moved later within the last few seconds (reads the given clock value) */
  extendedRecently(now: number) {
    return this.extendedAt > 0 && now - this.extendedAt < EXTENDED_SHOW_MS;
  }

  /** Join the listing room, read, and follow live events. Returns the cleanup. */
  connect(): () => void {
    this.#disposed = false;
    const w = live.watch([{ listingId: this.id }]);
    void w.ready.then(() => {
      if (!this.#disposed) void this.load();
    });
    const offs = [
      live.on('listing:update', (u: ListingUpdateEvent) => this.applyUpdate(u)),
      live.on('listing:closed', (e: ListingClosedEvent) => this.applyClosed(e)),
      live.on('auction:result', (e: AuctionResultEvent) => this.applyResult(e)),
      live.onSync(() => {
        if (this.#fetchStartedAt < live.lastSyncAt) void this.load(this.status === 'ready');
      }),
    ];
    return () => {
      this.#disposed = true;
      this.#token++;
      if (this.#bidsTimer) clearTimeout(this.#bidsTimer);
      if (this.#bookingsTimer) clearTimeout(this.#bookingsTimer);
      if (this.#listingTimer) clearTimeout(this.#listingTimer);
      w.release();
      for (const off of offs) off();
    };
  }

  async load(silent = false) {
    const token = ++this.#token;
    if (!silent) {
      this.status = 'loading';
      this.error = null;
    }
    this.#fetchStartedAt = Date.now();
    try {
      const l = await api.get<Listing>(`/listings/${encodeURIComponent(this.id)}`);
      if (token !== this.#token) return;
      // a read answered before a bid whose live ladder came first would take the room back: keep the newer ladder
      if (!this.#olderThanShown(l.bidSeq, l.status)) this.#setListing(l);
      this.status = 'ready';
      this.error = null;
      void this.loadBids();
      if (l.status === 'closed' && this.isForwarder) void this.loadBookings();
      if (!this.departure || this.departure.id !== l.departureId) void this.#loadDeparture(l.departureId);
    } catch (e) {
      if (token !== this.#token) return;
      if (e instanceof ApiError && e.status === 401) return;
      if (silent && this.listing) return;
      this.status = e instanceof ApiError && e.status === 404 ? 'notfound' : 'error';
      this.error = errorMessage(e);
    }
  }

  /** (re)read the bids visible to the viewer; concurrent calls collapse into one extra read */
  loadBids(): Promise<void> {
    if (this.#bidsInFlight) {
      this.#bidsAgain = true;
      return this.#bidsInFlight;
    }
    const run = async () => {
      do {
        this.#bidsAgain = false;
        try {
          const list = await api.get<Bid[]>(`/listings/${encodeURIComponent(this.id)}/bids`);
          if (this.#disposed) return;
          this.bids = Array.isArray(list) ? sortBids(list) : [];
          this.bidsLoaded = true;
          this.#learnLabels();
        } catch {
          // not allowed to see bids (another operator, scheduler) or a passing failure: keep what we have
          this.bidsLoaded = true;
        }
      } while (this.#bidsAgain && !this.#disposed);
    };
    this.#bidsInFlight = run().finally(() => (this.#bidsInFlight = null));
    return this.#bidsInFlight;
  }

  /**
   * Read the viewer's bookings from this (closed) auction. Settlement follows the booking shortly and
   * no live event announces it, so while a won booking is not settled yet, look again a few times.
   */
  async loadBookings() {
    if (!this.isForwarder) return;
    if (this.#bookingsTimer) {
      clearTimeout(this.#bookingsTimer);
      this.#bookingsTimer = null;
    }
    try {
      const list = await api.get<Booking[]>('/bookings');
      if (this.#disposed) return;
      const ids = new Set(this.result?.bookingIds ?? []);
      this.bookings = Array.isArray(list) ? list.filter((b) => b.listingId === this.id || ids.has(b.id)) : [];
      this.bookingsLoaded = true;
    } catch {
      // the result text then stays with "settles shortly"
    }
    if (this.#disposed || this.#bookingsTimer || this.listing?.status !== 'closed') return;
    if (this.bookingsSettled || (this.outcome && !this.outcome.won) || this.#bookingsTries >= 12) return;
    this.#bookingsTries++;
    this.#bookingsTimer = setTimeout(() => {
      this.#bookingsTimer = null;
      if (!this.#disposed) void this.loadBookings();
    }, 5000);
  }

  async #loadDeparture(departureId: string) {
    try {
      const d = await api.get<Departure>(`/departures/${encodeURIComponent(departureId)}`);
      if (!this.#disposed) this.departure = d;
    } catch {
      /* header shows less */
    }
  }

  /** Whether a ladder of book version `bidSeq` (an open auction's) is older than the one the room shows. */
  #olderThanShown(bidSeq: number | undefined, status: Listing['status'] | undefined) {
    return olderLadder(bidSeq, this.#bidSeq, status, this.listing?.status);
  }

  #setListing(l: Listing) {
    const prev = this.listing;
    if (typeof l.bidSeq === 'number') this.#bidSeq = Math.max(this.#bidSeq, l.bidSeq);
    if (prev?.closesAt && l.closesAt && new Date(l.closesAt).getTime() > new Date(prev.closesAt).getTime() && l.status === 'open') {
      this.extendedAt = Date.now();
    }
    // keep a clearing price / award learned from listing:closed if the read lacks it
    if (prev && l.clearingPriceCents === undefined && prev.clearingPriceCents !== undefined) l.clearingPriceCents = prev.clearingPriceCents;
    if (prev && l.awardedTeu === undefined && prev.awardedTeu !== undefined) l.awardedTeu = prev.awardedTeu;
    this.listing = l;
    this.#learnLabels();
  }

  #setClosesAt(iso: string | undefined) {
    const l = this.listing;
    if (!l || !iso || iso === l.closesAt) return;
    if (l.closesAt && new Date(iso).getTime() > new Date(l.closesAt).getTime()) this.extendedAt = Date.now();
    l.closesAt = iso;
  }

  /** a 'You' row with a seq tells which 'Bidder N' label is ours in later updates */
  #learnLabels() {
    if (!this.isForwarder) return;
    const rows = this.listing?.leadingBids ?? [];
    const seqs = this.mySeqs;
    const add: string[] = [];
    for (const r of rows) {
      if (r.label && r.label !== 'You' && typeof r.seq === 'number' && seqs.has(r.seq) && !this.#myLabels.includes(r.label)) add.push(r.label);
    }
    if (add.length) this.#myLabels = [...this.#myLabels, ...add];
  }

  applyUpdate(u: ListingUpdateEvent) {
    const l = this.listing;
    if (!l || u?.listingId !== this.id) return;
    // a listing never reopens: an `open` state after its close or cancellation is a late one (sent before it), dropped
    if (l.status !== 'open' && u.status === 'open') return;
    // a ladder older than the one shown (another server's event overtaken, or a read that came first) changes nothing
    if (this.#olderThanShown(u.bidSeq, u.status ?? 'open')) return;
    if (typeof u.bidSeq === 'number') this.#bidSeq = Math.max(this.#bidSeq, u.bidSeq);
    const wasOpen = l.status === 'open';
    if (u.status) l.status = u.status;
    if (typeof u.remainingTeu === 'number') l.remainingTeu = u.remainingTeu;
    if (typeof u.currentPriceCents === 'number') l.currentPriceCents = u.currentPriceCents;
    if (typeof u.minNextBidCents === 'number') l.minNextBidCents = u.minNextBidCents;
    if (Array.isArray(u.leadingBids)) {
      l.leadingBids = this.#withMyRowsBelow(u.leadingBids, typeof u.leadingBidCount === 'number' ? u.leadingBidCount : u.leadingBids.length, u.currentPriceCents);
      l.leadingBidCount = u.leadingBidCount;
      // a ladder is the whole state: no price when nothing is allocated (a bid withdrawn by its group can empty
      // it), and the unallocated TEU follow from it rather than from the last read
      if (typeof u.currentPriceCents !== 'number') l.currentPriceCents = undefined;
      l.unallocatedTeu = typeof u.unallocatedTeu === 'number' ? u.unallocatedTeu : undefined;
    }
    this.#setClosesAt(u.closesAt);
    this.#learnLabels();
    if (wasOpen && l.status !== 'open') void this.load(true);
    // my bids may have changed (outbid, auto-bid raised): re-read them shortly
    if (this.isForwarder || this.isOwner) this.#scheduleBids();
  }

  applyClosed(e: ListingClosedEvent) {
    const l = this.listing;
    if (!l || e?.listingId !== this.id) return;
    l.status = 'closed';
    if (typeof e.clearingPriceCents === 'number') l.clearingPriceCents = e.clearingPriceCents;
    if (typeof e.awardedTeu === 'number') l.awardedTeu = e.awardedTeu;
    void this.load(true);
    this.#scheduleBids(0);
  }

  applyResult(e: AuctionResultEvent) {
    if (e?.listingId !== this.id) return;
    this.result = e;
    if (this.listing && this.listing.status === 'open') this.listing.status = 'closed';
    void this.load(true);
    this.#scheduleBids(0);
  }

  /**
   * A broadcast ladder shows only the top of the allocation (the server's LADDER_ROWS). A forwarder that may win further
   * down keeps its rows of the last read of the listing (which shows a viewer all of its own) and re-reads the listing
   * — at most once a second, and only while an active bid of its own that wins below the top (shown so by the last read,
   * or priced above the lowest winning price) is not among the rows shown, or before its bids are known.
   */
  #withMyRowsBelow(rows: LeadingBid[], count: number, currentPriceCents: number | undefined): LeadingBid[] {
    if (!this.isForwarder || count <= rows.length) return rows;
    const shown = new Set(rows.map((r) => r.seq).filter((x): x is number => typeof x === 'number'));
    // my rows of the last read: only those of bids still active (a raised bid's earlier step is replaced), or any
    // 'You' row while my bids are not known yet
    const active = new Set(this.bids.filter((b) => b.status === 'active').map((b) => b.seq));
    const mine = (this.listing?.leadingBids ?? []).filter(
      (r) => typeof r.seq === 'number' && !shown.has(r.seq) && (this.bidsLoaded ? active.has(r.seq) : r.label === 'You'),
    );
    // a bid priced above the lowest winning price wins something; one at it is re-read only while the last read showed it
    const mayWinBelow = this.bids.some(
      (b) => b.status === 'active' && typeof b.seq === 'number' && !shown.has(b.seq) && b.unitPriceCents > (currentPriceCents ?? 0),
    );
    if ((mayWinBelow || !this.bidsLoaded || mine.length > 0) && !this.#listingTimer) {
      this.#listingTimer = setTimeout(() => {
        this.#listingTimer = null;
        if (!this.#disposed) void this.load(true);
      }, 1000);
    }
    return [...rows, ...mine];
  }

  #scheduleBids(ms = 300) {
    if (this.#bidsTimer) clearTimeout(this.#bidsTimer);
    this.#bidsTimer = setTimeout(() => {
      this.#bidsTimer = null;
      if (!this.#disposed) void this.loadBids();
    }, ms);
  }

  /**
   * Places a bid on the live connection (`bid:place`, the same answer as the REST call), falling back to
   * POST /listings/:id/bids with the same Idempotency-Key when the socket is down or silent; throws ApiError.
   * Applies what the answer tells at once, then re-reads.
   */
  async placeBid(body: NewBidBody, idempotencyKey: string): Promise<BidResult> {
    const viaSocket = await live.command<BidResult | { error?: { code?: string; message?: string } }>('bid:place', { listingId: this.id, ...body, idempotencyKey });
    this.lastPath = viaSocket && viaSocket.status < 500 ? 'socket' : 'rest';
    let r: BidResult;
    if (viaSocket && viaSocket.status < 500) {
      if (viaSocket.status >= 400) {
        const e = (viaSocket.body as { error?: { code?: string; message?: string } }).error ?? {};
        throw new ApiError(viaSocket.status, e.code ?? 'error', e.message ?? 'refused', e);
      }
      r = viaSocket.body as BidResult;
    } else r = await api.post<BidResult>(`/listings/${encodeURIComponent(this.id)}/bids`, body, { idempotencyKey });
    if (this.listing) {
      this.#setClosesAt(r?.closesAt);
      if (typeof r?.minNextBidCents === 'number') this.listing.minNextBidCents = r.minNextBidCents;
    }
    await this.loadBids();
    void this.load(true);
    return r;
  }
}

function sortBids(list: Bid[]) {
  return [...list].sort((a, b) => {
    if (typeof a.seq === 'number' && typeof b.seq === 'number') return b.seq - a.seq;
    return (b.placedAt ?? '').localeCompare(a.placedAt ?? '');
  });
}
