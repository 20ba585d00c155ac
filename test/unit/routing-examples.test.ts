import { describe, expect, it } from 'vitest';
import {
  Timetable,
  enumerateRoutes,
  planChain,
  searchRoutes,
  type LegFormat,
  type RouteMode,
  type RouteQuery,
  type RoutingParams,
  type TimetableLeg,
  type TransferRule,
} from '../../server/core/routing.ts';
import { roadAlternative, routingParams } from '../../server/data/routing-params.ts';

const H = 3_600_000;
const MON = Date.UTC(2026, 0, 5); // Monday 00:00 UTC

/** A leg with roomy capacity; times in hours after Monday 00:00, cut-off 2 h before departure unless given. */
function leg(
  listingId: string,
  origin: string,
  destination: string,
  dep: number,
  arr: number,
  price: number,
  more: Partial<TimetableLeg> & { cut?: number; format?: LegFormat; mode?: RouteMode } = {},
): TimetableLeg {
  const { cut, ...rest } = more;
  return {
    listingId,
    departureId: `dep-${listingId}`,
    corridorId: `${origin}-${destination}-${more.mode ?? 'rail'}`,
    mode: 'rail',
    origin,
    destination,
    departsAt: MON + dep * H,
    arrivesAt: MON + arr * H,
    cutoffAt: MON + (cut ?? dep - 2) * H,
    distanceKm: 0,
    depFreeTeu: 50,
    depFreeTonnes: 800,
    listingRemainingTeu: 20,
    unitPriceCents: price,
    format: 'fixed',
    ...rest,
  };
}

const query = (from: string, to: string, more: Partial<RouteQuery> = {}): RouteQuery => ({
  from,
  to,
  teu: 2,
  tonnes: 24,
  readyAt: MON,
  deliverBy: MON + 120 * H,
  now: MON - 24 * H,
  modes: ['rail', 'barge'],
  maxLegs: 3,
  ...more,
});

/** Parameters with the same rule everywhere (minutes per mode pair, handling cents and grams per TEU). */
function flatParams(mct: Partial<Record<'rail-rail' | 'rail-barge' | 'barge-rail' | 'barge-barge', number>> = {}, cents = 0, grams = 0, at: Record<string, Partial<TransferRule['minConnectionMinutes']>> = {}): RoutingParams {
  return {
    transfer: (c) => ({
      minConnectionMinutes: { 'rail-rail': 0, 'rail-barge': 0, 'barge-rail': 0, 'barge-barge': 0, ...mct, ...at[c] },
      handlingCentsPerTeu: cents,
      handlingCo2eGramsPerTeu: grams,
    }),
    gramsPerTonneKm: { rail: 11.3, barge: 38.6 },
  };
}

/** Search and enumeration agree; the search's answer. */
function search(legs: TimetableLeg[], q: RouteQuery, params: RoutingParams) {
  const found = searchRoutes(new Timetable(legs), q, params);
  expect(found).toEqual(enumerateRoutes(legs, q, params));
  return found;
}
const keys = (plans: { legs: TimetableLeg[] }[]) => plans.map((p) => p.legs.map((l) => l.listingId).join(','));

