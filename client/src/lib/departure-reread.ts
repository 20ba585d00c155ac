import { live } from './live.svelte';
import type { AvailabilityEvent } from './types';

/**
 * Calls `load` when the departure's availability moves (a hold, a booking, a cancellation, an offer taken or
 * returned), at most once per `ms`: the operator's sections of a departure page follow it live without a read per
 * frame. Returns the unsubscribe, for an `$effect` to return.
 */
export function rereadOnAvailability(departureId: string, load: () => void, ms = 1000): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const off = live.on('departure:availability', (e: AvailabilityEvent) => {
    if (e?.departureId !== departureId || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      load();
    }, ms);
  });
  return () => {
    clearTimeout(timer);
    off();
  };
}
