/** Keeps a shown departure in step with availability frames. Self-contained (no imports): unit-tested from test/unit. */

export interface AvailabilityFrame {
  departureId: string;
  seq: number;
  freeTeu: number;
  freeTonnes: number;
  /** what the load is made of (frames since this session; an older server sent neither) */
  heldTeu?: number;
  bookedTeu?: number;
  /** true when this frame stands for several changes (newest state wins): not a gap */
  coalesced?: boolean;
}

/**
 * Apply an availability event to a departure in place.
 * 'stale' = older or equal seq (ignored), 'applied' = next seq, 'gap' = applied but seq jumped (re-read).
 * A frame marked `coalesced` stands for every change up to its seq (the server skipped superseded states
 * under load): no gap, no re-read — otherwise thousands of watchers would re-read at once.
 */
export function applyAvailability(dep: { seq?: number; freeTeu: number; freeTonnes: number; heldTeu?: number; bookedTeu?: number }, e: AvailabilityFrame): 'stale' | 'applied' | 'gap' {
  const cur = typeof dep.seq === 'number' ? dep.seq : null;
  if (cur !== null && typeof e.seq === 'number' && e.seq <= cur) return 'stale';
  const gap = cur !== null && typeof e.seq === 'number' && e.seq > cur + 1 && e.coalesced !== true;
  if (typeof e.freeTeu === 'number') dep.freeTeu = e.freeTeu;
  if (typeof e.freeTonnes === 'number') dep.freeTonnes = e.freeTonnes;
  if (typeof e.heldTeu === 'number') dep.heldTeu = e.heldTeu;
  if (typeof e.bookedTeu === 'number') dep.bookedTeu = e.bookedTeu;
  if (typeof e.seq === 'number') dep.seq = e.seq;
  return gap ? 'gap' : 'applied';
}
