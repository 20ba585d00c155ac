import { errorMessage } from './api';

/**
 * One value read from the API again and again (on live events, after a change), where only the latest read counts: a
 * slow answer that arrives after a newer one is dropped, and a failure shows only if it is the latest word.
 */
export class LatestRead<T> {
  value = $state<T | null>(null);
  error = $state<string | null>(null);
  #token = 0;

  constructor(private readonly read: () => Promise<T>) {}

  async load(): Promise<void> {
    const t = ++this.#token;
    try {
      const v = await this.read();
      if (t !== this.#token) return;
      this.value = v;
      this.error = null;
    } catch (e) {
      if (t === this.#token) this.error = errorMessage(e);
    }
  }
}