describe('London → Lille → Duisburg → Bologna with the demo transfer rules', () => {
  const l1 = leg('lhr-lil', 'GBLHR', 'FRLIL', 8, 14, 45_000, { distanceKm: 300 });
  const l2 = leg('lil-dui', 'FRLIL', 'DEDUI', 20, 30, 40_000, { distanceKm: 330, cut: 18 });
  const l3 = leg('dui-blq', 'DEDUI', 'ITBLQ', 36, 56, 90_000, { distanceKm: 980, cut: 34 });
  const early = leg('dui-blq-early', 'DEDUI', 'ITBLQ', 32, 52, 80_000, { distanceKm: 980, cut: 30 }); // 2 h after arrival < 4 h rail→rail
  const lilBlq = leg('lil-blq', 'FRLIL', 'ITBLQ', 26, 68, 150_000, { distanceKm: 1000, cut: 24 });
  const legs = [l1, l2, l3, early, lilBlq];
  const q = query('GBLHR', 'ITBLQ');

  it('finds the three-leg chain with its transfers, totals and CO2e, and the greener two-leg one', () => {
    const found = search(legs, q, routingParams);
    expect(keys(found)).toEqual(['lhr-lil,lil-dui,dui-blq', 'lhr-lil,lil-blq']);
    const lil = routingParams.transfer('FRLIL');
    const dui = routingParams.transfer('DEDUI');
    const [three, two] = found;
    expect(three!.transfers).toEqual([
      { at: 'FRLIL', waitMinutes: 360, handlingCents: lil.handlingCentsPerTeu * 2 },
      { at: 'DEDUI', waitMinutes: 360, handlingCents: dui.handlingCentsPerTeu * 2 },
    ]);
    expect(three!.totalCents).toBe((45_000 + 40_000 + 90_000) * 2 + (lil.handlingCentsPerTeu + dui.handlingCentsPerTeu) * 2);
    const g = (km: number) => Math.round(24 * km * 11.3);
    expect(three!.co2eGrams).toBe(g(300) + g(330) + g(980) + (lil.handlingCo2eGramsPerTeu + dui.handlingCo2eGramsPerTeu) * 2);
    expect([three!.departsAt, three!.arrivesAt, three!.bookable]).toEqual([MON + 8 * H, MON + 56 * H, true]);
    expect(two!.co2eGrams).toBeLessThan(three!.co2eGrams);
    expect(two!.arrivesAt).toBeGreaterThan(three!.arrivesAt);
  });

  it('respects the minimum connection time: the 2-hour connection at Duisburg is never used', () => {
    for (const p of search(legs, { ...q, maxLegs: 4 }, routingParams)) expect(keys([p])[0]).not.toContain('early');
  });

  it('planChain names the first failing leg', () => {
    const ok = planChain([l1, l2, l3], q, routingParams);
    expect(ok.ok).toBe(true);
    const refusal = (legs: TimetableLeg[], qq: RouteQuery = q) => {
      const r = planChain(legs, qq, routingParams);
      return r.ok ? 'ok' : `${r.code}@${r.legIndex}`;
    };
    expect(refusal([])).toBe('not_connected@0');
    expect(refusal([l2, l3])).toBe('not_connected@0');
    expect(refusal([l1, l3])).toBe('not_connected@1');
    expect(refusal([l1, l2])).toBe('not_connected@1'); // ends at Duisburg
    expect(refusal([l1, l2, l3], { ...q, modes: ['barge'] })).toBe('wrong_mode@0');
    expect(refusal([l1, l2, l3], { ...q, readyAt: MON + 7 * H })).toBe('past_cutoff@0');
    expect(refusal([l1, l2, l3], { ...q, now: MON + 20 * H })).toBe('past_cutoff@0');
    expect(refusal([l1, l2, { ...l3, depFreeTeu: 1 }])).toBe('insufficient_capacity@2');
    expect(refusal([l1, { ...l2, listingRemainingTeu: 1 }, l3])).toBe('insufficient_capacity@1');
    expect(refusal([l1, l2, { ...l3, depFreeTonnes: 20 }])).toBe('insufficient_capacity@2');
    expect(refusal([l1, l2, early])).toBe('bad_connection@2');
    expect(refusal([l1, { ...l2, cutoffAt: MON + 13 * H }, l3])).toBe('bad_connection@1'); // arrives after its cut-off
    expect(refusal([l1, l2, l3], { ...q, deliverBy: MON + 50 * H })).toBe('too_late@2');
    expect(refusal([l1, l2, l3], { ...q, maxTotalCents: 100_000 })).toBe('over_budget@1');
    expect(refusal([l1, l2, l3], { ...q, maxLegs: 2 })).toBe('too_many_legs@2');
    const back = leg('dui-lil', 'DEDUI', 'FRLIL', 34, 40, 1, { cut: 32 });
    expect(refusal([l1, l2, back])).toBe('not_connected@2'); // Lille twice
  });
});

