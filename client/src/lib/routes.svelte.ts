/**
 * "Find a route": the search and its answer kept live, and the booking of one itinerary.
 *
 * Search: `GET /api/routes` with the request; the answer's itineraries are shown with what live events
 * changed since (`itineraryView`): the page joins the rooms of every leg's departure and listing, so a
 * leg whose free TEU (or tonnes) drops below the request greys its itinerary out ("sold out on leg N"),
 * a falling listing's price step changes the total in place, and "Search again" is offered. A new search
 * joins its rooms before it leaves the old ones (rooms both need stay joined: no unsubscribe / subscribe
 * churn). After a reconnect the search is run again silently (events while away are gone).
 *
 * Booking: Book → a confirm dialog with the legs and the total → `POST /api/itineraries` holds every
 * leg at once (all or nothing) → the held itinerary with one countdown to `expiresAt` → Confirm
 * (`POST /api/itineraries/:id/confirm`) books every leg; Release (`DELETE`) frees them.
 */
import { api, ApiError, errorMessage, newIdempotencyKey } from './api';
import { live } from './live.svelte';
import type { AvailabilityEvent, ListingClosedEvent, ListingUpdateEvent, Room } from './types';
import {
  applyDepartureFrame, applyListingClosed, applyListingUpdate, emptyLive, itineraryKey, itineraryView, mineOf, requestToQuery, sortViews,
  type Itinerary, type ItineraryView, type LegFormat, type LiveLegs, type Mine, type RouteRequest, type RouteSort, type RoutesAnswer,
} from './routes-data';

export * from './routes-data';

/** Rooms one search joins at most (the server allows 200 per connection); legs of the first itineraries first. */
const MAX_ROOMS = 120;

export class RouteSearch {
  request = $state<RouteRequest | null>(null);
  answer = $state.raw<RoutesAnswer | null>(null);
  live = $state<LiveLegs>(emptyLive());
  status = $state<'idle' | 'loading' | 'ready' | 'error'>('idle');
  error = $state<string | null>(null);
  /** a search run again in the background (reconnect) while the last answer stays on screen */
  refreshing = $state(false);
  sort = $state<RouteSort>('price');
  /** live events applied since the answer came (tests and the page can tell) */
  liveChanges = $state(0);
  /** the rooms could not all be joined: the results are not live */
  notLive = $state(false);

  /** the itinerary the viewer holds now, and what it took (set by the page from its RouteBooking while the hold lasts) */
  mine = $state.raw<{ key: string; took: Mine } | null>(null);

  views: ItineraryView[] = $derived.by(() => {
    const a = this.answer;
    const r = this.request;
    if (!a || !r) return [];
    const m = this.mine;
    return a.itineraries.map((it) => itineraryView(it, this.live, r, m && itineraryKey(it) === m.key ? m.took : null));
  });
  sorted: ItineraryView[] = $derived(sortViews(this.views, this.sort));
  /** something changed since the search: offer "Search again" */
  changed = $derived(this.views.some((v) => v.soldOut !== null || v.deltaCents !== 0));
  soldOutCount = $derived(this.views.filter((v) => v.soldOut !== null).length);

  #departures = $derived(new Set((this.answer?.itineraries ?? []).flatMap((it) => it.legs.map((l) => l.departureId))));
  #formats = $derived(new Map<string, LegFormat>((this.answer?.itineraries ?? []).flatMap((it) => it.legs.map((l) => [l.listingId, l.format] as const))));
  #token = 0;
  #rooms: { release: () => void } | null = null;
  #fetchStartedAt = 0;

