import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { carryOver, contentKey, type ProposalContent } from '../../server/core/pooling/carry-over.ts';

/** Proposals keep their id across plans when a new plan only repeats them (server/core/pooling/carry-over.ts). */

const shipment = (over: ProposalContent = {}): ProposalContent => ({
  kind: 'shipment', shipment_id: 's1', forwarder_org_id: 'f1', teu: 2, tonnes: 20, price_cents: 90_000, standalone_cents: 95_000, share_cents: 1_000,
  co2e_kg: 120, road_co2e_kg: 400, legs: JSON.stringify([{ departureId: 'd1', listingId: 'l1', unitPriceCents: 45_000 }]), ...over,
});
/** As Postgres reads it back: legs parsed (keys in another order), bigints as numbers, defaults filled in, nulls. */
const stored = (id: string, c: ProposalContent): ProposalContent & { id: string } => {
  const legs = JSON.parse(typeof c.legs === 'string' ? c.legs : '[]') as Record<string, unknown>[];
  const reordered = legs.map((l) => Object.fromEntries(Object.entries(l).reverse()));
  return {
    id, departure_id: null, operator_org_id: null, action: null, merge_into_departure_id: null, capacity_teu: null, min_load_teu: null,
    load_before_teu: null, load_after_teu: null, saving_cents: null, target_load_before_teu: null, target_load_after_teu: null, moved_bookings: [], ...c, legs: reordered,
  };
};

describe('carrying proposals over to a new plan', () => {
  it('a new plan that repeats an open proposal keeps it, whatever form the database hands the open one back in', () => {
    const r = carryOver([stored('p1', shipment())], [shipment()]);
    expect(r).toEqual({ carried: ['p1'], superseded: [] });
  });

  it('any change of what is offered makes a new proposal and supersedes the old one', () => {
    for (const change of [{ price_cents: 90_001 }, { share_cents: 0 }, { teu: 3 }, { legs: JSON.stringify([{ departureId: 'd2', listingId: 'l2', unitPriceCents: 45_000 }]) }]) {
      const r = carryOver([stored('p1', shipment())], [shipment(change)]);
      expect(r, JSON.stringify(change)).toEqual({ carried: [null], superseded: ['p1'] });
    }
  });

  it('a merge is the same merge whatever order its moved bookings are listed in', () => {
    const merge: ProposalContent = { kind: 'departure', departure_id: 'd1', operator_org_id: 'o1', action: 'merge', merge_into_departure_id: 'd2', moved_bookings: ['b2', 'b1'], teu: 3, saving_cents: 5_000 };
    expect(contentKey({ ...merge, moved_bookings: ['b1', 'b2'] })).toBe(contentKey(merge));
    expect(contentKey({ ...merge, merge_into_departure_id: 'd3' })).not.toBe(contentKey(merge));
    // a cancellation of the same departure is another proposal
    expect(contentKey({ ...merge, action: 'cancel', merge_into_departure_id: null, moved_bookings: [] })).not.toBe(contentKey(merge));
  });

  it('property: each open proposal is kept at most once, exactly when a new one repeats it; the rest are superseded', () => {
    const content = fc.record({ shipment_id: fc.constantFrom('s1', 's2', 's3'), price_cents: fc.constantFrom(100, 200), teu: fc.constantFrom(1, 2) });
    fc.assert(
      fc.property(fc.array(content, { maxLength: 8 }), fc.array(content, { maxLength: 8 }), (olds, news) => {
        const open = olds.map((c, i) => stored(`p${i}`, shipment(c)));
        const fresh = news.map((c) => shipment(c));
        const { carried, superseded } = carryOver(open, fresh);
        expect(carried).toHaveLength(fresh.length);
        const kept = carried.filter((x): x is string => x !== null);
        expect(new Set(kept).size).toBe(kept.length); // never the same open proposal twice
        // kept ∪ superseded = the open proposals, disjoint
        expect([...kept, ...superseded].sort()).toEqual(open.map((o) => o.id).sort());
        carried.forEach((id, i) => {
          if (id !== null) expect(contentKey(open.find((o) => o.id === id)!)).toBe(contentKey(fresh[i]!));
          // a new one is new only because every open proposal with its content was already taken
          else expect(open.filter((o) => contentKey(o) === contentKey(fresh[i]!)).every((o) => kept.includes(o.id))).toBe(true);
        });
      }),
    );
  });
});
