/**
 * The open auctions page (`#/auctions`): `GET /api/auctions` (ascending and sealed listings still taking bids, soonest
 * close first) filtered by origin, destination and mode, re-read every {@link AUCTIONS_REFRESH_MS} while shown (prices
 * move with bids) and after the live connection comes back. Sealed auctions carry no price and no count of bids.
 */
import { api, ApiError, errorMessage } from './api';
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

export class AuctionsList {
  auctions = $state<OpenAuction[]>([]);
  status = $state<'idle' | 'loading' | 'ready' | 'error'>('idle');
  error = $state<string | null>(null);
  /** error of a background refresh while data is still shown */
  staleError = $state<string | null>(null);
  refreshing = $state(false);

  count = $derived(this.auctions.length);

  #filters: AuctionFilters | null = null;
  #token = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  #fetchStartedAt = 0;

  get filters() {
    return this.#filters;
  }

  async load(filters: AuctionFilters, { silent = false } = {}) {
    const token = ++this.#token;
    this.#filters = filters;
    if (silent) this.refreshing = true;
    else {
      this.status = 'loading';
      this.error = null;
    }
    try {
      await refdata.ensure();
      if (token !== this.#token) return;
      this.#fetchStartedAt = Date.now();
      const list = await api.get<OpenAuction[]>('/auctions', { query: { from: filters.from, to: filters.to, mode: filters.mode } });
      if (token !== this.#token) return;
      this.auctions = Array.isArray(list) ? list : [];
      this.status = 'ready';
      this.error = null;
      this.staleError = null;
    } catch (e) {
      if (token !== this.#token) return;
      if (e instanceof ApiError && e.status === 401) return; // the session handler takes over
      if (silent && this.status === 'ready') this.staleError = errorMessage(e);
      else {
        this.status = 'error';
        this.error = errorMessage(e);
      }
    } finally {
      if (token === this.#token) this.refreshing = false;
    }
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
    if (this.status === 'ready' && this.#fetchStartedAt < live.lastSyncAt) void this.load(this.#filters, { silent: true });
  }

  dispose() {
    this.#token++;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