describe('formats, tie-breaks and the rules the search must keep', () => {
  const params = flatParams();

  it('shows a cheaper auction leg as a bid itinerary beside the bookable one, and drops a dearer one', () => {
    const fixed = leg('fixed', 'A', 'B', 10, 20, 100_000);
    const asc = leg('asc', 'A', 'B', 10, 20, 80_000, { format: 'ascending' });
    const sealed = leg('sealed', 'A', 'B', 10, 20, 120_000, { format: 'sealed' });
    const falling = leg('falling', 'A', 'B', 10, 22, 90_000, { format: 'falling' });
    const found = search([fixed, asc, sealed, falling], query('A', 'B'), params);
    expect(found.map((p) => [p.legs[0]!.listingId, p.bookable])).toEqual([
      ['asc', false],
      ['fixed', true],
      ['falling', true],
    ]);
  });

  it('breaks ties by fewer legs, then earlier first departure, then the smaller listing-id key', () => {
    // same price, arrival and CO2e (0 km, no handling)
    const direct = leg('z-direct', 'A', 'C', 10, 30, 300);
    const via1 = leg('a-1', 'A', 'B', 8, 12, 100);
    const via2 = leg('a-2', 'B', 'C', 14, 30, 200);
    expect(keys(search([via1, via2, direct], query('A', 'C'), params))).toEqual(['z-direct']);
    const later = leg('a-later', 'A', 'C', 12, 30, 300);
    expect(keys(search([later, direct], query('A', 'C'), params))).toEqual(['z-direct']);
    const twin = leg('b-twin', 'A', 'C', 10, 30, 300);
    expect(keys(search([direct, twin], query('A', 'C'), params))).toEqual(['b-twin']);
    // keys compare as strings: "x!,…" sorts before "x,…" although "x" < "x!"
    const a1 = leg('x', 'A', 'B', 0, 1, 100, { cut: 0 });
    const a2 = leg('x!', 'A', 'V', 0, 1, 100, { cut: 0 });
    const b1 = leg('y', 'B', 'C', 2, 3, 0, { cut: 1 });
    const b2 = leg('w', 'V', 'C', 2, 3, 0, { cut: 1 });
    expect(keys(search([a1, a2, b1, b2], query('A', 'C'), params))).toEqual(['x!,w']);
  });

  it('keeps equal prefixes whose order may flip once extended ("p" < "p!" but "p!,q" < "p,q")', () => {
    const legs = [leg('p', 'A', 'V', 0, 1, 100, { cut: 0 }), leg('p!', 'A', 'V', 0, 1, 100, { cut: 0 }), leg('q', 'V', 'E', 2, 3, 0, { cut: 1 })];
    expect(keys(search(legs, query('A', 'E'), params))).toEqual(['p!,q']);
  });

  it('does not let "no bid so far" decide at a transfer: a bid leg after it makes both need a bid', () => {
    const legs = [
      leg('ba', 'B', 'C', 1, 2, 0, { cut: 1, format: 'ascending' }),
      leg('ca', 'B', 'C', 1, 2, 0, { cut: 1 }),
      leg('ez', 'C', 'A', 2, 3, 0, { cut: 2, format: 'ascending' }),
    ];
    expect(keys(search(legs, query('B', 'A'), params))).toEqual(['ba,ez']);
  });

  it('keeps a chain whose equal-vector rival was found first in the same round (target tie-break)', () => {
    // a,b and a!,c end with the same vector; a,b is found first, a!,c wins on its key
    const legs = [
      leg('a', 'A', 'X', 0, 1, 100, { cut: 0 }),
      leg('b', 'X', 'E', 1, 2, 0, { cut: 1 }),
      leg('a!', 'A', 'V', 0, 2, 100, { cut: 0 }),
      leg('c', 'V', 'E', 2, 2, 0, { cut: 2 }),
    ];
    expect(keys(search(legs, query('A', 'E', { maxLegs: 2 }), params))).toEqual(['a!,c']);
  });

  it('never visits a cluster twice, even when that is the only way', () => {
    // rail→barge at B takes 10 h; going round B → C → B turns the rail arrival into a barge one
    const p = flatParams({}, 0, 0, { B: { 'rail-barge': 600 } });
    const legs = [
      leg('ab', 'A', 'B', 0, 1, 100, { cut: 0 }),
      leg('bc', 'B', 'C', 2, 3, 100, { cut: 2 }),
      leg('cb', 'C', 'B', 3, 4, 100, { cut: 3, mode: 'barge' }),
      leg('bd', 'B', 'D', 5, 6, 100, { cut: 5, mode: 'barge' }),
      leg('xy', 'X', 'Y', 5, 6, 100), // more clusters, so that 4 legs are not ruled out by the cluster count
    ];
    expect(search(legs, query('A', 'D', { maxLegs: 4 }), p)).toEqual([]);
  });

  it('does not let a label that visited more clusters stand in for one that visited fewer', () => {
    // A→W→V is cheaper than A→X→V, but the only way on from V is through W (W→E by barge, rail→barge at W
    // takes 10 h, so A→W→E is impossible): the answer is A→X→V→W→E
    // (both orders: the cheaper label arriving first, and arriving second and replacing the other)
    const p = flatParams({}, 0, 0, { W: { 'rail-barge': 600 } });
    for (const aw of ['aw', 'zw']) {
      const legs = [
        leg(aw, 'A', 'W', 0, 1, 100, { cut: 0 }),
        leg('wv', 'W', 'V', 1, 2, 100, { cut: 1 }),
        leg('ax', 'A', 'X', 0, 1, 500, { cut: 0 }),
        leg('xv', 'X', 'V', 1, 2, 500, { cut: 1 }),
        leg('vw', 'V', 'W', 3, 4, 100, { cut: 3, mode: 'barge' }),
        leg('we', 'W', 'E', 5, 6, 100, { cut: 5, mode: 'barge' }),
      ];
      expect(keys(search(legs, query('A', 'E', { maxLegs: 4 }), p))).toEqual(['ax,xv,vw,we']);
    }
  });

  it('extends a label of the previous round even when a longer label has replaced it in its bag', () => {
    // A→X→V beats A→V at V, but only A→V has the legs left for V→Y→E (maxLegs 3); V→E exists, full
    const legs = [
      leg('ax', 'A', 'X', 0, 1, 10, { cut: 0 }),
      leg('xv', 'X', 'V', 1, 2, 10, { cut: 1 }),
      leg('av', 'A', 'V', 1, 3, 500, { cut: 1 }),
      leg('vy', 'V', 'Y', 4, 5, 10, { cut: 4 }),
      leg('ye', 'Y', 'E', 6, 7, 10, { cut: 6 }),
      leg('ve', 'V', 'E', 4, 5, 10, { cut: 4, depFreeTeu: 0 }),
    ];
    expect(keys(search(legs, query('A', 'E'), params))).toEqual(['av,vy,ye']);
  });

  it('answers with the enumeration when a leg breaks the search’s assumptions', () => {
    const odd = leg('odd', 'A', 'B', 10, 9, 100, { cut: 11 }); // cut-off after departure, arrival before it
    const plain = leg('plain', 'A', 'B', 10, 20, 200);
    const tt = new Timetable([odd, plain]);
    const q = query('A', 'B', { readyAt: MON + 11 * H });
    expect(keys(searchRoutes(tt, q, params))).toEqual(['odd']);
    tt.removeListing('odd');
    expect(keys(searchRoutes(tt, q, params))).toEqual([]);
  });

  it('returns nothing for unknown or equal clusters and no allowed mode', () => {
    const legs = [leg('ab', 'A', 'B', 10, 20, 100)];
    const tt = new Timetable(legs);
    expect(searchRoutes(tt, query('A', 'Q'), params)).toEqual([]);
    expect(searchRoutes(tt, query('A', 'A'), params)).toEqual([]);
    expect(searchRoutes(tt, query('A', 'B', { modes: [] }), params)).toEqual([]);
    expect(searchRoutes(tt, query('A', 'B', { modes: ['barge'] }), params)).toEqual([]);
  });
});

