import type { DepartureLoad } from '../adapters/db/departures-repo.ts';
import type { Committed } from '../adapters/redis/availability.ts';

/**
 * What a commit that moved capacity leaves for the availability cache: the departure's load with its `seq`
 * (newer wins) and one listing's remaining TEU, or 'closed' once it no longer sells.
 */
export function committedLoad(dep: DepartureLoad, l: { id: string; status: string; remaining_teu: number }): Committed {
  return {
    seq: Number(dep.seq),
    usedTeu: dep.held_teu + dep.booked_teu,
    usedTonnes: dep.held_tonnes + dep.booked_tonnes,
    listingId: l.id,
    listingRemaining: l.status === 'open' ? l.remaining_teu : 'closed',
  };
}
