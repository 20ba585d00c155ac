/**
 * The open auctions page (`#/auctions`): `GET /api/auctions` (ascending and sealed listings still taking bids, soonest
 * close first) filtered by origin, destination and mode, re-read every {@link AUCTIONS_REFRESH_MS} while shown (prices
 * move with bids) and after the live connection comes back. Sealed auctions carry no price and no count of bids.
 */
import { api } from './api';
import { LoadState } from './load-state.svelte';
import { live } from './live.svelte';
import { refdata } from './refdata.svelte';
import type { Mode, OpenAuction } from './types';

export const AUCTIONS_REFRESH_MS = 20_000;

export interface AuctionFilters {
  from: string;
  to: string;
  mode: '' | Mode;
}

/** What the price column says of an auction: the live price (ascending), else the reserve; and the minimum next bid. */
export function auctionPrice(a: OpenAuction): { label: string; cents: number | null; minNextCents: number | null } {
  if (a.format === 'ascending' && typeof a.currentPriceCents === 'number') {
    return { label: 'lowest winning', cents: a.currentPriceCents, minNextCents: a.minNextBidCents ?? null };
  }
  return { label: 'reserve', cents: a.reservePriceCents ?? null, minNextCents: a.format === 'ascending' ? (a.minNextBidCents ?? null) : null };
}

export class AuctionsList extends LoadState {
  auctions = $state<OpenAuction[]>([]);
  count = $derived(this.auctions.length);

  #filters: AuctionFilters | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  get filters() {
    return this.#filters;
  }

  load(filters: AuctionFilters, { silent = false } = {}) {
    this.#filters = filters;
    return this.run(async (current) => {
      await refdata.ensure();
      if (!current()) return;
      this.started();
      const list = await api.get<OpenAuction[]>('/auctions', { query: { from: filters.from, to: filters.to, mode: filters.mode } });
      if (current()) this.auctions = Array.isArray(list) ? list : [];
    }, { silent });
  }

  /** Starts the periodic re-read (prices move with bids, auctions close); `dispose` stops it. */
  start() {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#filters && this.status === 'ready' && !this.refreshing) void this.load(this.#filters, { silent: true });
    }, AUCTIONS_REFRESH_MS);
  }

  retry() {
    if (this.#filters) void this.load(this.#filters);
  }

  /** the live connection came back: re-read what may have changed meanwhile */
  onSync() {
    if (!this.#filters) return;
    if (this.status === 'error') return void this.load(this.#filters);
    if (this.status === 'ready' && this.readBefore(live.lastSyncAt)) void this.load(this.#filters, { silent: true });
  }

  dispose() {
    this.abandon();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
