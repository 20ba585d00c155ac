/**
 * Water levels and low-water derating (issue 14): the latest level per gauge, the barge departures derated now and —
 * for a forwarder — its bookings moved off them with the rail alternatives found then (`GET /api/water-levels`).
 * Schedulers report a reading (`POST /api/water-levels`). Fresh: re-read on `departure:derated` / `booking:moved`
 * (to the operator's and forwarders' organisations, and the network dashboard), after a reconnect, and after a report.
 */
import { api, ApiError, errorMessage } from './api';
import { live } from './live.svelte';
import type { WaterLevelRecorded, WaterLevels } from './types';

export class WaterState {
  data = $state<WaterLevels | null>(null);
  status = $state<'loading' | 'ready' | 'error'>('loading');
  error = $state<string | null>(null);
  posting = $state(false);
  postError = $state<string | null>(null);
  last = $state<WaterLevelRecorded | null>(null);
  #token = 0;
  #fetchStartedAt = 0;

  async load(silent = false) {
    const token = ++this.#token;
    if (!silent) this.status = 'loading';
    try {
      this.#fetchStartedAt = Date.now();
      const d = await api.get<WaterLevels>('/water-levels');
      if (token !== this.#token) return;
      this.data = d;
      this.status = 'ready';
      this.error = null;
    } catch (e) {
      if (token !== this.#token) return;
      if (e instanceof ApiError && e.status === 401) return;
      if (silent && this.status === 'ready') return;
      this.status = 'error';
      this.error = errorMessage(e);
    }
  }

  keepLive(): () => void {
    const offs = ['departure:derated', 'booking:moved'].map((ev) => live.on(ev, () => void this.load(true)));
    const offSync = live.onSync(() => {
      if (this.#fetchStartedAt < live.lastSyncAt) void this.load(true);
    });
    return () => {
      for (const off of offs) off();
      offSync();
      this.#token++;
    };
  }

  /** A scheduler reports a reading; the answer names the departures it derated. */
  async report(gauge: string, levelCm: number, measuredAt: string): Promise<boolean> {
    if (this.posting) return false;
    this.posting = true;
    this.postError = null;
    try {
      this.last = await api.post<WaterLevelRecorded>('/water-levels', { gauge, levelCm, measuredAt });
      await this.load(true);
      return true;
    } catch (e) {
      this.postError = errorMessage(e);
      return false;
    } finally {
      this.posting = false;
    }
  }
}
