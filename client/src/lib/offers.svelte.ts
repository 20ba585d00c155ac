/**
 * Offers of freed capacity to this forwarder (issue 14): the open offers, kept live (`offer:new`, `offer:expired`,
 * re-read after a reconnect), accepted (a hold at the offered price) or declined. One instance shared by the offer
 * banner and the Watches page; `start()` is called from an effect and returns the function that stops listening.
 */
import { api, errorMessage } from './api';
import { live } from './live.svelte';
import type { Hold } from './types';
import type { Offer } from '../../../server/domain/schemas/watches.ts';

export type { Offer };

class Offers {
  list = $state<Offer[]>([]);
  error = $state<string | null>(null);
  busy = $state<string | null>(null);
  /** the last outcome, for the banner's polite live region */
  notice = $state<string | null>(null);
  #users = 0;
  #stop: (() => void) | null = null;

  async load() {
    try {
      this.list = await api.get<Offer[]>('/offers');
      this.error = null;
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  start(): () => void {
    if (this.#users++ === 0) {
      void this.load();
      const offNew = live.on('offer:new', (o: Offer) => {
        if (o?.id && !this.list.some((x) => x.id === o.id)) this.list = [...this.list, o];
      });
      const offExpired = live.on('offer:expired', (e: { offerId: string }) => {
        const gone = this.list.find((x) => x.id === e?.offerId);
        if (gone) {
          this.list = this.list.filter((x) => x.id !== e.offerId);
          this.notice = `The offer of ${gone.teu} TEU ran out and went to the next in line.`;
        }
      });
      const offSync = live.onSync(() => void this.load());
      this.#stop = () => {
        offNew();
        offExpired();
        offSync();
      };
    }
    return () => {
      if (--this.#users === 0) {
        this.#stop?.();
        this.#stop = null;
      }
    };
  }

  async accept(o: Offer): Promise<Hold | null> {
    this.busy = o.id;
    try {
      const hold = await api.post<Hold>(`/offers/${o.id}/accept`, {});
      this.list = this.list.filter((x) => x.id !== o.id);
      this.notice = `Accepted: ${hold.teu} TEU are held for you at the offered price. Confirm them under My holds.`;
      return hold;
    } catch (e) {
      this.notice = errorMessage(e);
      await this.load();
      return null;
    } finally {
      this.busy = null;
    }
  }

  async decline(o: Offer) {
    this.busy = o.id;
    try {
      await api.post<void>(`/offers/${o.id}/decline`);
      this.list = this.list.filter((x) => x.id !== o.id);
      this.notice = 'Declined: the capacity went to the next in line.';
    } catch (e) {
      this.notice = errorMessage(e);
      await this.load();
    } finally {
      this.busy = null;
    }
  }
}

export const offers = new Offers();