  /** Runs a search; `silent` keeps the current answer on screen until the new one is there. */
  async search(req: RouteRequest, { silent = false } = {}) {
    const token = ++this.#token;
    this.request = req;
    if (silent && this.status === 'ready') this.refreshing = true;
    else {
      this.status = 'loading';
      this.error = null;
    }
    try {
      this.#fetchStartedAt = Date.now();
      const answer = await api.get<RoutesAnswer>('/routes', { query: requestToQuery(req) });
      if (token !== this.#token) return;
      // the new rooms first, then leave the old: rooms in both stay joined
      const watch = live.watch(roomsOf(answer));
      this.#rooms?.release();
      this.#rooms = watch;
      this.answer = answer;
      this.live = emptyLive();
      this.liveChanges = 0;
      this.status = 'ready';
      this.error = null;
      this.notLive = false;
      void watch.ready.then(() => {
        if (token === this.#token && live.connected === false) this.notLive = true;
      });
    } catch (e) {
      if (token !== this.#token) return;
      if (e instanceof ApiError && e.status === 401) return;
      if (silent && this.status === 'ready') return;
      this.status = 'error';
      this.error = errorMessage(e);
    } finally {
      if (token === this.#token) this.refreshing = false;
    }
  }

  again() {
    if (this.request) void this.search(this.request);
  }

  /** Back to no search (the page without a search in its URL). */
  reset() {
    this.dispose();
    this.request = null;
    this.answer = null;
    this.live = emptyLive();
    this.status = 'idle';
    this.error = null;
    this.refreshing = false;
  }

  /**
   * In a page's `$effect`: applies the live events to the answer, runs the search again after a reconnect;
   * the returned teardown stops listening and leaves the rooms.
   */
  keepLive(): () => void {
    const offAvail = live.on('departure:availability', (e: AvailabilityEvent) => {
      if (applyDepartureFrame(this.live, this.#departures, e) === 'applied') this.liveChanges++;
    });
    const offUpdate = live.on('listing:update', (e: ListingUpdateEvent) => {
      if (applyListingUpdate(this.live, this.#formats, e)) this.liveChanges++;
    });
    const offClosed = live.on('listing:closed', (e: ListingClosedEvent) => {
      if (applyListingClosed(this.live, this.#formats, e)) this.liveChanges++;
    });
    const offSync = live.onSync(() => {
      if (this.request && this.status === 'ready' && this.#fetchStartedAt < live.lastSyncAt) void this.search(this.request, { silent: true });
    });
    return () => {
      offAvail();
      offUpdate();
      offClosed();
      offSync();
      this.dispose();
    };
  }

  setSort(s: RouteSort) {
    this.sort = s;
  }

  dispose() {
    this.#token++;
    this.#rooms?.release();
    this.#rooms = null;
  }
}

/** The departure and listing rooms of the answer's legs, by the answer's order, at most MAX_ROOMS. */
export function roomsOf(answer: RoutesAnswer): Room[] {
  const seen = new Set<string>();
  const out: Room[] = [];
  for (const it of answer.itineraries) {
    for (const l of it.legs) {
      for (const room of [{ departureId: l.departureId }, { listingId: l.listingId }] as Room[]) {
        const k = JSON.stringify(room);
        if (seen.has(k) || out.length >= MAX_ROOMS) continue;
        seen.add(k);
        out.push(room);
      }
    }
  }
  return out;
}

// ---- booking one itinerary ----

/** `POST /api/itineraries` → 201 (`{ id, status: "held", holds, expiresAt, totalCents, … }`) */
export type HeldItinerary = Pick<Itinerary, 'id' | 'status' | 'holds' | 'expiresAt' | 'totalCents'> & Partial<Itinerary>;
/** `POST /api/itineraries/:id/confirm` → 201 (`{ id, status: "confirmed", bookings, … }`) */
export type ConfirmedItinerary = Pick<Itinerary, 'id' | 'status' | 'bookings'> & Partial<Itinerary>;

export class RouteBooking {
  /** the itinerary in the confirm dialog */
  pending = $state.raw<ItineraryView | null>(null);
  /** the held itinerary, with the view it was booked from */
  held = $state.raw<{ answer: HeldItinerary; view: ItineraryView; teu: number; tonnes: number } | null>(null);
  confirmed = $state.raw<{ answer: ConfirmedItinerary; view: ItineraryView } | null>(null);
  busy = $state(false);
  /** error of the dialog (hold) */
  holdError = $state<string | null>(null);
  /** the leg the server refused (1-based) */
  refusedLeg = $state<number | null>(null);
  /** error of the held panel (confirm, release) */
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  /** what the held itinerary took from the search: the search counts it as free to its taker while the hold lasts */
  took = $state.raw<Mine | null>(null);
  #holdKey: { key: string; body: string } | null = null;
  #confirmKey = '';

  ask(view: ItineraryView) {
    this.pending = view;
    this.holdError = null;
    this.refusedLeg = null;
  }

  cancelAsk() {
    if (!this.busy) this.pending = null;
  }

  /** Holds every leg of the pending itinerary (one request, all or nothing). */
  async hold(req: { teu: number; tonnes: number }): Promise<boolean> {
    const view = this.pending;
    if (!view || this.busy) return false;
    this.busy = true;
    this.holdError = null;
    this.refusedLeg = null;
    const body = { legs: view.legs.map((l) => ({ listingId: l.listingId })), teu: req.teu, tonnes: req.tonnes };
    const bodyStr = JSON.stringify(body);
    // the same body retried after a network failure keeps its key
    if (!this.#holdKey || this.#holdKey.body !== bodyStr) this.#holdKey = { key: newIdempotencyKey(), body: bodyStr };
    try {
      const answer = await api.post<HeldItinerary>('/itineraries', body, { idempotencyKey: this.#holdKey.key });
      this.#holdKey = null;
      this.#confirmKey = newIdempotencyKey();
      this.held = { answer, view, ...req };
      this.took = mineOf(view.legs, req);
      this.confirmed = null;
      this.notice = null;
      this.error = null;
      this.pending = null;
      return true;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 0)) this.#holdKey = null;
      const legIndex = e instanceof ApiError && typeof e.details.legIndex === 'number' ? e.details.legIndex : null;
      if (legIndex !== null) {
        const leg = view.legs[legIndex];
        this.refusedLeg = legIndex + 1;
        this.holdError = `Leg ${legIndex + 1}${leg ? ` (${leg.origin} → ${leg.destination})` : ''} was refused: ${errorMessage(e)} Nothing was held. Search again for current capacity.`;
      } else this.holdError = errorMessage(e);
      return false;
    } finally {
      this.busy = false;
    }
  }

  /** Books every held leg. */
  async confirm(reference: string): Promise<boolean> {
    const h = this.held;
    if (!h || this.busy) return false;
    this.busy = true;
    this.error = null;
    try {
      const body = reference.trim() ? { reference: reference.trim() } : {};
      const answer = await api.post<ConfirmedItinerary>(`/itineraries/${encodeURIComponent(h.answer.id)}/confirm`, body, { idempotencyKey: this.#confirmKey });
      this.confirmed = { answer, view: h.view };
      this.held = null;
      this.took = null;
      return true;
    } catch (e) {
      this.error = e instanceof ApiError && e.code === 'hold_expired' ? 'The holds of this itinerary expired; the capacity was released. Search again.' : errorMessage(e);
      return false;
    } finally {
      this.busy = false;
    }
  }

  /** Releases every held leg. */
  async release(): Promise<boolean> {
    const h = this.held;
    if (!h || this.busy) return false;
    this.busy = true;
    this.error = null;
    try {
      await api.del(`/itineraries/${encodeURIComponent(h.answer.id)}?expect=held`);
      this.held = null;
      this.took = null;
      this.notice = 'The itinerary was released; its capacity is back on the market.';
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        this.held = null;
        this.took = null;
        this.notice = 'The itinerary had already ended.';
        return true;
      }
      this.error = errorMessage(e);
      return false;
    } finally {
      this.busy = false;
    }
  }

  dismiss() {
    this.confirmed = null;
    this.notice = null;
    this.error = null;
    if (this.held && Date.parse(this.held.answer.expiresAt) <= Date.now()) {
      this.held = null;
      this.took = null;
    }
  }
}
