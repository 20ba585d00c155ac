import { inTransaction, type Db } from '../../adapters/db/db.ts';
import { lockDeparture } from '../../adapters/db/departures-repo.ts';
import { chainExists } from '../../adapters/db/offers-repo.ts';
import { movedOffBarge } from '../../adapters/db/water-levels-repo.ts';
import type { RouteItinerary } from '../../domain/schemas/routes.ts';
import type { CascadeStep, OfferCascade } from './cascade.ts';

/** Postgres unique violation: another attempt made this booking's chain first. */
const isUniqueViolation = (err: unknown) => (err as { code?: string } | null)?.code === '23505';

/**
 * The rail alternatives a moved booking may be offered first refusal on, best first (the route search's order): a
 * single bookable leg (fixed or falling price) with room for the whole booking when it was searched. A chain of
 * several legs is shown to the forwarder but not reserved — a right of first refusal on one leg without the others
 * would hold capacity nobody can use.
 */
export function relocationCandidates(alternatives: readonly RouteItinerary[], teu: number): RouteItinerary['legs'][number][] {
  return alternatives.filter((it) => it.bookable && it.legs.length === 1 && it.legs[0]!.freeTeu >= teu && it.legs[0]!.mode === 'rail').map((it) => it.legs[0]!);
}

/**
 * First refusal on a rail alternative for a booking a low-water derating moved off its barge (issue 14, part 3): the
 * first candidate whose departure still sells and can give the booking's TEU and tonnes is reserved for its forwarder
 * and offered (cascade.relocate). Called right after the derating commits and again by its `derating.relocate` job (a
 * process that died in between): once per moved booking — the chain's (reason, source) key makes a second attempt a
 * no-op. Null when nothing could be offered (no candidate left, or already offered).
 */
export async function relocate(db: Db, cascade: OfferCascade, bookingId: string, now: Date): Promise<CascadeStep | null> {
  const m = await movedOffBarge(db, bookingId);
  if (!m || (await chainExists(db, 'derating', bookingId))) return null;
  for (const leg of relocationCandidates((m.alternatives ?? []) as RouteItinerary[], m.teu)) {
    try {
      const step = await inTransaction(db, async (tx) => {
        await lockDeparture(tx, leg.departureId); // lock order of every capacity path: departure, then listing / offer
        if (await chainExists(tx, 'derating', bookingId)) return 'done' as const;
        return cascade.relocate(tx, { movedBookingId: bookingId, orgId: m.forwarder_org_id, departureId: leg.departureId, listingId: leg.listingId, teu: m.teu, tonnes: m.tonnes }, now);
      });
      if (step === 'done') return null;
      if (step) return step;
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }
  return null;
}
