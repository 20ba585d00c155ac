/**
 * The `departure` (route, mode, operator, asset, times) of a hold or booking that arrived by a live event, which
 * carries no brief: the list answers (`GET /api/holds`, `GET /api/bookings`) name every row's departure already.
 */
import { api } from './api';
import { refdata } from './refdata.svelte';
import type { DepartureBrief, Departure } from './types';

/** The brief of a departure's full answer (cluster names from the reference data, the code when unknown). */
export function briefOf(d: Departure): DepartureBrief {
  return {
    corridorCode: d.corridorCode,
    origin: d.origin,
    originName: refdata.clusterName(d.origin),
    destination: d.destination,
    destinationName: refdata.clusterName(d.destination),
    mode: d.mode,
    operatorName: d.operatorName,
    assetName: d.assetName,
    departsAt: d.departsAt,
    arrivesAt: d.arrivesAt,
    cutoffAt: d.cutoffAt,
  };
}

const MAX_KEPT = 200;
const kept = new Map<string, Promise<DepartureBrief | null>>();

/** The brief of departure `id`: one `GET /api/departures/:id` per departure (kept for the visit), null when unreadable. */
export function fetchBrief(id: string): Promise<DepartureBrief | null> {
  let p = kept.get(id);
  if (!p) {
    p = Promise.all([api.get<Departure>(`/departures/${encodeURIComponent(id)}`), refdata.ensure().catch(() => {})]).then(
      ([d]) => briefOf(d),
      () => {
        kept.delete(id); // a failed read is tried again next time
        return null;
      },
    );
    if (kept.size >= MAX_KEPT) kept.delete(kept.keys().next().value!);
    kept.set(id, p);
  }
  return p;
}