describe('Timetable', () => {
  it('keeps its own copies, indexes updates per departure and listing, and bumps its version', () => {
    const a = leg('a', 'A', 'B', 10, 20, 100, { departureId: 'd1' });
    const b = leg('b', 'A', 'B', 10, 20, 90, { departureId: 'd1' });
    const tt = new Timetable([a, b]);
    a.unitPriceCents = 1;
    expect(tt.leg('a')!.unitPriceCents).toBe(100);
    tt.leg('a')!.unitPriceCents = 2;
    expect(tt.leg('a')!.unitPriceCents).toBe(100);
    const v0 = tt.version;
    tt.setDepartureFree('d1', 3, 40);
    expect([tt.leg('a')!.depFreeTeu, tt.leg('b')!.depFreeTonnes]).toEqual([3, 40]);
    tt.setListing('b', { unitPriceCents: 120, remainingTeu: 4 });
    expect([tt.leg('b')!.unitPriceCents, tt.leg('b')!.listingRemainingTeu]).toEqual([120, 4]);
    tt.setListing('b', { open: false });
    expect([tt.size, tt.leg('b')]).toEqual([1, undefined]);
    expect(tt.version).toBe(v0 + 3);
    tt.pruneBefore(MON + 8 * H); // a's cut-off is 08:00
    expect(tt.size).toBe(0);
  });
});

describe('road alternative', () => {
  it('uses great-circle × detour, the road factor and ceil(TEU / 2) trucks at the documented €/km', () => {
    const coords = { GBLHR: { lat: 51.47, lon: -0.4543 }, ITBLQ: { lat: 44.596, lon: 11.374 } };
    const r = roadAlternative('GBLHR', 'ITBLQ', 3, 30, coords)!;
    expect(r.distanceKm).toBeGreaterThan(1300);
    expect(r.distanceKm).toBeLessThan(1500);
    expect(r.co2eKg).toBe(Math.round((30 * r.distanceKm * 90.3) / 1000));
    expect(r.costCents).toBe(Math.round(r.distanceKm * 170 * 2));
    expect(roadAlternative('GBLHR', 'XXXXX', 1, 1, coords)).toBeNull();
    expect(roadAlternative('GBLHR', 'ITBLQ', 1, 1, new Map(Object.entries(coords)))!.costCents).toBe(Math.round(r.distanceKm * 170));
  });

  it('gives every demo cluster its own transfer rule and unknown codes the default', () => {
    for (const c of ['DEDUI', 'ESZAZ', 'FRLIL', 'ITBLQ', 'GBLHR', 'NLRTM', 'BEANR', 'CHBSL']) {
      const r = routingParams.transfer(c);
      expect(r.minConnectionMinutes['rail-rail']).toBeGreaterThan(0);
      expect(r.handlingCentsPerTeu).toBeGreaterThan(0);
    }
    expect(routingParams.transfer('ZZZZZ')).toEqual(routingParams.transfer('NOPE!'));
    expect(routingParams.transfer('DEDUI').minConnectionMinutes['barge-rail']).toBe(480);
  });
});
