/**
 * A forwarder's itineraries (`GET /api/itineraries`) on the bookings page: every itinerary with its legs,
 * status and total; confirm or release a held one, cancel a booked one (every leg at once, with each leg's
 * cancellation fee shown before, as the server's `legs[].cancellation` preview gives it).
 */
import { api, ApiError, errorMessage, newIdempotencyKey } from './api';
import type { Itinerary } from './routes-data';
import { LoadState } from './load-state.svelte';

export class ItineraryList extends LoadState {
  items = $state<Itinerary[]>([]);
  /** the id of the itinerary an action runs on */
  busy = $state<string | null>(null);
  actionError = $state<{ id: string; text: string } | null>(null);
  /** bookingId → the itinerary it belongs to, for the bookings table */
  byBooking = $derived(new Map(this.items.flatMap((it) => it.legs.filter((l) => l.bookingId).map((l) => [l.bookingId!, it] as const))));
  #keys = new Map<string, string>();

  load(silent = false) {
    return this.run(async (current) => {
      this.started();
      const list = await api.get<Itinerary[]>('/itineraries');
      if (current()) this.items = list;
    }, { silent });
  }

  /** Re-reads one itinerary (after an action), or the whole list when it is gone. */
  async #refresh(id: string, fresh?: Itinerary | null) {
    try {
      const it = fresh && Array.isArray(fresh.legs) ? fresh : await api.get<Itinerary>(`/itineraries/${encodeURIComponent(id)}`);
      const i = this.items.findIndex((x) => x.id === id);
      if (i >= 0) this.items[i] = it;
      else this.items = [it, ...this.items];
    } catch {
      await this.load(true);
    }
  }

  async #act(id: string, run: (key: string) => Promise<Itinerary | undefined>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = id;
    this.actionError = null;
    const key = this.#keys.get(id) ?? newIdempotencyKey();
    this.#keys.set(id, key);
    try {
      const answer = await run(key);
      this.#keys.delete(id);
      await this.#refresh(id, answer);
      return true;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 0)) this.#keys.delete(id);
      this.actionError = { id, text: errorMessage(e) };
      await this.#refresh(id);
      return false;
    } finally {
      this.busy = null;
    }
  }

  confirm(id: string, reference?: string) {
    return this.#act(id, (key) => api.post<Itinerary>(`/itineraries/${encodeURIComponent(id)}/confirm`, reference ? { reference } : {}, { idempotencyKey: key }));
  }

  /**
   * Releases a held itinerary (204) or cancels a booked one (200, fees per leg) — only in the state the user saw
   * (`expect`): a stale Release never cancels a confirmed itinerary (409 itinerary_state_changed).
   */
  cancel(id: string, expect: 'held' | 'confirmed') {
    return this.#act(id, (key) => api.del<Itinerary | undefined>(`/itineraries/${encodeURIComponent(id)}?expect=${expect}`, { idempotencyKey: key }));
  }
}
