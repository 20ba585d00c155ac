/**
 * Test helpers of pooling (issue 13): small, tight random instances for fast-check, built on the seeded
 * generator and then squeezed (little free room, random mustRun / consolidate / listing caps) so that capacity,
 * the consolidation rule and the fixed costs all bind; candidates are rebuilt for the squeezed departures.
 */
import fc from 'fast-check';
import { buildCandidates, generateInstance, type PoolInstance, type PoolRouting } from '../../server/core/pooling.ts';

export const smallCaseArb = (maxRequests = 6) =>
  fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    requests: fc.integer({ min: 1, max: maxRequests }),
    departures: fc.integer({ min: 2, max: 6 }),
    freeTeu: fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 4, max: 14 }), fc.integer({ min: 4, max: 14 })), { minLength: 6, maxLength: 6 }),
    freeTonnes: fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 40, max: 200 }), fc.integer({ min: 40, max: 200 })), { minLength: 6, maxLength: 6 }),
    mustRun: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    listingCut: fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 4 })), { minLength: 6, maxLength: 6 }),
    consolidate: fc.array(fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }), {
      minLength: maxRequests,
      maxLength: maxRequests,
    }),
    maxPerRequest: fc.integer({ min: 1, max: 3 }),
    /** Odd departures continue the one before (multi-leg itineraries), half the requests ride both. */
    chain: fc.boolean(),
    gapHours: fc.integer({ min: 2, max: 12 }),
  });
export type SmallCase = ReturnType<typeof smallCaseArb> extends fc.Arbitrary<infer T> ? T : never;

/** A small instance: 3 clusters, a two-day horizon, the case's squeeze applied, candidates rebuilt. */
export function smallInstance(c: SmallCase): { instance: PoolInstance; routing: PoolRouting } {
  const { instance, routing } = generateInstance({ seed: c.seed, requests: c.requests, departures: c.departures, clusters: 3, horizonDays: 2 });
  const H = 3_600_000;
  const chained = instance.departures.map((d) => ({ ...d }));
  if (c.chain) {
    for (let i = 1; i < chained.length; i += 2) {
      const p = chained[i - 1]!;
      const third = ['C00', 'C01', 'C02'].find((x) => x !== p.origin && x !== p.destination)!;
      const departsAt = p.arrivesAt + c.gapHours * H;
      chained[i] = { ...chained[i]!, origin: p.destination, destination: third, departsAt, cutoffAt: departsAt - 3 * H, arrivesAt: departsAt + 6 * H };
    }
  }
  const departures = chained.map((d, i) => {
    const usedTeu = Math.min(d.usedTeu, 20);
    const usedTonnes = usedTeu * 11;
    return {
      ...d,
      usedTeu,
      usedTonnes,
      capacityTeu: usedTeu + c.freeTeu[i]!,
      capacityTonnes: usedTonnes + c.freeTonnes[i]!,
      mustRun: c.mustRun[i]!,
    };
  });
  const free = new Map(departures.map((d) => [d.id, d.capacityTeu - d.usedTeu]));
  const legs = instance.legs.map((l, i) => {
    const f = free.get(l.departureId)!;
    return { ...l, depFreeTeu: f, listingRemainingTeu: Math.max(0, f - c.listingCut[i % 6]!) };
  });
  const requests = instance.requests.map((r, i) => {
    const [a, b] = [departures[0]!, departures[1]!];
    const through = c.chain && i % 2 === 0;
    return {
      ...r,
      consolidate: c.consolidate[i]!,
      ...(through
        ? { from: a.origin, to: b.destination, teu: 1 + (i % 4 === 0 ? 0 : 1), tonnes: 9, readyAt: a.cutoffAt - 2 * H, deliverBy: b.arrivesAt + 6 * H, maxTotalCents: r.teu * 60_000, modes: ['rail', 'barge'] as ('rail' | 'barge')[] }
        : {}),
    };
  });
  const candidates = buildCandidates(requests, departures, legs, routing, instance.now, { maxPerRequest: c.maxPerRequest });
  return { instance: { ...instance, requests, departures, legs, candidates }, routing };
}
