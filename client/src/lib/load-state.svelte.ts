/**
 * The state of a page's read of the API, shared by every list the client keeps: `status` / `error` of the first
 * read, `staleError` and `refreshing` of a silent re-read (the last good answer stays shown), and a token so that an
 * answer to a superseded read is dropped. A 401 is left to the session handler (it signs the page out).
 *
 * ```ts
 * const state = new LoadState();
 * await state.run(async (current) => {
 *   state.started();
 *   const list = await api.get('/things');
 *   if (!current()) return; // a newer read (or dispose) came first
 *   things = list;
 * }, { silent: true });
 * ```
 */
import { ApiError, errorMessage } from './api';

export type LoadStatus = 'idle' | 'loading' | 'ready' | 'error';

export class LoadState {
  status = $state<LoadStatus>('idle');
  /** why the last read that was not silent failed */
  error = $state<string | null>(null);
  /** why a background re-read failed while the last good answer is still shown */
  staleError = $state<string | null>(null);
  refreshing = $state(false);
  /** when the request of the latest read left (`Date.now()`): a live re-sync after it means it may be stale */
  fetchStartedAt = 0;
  #token = 0;

  /**
   * Runs one read. `read` fetches and applies its answer, checking `current()` after each await; the state becomes
   * `ready` when it returns and the read is still the latest. A silent read that fails keeps the data shown and sets
   * `staleError`; any other failure sets `status = 'error'`.
   */
  async run(read: (current: () => boolean) => Promise<void>, { silent = false } = {}): Promise<void> {
    const token = ++this.#token;
    const current = () => token === this.#token;
    if (silent) this.refreshing = true;
    else {
      this.status = 'loading';
      this.error = null;
    }
    try {
      await read(current);
      if (!current()) return;
      this.status = 'ready';
      this.error = null;
      this.staleError = null;
    } catch (e) {
      if (!current()) return;
      if (e instanceof ApiError && e.status === 401) return; // the session handler takes over
      if (silent && this.status === 'ready') this.staleError = errorMessage(e);
      else {
        this.status = 'error';
        this.error = errorMessage(e);
      }
    } finally {
      if (current()) this.refreshing = false;
    }
  }

  /** Marks the moment the request leaves (call it right before `api.get`). */
  started() {
    this.fetchStartedAt = Date.now();
  }

  /** Whether the shown answer was requested before `syncAt` (the live connection's last re-sync). */
  readBefore(syncAt: number) {
    return this.fetchStartedAt < syncAt;
  }

  /** Drops the answer of any read in flight (the page went away). */
  abandon() {
    this.#token++;
    this.refreshing = false;
  }
}
