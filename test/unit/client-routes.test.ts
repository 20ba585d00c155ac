import { describe, expect, it } from 'vitest';
import {
  applyDepartureFrame, applyListingClosed, applyListingUpdate, checkRouteForm, defaultForm, emptyLive, fmtWait, formFromRequest,
  itineraryView, MAX_R, mineOf, MIN_R, paretoPoints, requestFromQuery, requestToQuery, routeCodes, SAME_ARRIVAL_PAD_MS, savedVsRoad, soldOutText,
  sortViews, timeAxis, timelineSegments, type LegFormat, type RouteItinerary, type RouteLeg,
} from '../../client/src/lib/routes-data.ts';

const T0 = Date.parse('2026-03-02T08:00:00Z');
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function leg(n: number, origin: string, destination: string, o: Partial<RouteLeg> = {}): RouteLeg {
  return {
    departureId: `dep-${n}`, listingId: `lst-${n}`, mode: 'rail', origin, destination,
    departsAt: iso(T0 + n * 10 * H), arrivesAt: iso(T0 + (n * 10 + 6) * H), cutoffAt: iso(T0 + (n * 10 - 4) * H),
    freeTeu: 20, unitPriceCents: 50_000, format: 'fixed', bookable: true, distanceKm: 300, co2eKg: 100, ...o,
  };
}

/** London → Lille → Duisburg → Bologna, 3 legs at €500 a TEU, 2 TEU, two transfers at €40 a TEU. */
function itinerary(o: Partial<RouteItinerary> = {}, legs?: RouteLeg[]): RouteItinerary {
  const ls = legs ?? [leg(1, 'GBLHR', 'FRLIL'), leg(2, 'FRLIL', 'DEDUI'), leg(3, 'DEDUI', 'ITBLQ')];
  return {
    legs: ls,
    transfers: ls.slice(1).map((l) => ({ at: l.origin, waitMinutes: 240, handlingCents: 8_000 })),
    totalCents: ls.reduce((s, l) => s + l.unitPriceCents * 2, 0) + (ls.length - 1) * 8_000,
    departsAt: ls[0]!.departsAt,
    arrivesAt: ls[ls.length - 1]!.arrivesAt,
    co2eKg: 900,
    roadCo2eKg: 3_000,
    bookable: ls.every((l) => l.format === 'fixed' || l.format === 'falling'),
    key: ls.map((l) => l.listingId).join(','),
    ...o,
  };
}

const REQ = { teu: 2, tonnes: 24 };
const formatsOf = (its: RouteItinerary[]) => new Map<string, LegFormat>(its.flatMap((it) => it.legs.map((l) => [l.listingId, l.format] as const)));
const depsOf = (its: RouteItinerary[]) => new Set(its.flatMap((it) => it.legs.map((l) => l.departureId)));

describe('client routes: the search form', () => {
  it('defaults to ready now and delivered within 7 days, both modes, 3 legs', () => {
    const f = defaultForm(Date.parse('2026-03-02T08:17:42.123Z'), 'GBLHR', 'ITBLQ');
    expect(f).toMatchObject({ from: 'GBLHR', to: 'ITBLQ', readyAt: '2026-03-02T08:17', deliverBy: '2026-03-09T09:00', rail: true, barge: true, maxLegs: 3, budgetEur: null });
    const r = checkRouteForm(f);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request).toEqual({ from: 'GBLHR', to: 'ITBLQ', teu: 2, tonnes: 24, readyAt: '2026-03-02T08:17:00.000Z', deliverBy: '2026-03-09T09:00:00.000Z', modes: ['rail', 'barge'], maxLegs: 3 });
  });

  it('names every bad field and builds no request', () => {
    const r = checkRouteForm({ from: 'GBLHR', to: 'GBLHR', teu: 0, tonnes: -1, readyAt: '2026-03-05T10:00', deliverBy: '2026-03-05T09:00', rail: false, barge: false, maxLegs: 50, budgetEur: -5 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.keys(r.errors).sort()).toEqual(['budgetEur', 'deliverBy', 'maxLegs', 'modes', 'teu', 'to', 'tonnes']);
    expect(r.errors.to).toMatch(/differ/);
    expect(r.errors.deliverBy).toMatch(/after ready-at/);
    const missing = checkRouteForm({ ...defaultForm(T0), teu: 1.5, readyAt: 'soon' });
    expect(missing.ok ? [] : Object.keys(missing.errors).sort()).toEqual(['from', 'readyAt', 'teu', 'to']);
    // at least a tonne per TEU; at most 21 days between ready-at and deliver-by
    const heavy = checkRouteForm({ ...defaultForm(T0, 'GBLHR', 'ITBLQ'), teu: 30, tonnes: 29, deliverBy: '2026-03-25T08:00', readyAt: '2026-03-02T08:00' });
    expect(heavy.ok ? {} : heavy.errors).toEqual({ tonnes: expect.stringMatching(/per TEU/), deliverBy: expect.stringMatching(/21 days/) });
    expect(checkRouteForm({ ...defaultForm(T0, 'GBLHR', 'ITBLQ'), teu: 30, tonnes: 30, deliverBy: '2026-03-23T08:00', readyAt: '2026-03-02T08:00' }).ok).toBe(true);
  });

  it('round-trips a request through the URL query, budget in cents', () => {
    const r = checkRouteForm({ ...defaultForm(T0, 'GBLHR', 'ITBLQ'), barge: false, budgetEur: 2_500.5, maxLegs: 2 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request.maxTotalCents).toBe(250_050);
    const q = requestToQuery(r.request);
    expect(q).toMatchObject({ from: 'GBLHR', to: 'ITBLQ', modes: 'rail', maxLegs: '2', maxTotalCents: '250050', teu: '2', tonnes: '24' });
    expect(requestFromQuery(q)).toEqual(r.request);
    expect(formFromRequest(r.request)).toMatchObject({ barge: false, rail: true, budgetEur: 2_500.5, maxLegs: 2 });
    expect(requestFromQuery({})).toBeNull();
    // a link naming the cargo without times searches from now (ready now, a week to deliver); one time alone is not enough
    const { readyAt: _r, deliverBy: _d, ...undated } = q;
    expect(requestFromQuery(undated)).toBeNull();
    expect(requestFromQuery(undated, T0)).toEqual(r.request); // r was made from defaultForm(T0): the same times
    expect(requestFromQuery(undated, T0 + 3_600_000)?.readyAt).toBe('2026-03-02T09:00:00.000Z');
    expect(requestFromQuery({ ...undated, readyAt: q.readyAt }, T0)).toBeNull();
    expect(requestFromQuery({ ...q, teu: '0' })).toBeNull();
    expect(requestFromQuery({ ...q, deliverBy: 'tomorrow' })).toBeNull();
  });
});

describe('client routes: live changes to the answer', () => {
  it('a departure dropping below the request greys the itinerary out on that leg; a newer seq only', () => {
    const it0 = itinerary();
    const live = emptyLive();
    const deps = depsOf([it0]);
    expect(itineraryView(it0, live, REQ)).toMatchObject({ soldOut: null, bookable: true, deltaCents: 0, totalCents: it0.totalCents });

    expect(applyDepartureFrame(live, deps, { departureId: 'dep-2', seq: 7, freeTeu: 1, freeTonnes: 500 })).toBe('applied');
    let v = itineraryView(it0, live, REQ);
    expect(v.soldOut).toEqual({ leg: 2, reason: 'capacity' });
    expect(v.bookable).toBe(false);
    expect(v.legs[1]!.freeNow).toBe(1);
    expect(soldOutText(v.soldOut!)).toBe('sold out on leg 2');

    // an older frame does not undo it; a newer one (a release) does
    expect(applyDepartureFrame(live, deps, { departureId: 'dep-2', seq: 6, freeTeu: 30 })).toBe('stale');
    expect(itineraryView(it0, live, REQ).soldOut).toEqual({ leg: 2, reason: 'capacity' });
    expect(applyDepartureFrame(live, deps, { departureId: 'dep-2', seq: 8, freeTeu: 30, freeTonnes: 500 })).toBe('applied');
    v = itineraryView(it0, live, REQ);
    expect(v.soldOut).toBeNull();
    // the search's figure bounds the listing side that no event told about
    expect(v.legs[1]!.freeNow).toBe(20);

    expect(applyDepartureFrame(live, deps, { departureId: 'someone-else', seq: 1, freeTeu: 0 })).toBe('ignored');
    expect(applyDepartureFrame(live, deps, { departureId: 'dep-3', seq: 9, freeTeu: 40, freeTonnes: 10 })).toBe('applied');
    expect(itineraryView(it0, live, REQ).soldOut).toEqual({ leg: 3, reason: 'weight' });
  });

  it('capacity the viewer itself holds (or just booked) does not grey out its own itinerary; others still see it taken', () => {
    const it0 = itinerary();
    const live = emptyLive();
    const deps = depsOf([it0]);
    const formats = formatsOf([it0]);
    // the viewer holds REQ on every leg: the live frames then say that much less is free
    const mine = mineOf(it0.legs, REQ);
    expect(applyDepartureFrame(live, deps, { departureId: 'dep-2', seq: 7, freeTeu: 0, freeTonnes: 0 })).toBe('applied');
    expect(applyListingUpdate(live, formats, { listingId: 'lst-1', status: 'open', remainingTeu: 0 })).toBe(true);
    expect(itineraryView(it0, live, REQ).soldOut).not.toBeNull(); // to anyone else: taken
    const v = itineraryView(it0, live, REQ, mine);
    expect(v.soldOut).toBeNull(); // to its taker: still the itinerary it holds
    expect(v.legs[1]!.freeNow).toBe(REQ.teu);
    // a larger request than what was taken is still refused
    expect(itineraryView(it0, live, { teu: REQ.teu + 1, tonnes: REQ.tonnes + 20 }, mine).soldOut).not.toBeNull();
    // a closed listing is closed whoever holds it
    expect(applyListingClosed(live, formats, { listingId: 'lst-3' })).toBe(true);
    expect(itineraryView(it0, live, REQ, mine).soldOut).toEqual({ leg: 3, reason: 'closed' });
  });

  it("a listing's remaining TEU or its closing greys the itinerary out", () => {
    const it0 = itinerary();
    const live = emptyLive();
    const formats = formatsOf([it0]);
    expect(applyListingUpdate(live, formats, { listingId: 'lst-1', status: 'open', remainingTeu: 1 })).toBe(true);
    expect(itineraryView(it0, live, REQ).soldOut).toEqual({ leg: 1, reason: 'capacity' });
    expect(applyListingUpdate(live, formats, { listingId: 'lst-1', status: 'open', remainingTeu: 5 })).toBe(true);
    expect(itineraryView(it0, live, REQ).soldOut).toBeNull();
    expect(applyListingClosed(live, formats, { listingId: 'lst-3' })).toBe(true);
    const v = itineraryView(it0, live, REQ);
    expect(v.soldOut).toEqual({ leg: 3, reason: 'closed' });
    expect(soldOutText(v.soldOut!)).toMatch(/leg 3/);
    expect(applyListingUpdate(live, formats, { listingId: 'other', remainingTeu: 0 })).toBe(false);
    // a late `open` state of a closed listing (sent before its close, delivered after) does not reopen it
    expect(applyListingUpdate(live, formats, { listingId: 'lst-3', status: 'open', remainingTeu: 9 })).toBe(false);
    expect(itineraryView(it0, live, REQ).soldOut).toEqual({ leg: 3, reason: 'closed' });
  });

  it("a falling leg's price step changes the total in place; a fixed leg's price never moves", () => {
    const it0 = itinerary({}, [leg(1, 'GBLHR', 'FRLIL', { format: 'falling' }), leg(2, 'FRLIL', 'DEDUI'), leg(3, 'DEDUI', 'ITBLQ')]);
    const live = emptyLive();
    const formats = formatsOf([it0]);
    applyListingUpdate(live, formats, { listingId: 'lst-1', status: 'open', remainingTeu: 20, currentPriceCents: 47_000 });
    applyListingUpdate(live, formats, { listingId: 'lst-2', status: 'open', remainingTeu: 20, currentPriceCents: 10 });
    const v = itineraryView(it0, live, REQ);
    expect(v.deltaCents).toBe(-6_000);
    expect(v.totalCents).toBe(it0.totalCents - 6_000);
    expect(v.legs.map((l) => l.priceChanged)).toEqual([true, false, false]);
    expect(v.legs[0]!.priceNow).toBe(47_000);
    expect(v.soldOut).toBeNull();
  });

  it('bid legs make an itinerary not bookable and are named', () => {
    const it0 = itinerary({}, [leg(1, 'GBLHR', 'FRLIL'), leg(2, 'FRLIL', 'ITBLQ', { format: 'ascending', bookable: false })]);
    const v = itineraryView(it0, emptyLive(), REQ);
    expect(v.bookable).toBe(false);
    expect(v.bidLegs).toEqual([2]);
    expect(v.soldOut).toBeNull();
  });
});

describe('client routes: sorting and the Pareto chart', () => {
  const cheap = itinerary({ key: 'a', totalCents: 100_000, arrivesAt: iso(T0 + 90 * H), co2eKg: 800 });
  const fast = itinerary({ key: 'b', totalCents: 300_000, arrivesAt: iso(T0 + 40 * H), co2eKg: 1_200 });
  const green = itinerary({ key: 'c', totalCents: 200_000, arrivesAt: iso(T0 + 70 * H), co2eKg: 400 });
  const twin = itinerary({ key: 'd', totalCents: 100_000, arrivesAt: iso(T0 + 90 * H), co2eKg: 800 });
  const views = [green, twin, fast, cheap].map((it) => itineraryView(it, emptyLive(), REQ));

  it('sorts by price, arrival or CO2e, the others and the key breaking ties', () => {
    expect(sortViews(views, 'price').map((v) => v.key)).toEqual(['a', 'd', 'c', 'b']);
    expect(sortViews(views, 'arrival').map((v) => v.key)).toEqual(['b', 'c', 'a', 'd']);
    expect(sortViews(views, 'co2').map((v) => v.key)).toEqual(['c', 'a', 'd', 'b']);
    // the input is left as it was
    expect(views.map((v) => v.key)).toEqual(['c', 'd', 'b', 'a']);
  });

  it('plots arrival against price in euros, CO2e as the point size within the answer', () => {
    const pts = paretoPoints(sortViews(views, 'price'));
    expect(pts.map((p) => [p.key, p.n, p.y])).toEqual([['a', 1, 1_000], ['d', 2, 1_000], ['c', 3, 2_000], ['b', 4, 3_000]]);
    expect(pts.find((p) => p.key === 'b')!.x).toBe(T0 + 40 * H);
    expect(pts.find((p) => p.key === 'c')!.r).toBe(MIN_R);
    expect(pts.find((p) => p.key === 'b')!.r).toBe(MAX_R);
    const mid = pts.find((p) => p.key === 'a')!.r;
    expect(mid).toBeGreaterThan(MIN_R);
    expect(mid).toBeLessThan(MAX_R);
    expect(paretoPoints([views[0]!])[0]!.r).toBe((MIN_R + MAX_R) / 2);
  });

  /** every tick of an axis, as Chart.js draws them with `min`, `max` and `stepSize` */
  const ticksOf = (a: { min: number; max: number; stepMs: number }) =>
    Array.from({ length: Math.round((a.max - a.min) / a.stepMs) + 1 }, (_, i) => a.min + i * a.stepMs);

  it('pads a zero-width arrival domain (every option arriving at once, or a single option) to round hours either side', () => {
    const at = T0 + 90 * H + 17 * 60_000; // 02:17 UTC, not on a round hour
    for (const xs of [[at], [at, at, at]]) {
      const a = timeAxis(xs)!;
      expect(a.min).toBeLessThanOrEqual(at - SAME_ARRIVAL_PAD_MS);
      expect(a.max).toBeGreaterThanOrEqual(at + SAME_ARRIVAL_PAD_MS);
      // a day or less either side, not the years Chart.js's own ±5 % of the epoch value would give
      expect(a.max - a.min).toBeLessThanOrEqual(2 * 86_400_000);
      expect(a.stepMs % H).toBe(0);
      const ticks = ticksOf(a);
      expect(ticks.length).toBeLessThanOrEqual(5);
      for (const t of ticks) expect(t % a.stepMs).toBe(0);
    }
  });

  it('fits spread arrivals in at most five ticks on round UTC times, the points inside the bounds', () => {
    for (const span of [0.5 * H, 5 * H, 40 * H, 9 * 24 * H, 21 * 24 * H, 90 * 24 * H]) {
      const xs = [T0 + 13 * 60_000, T0 + 13 * 60_000 + span];
      const a = timeAxis(xs)!;
      expect(a.min).toBeLessThan(Math.min(...xs));
      expect(a.max).toBeGreaterThan(Math.max(...xs));
      expect(ticksOf(a).length).toBeLessThanOrEqual(5);
      expect(a.min % a.stepMs).toBe(0);
      expect(a.max % a.stepMs).toBe(0);
    }
    // a five-hour spread steps by whole hours, not by Chart.js's round numbers of milliseconds
    expect(timeAxis([T0, T0 + 5 * H])!.stepMs % H).toBe(0);
    expect(timeAxis([])).toBeNull();
    expect(timeAxis([Number.NaN])).toBeNull();
  });

  it('plots equal prices, equal CO2e and equal arrivals as finite points of the middle size', () => {
    const same = ['p', 'q', 'r'].map((key) => itineraryView(itinerary({ key }), emptyLive(), REQ));
    const pts = paretoPoints(same);
    expect(new Set(pts.map((p) => p.y)).size).toBe(1);
    for (const p of pts) {
      expect(Number.isFinite(p.x) && Number.isFinite(p.y)).toBe(true);
      expect(p.r).toBe((MIN_R + MAX_R) / 2);
    }
    expect(timeAxis(pts.map((p) => p.x))!.max).toBeGreaterThan(pts[0]!.x);
    expect(paretoPoints([])).toEqual([]);
  });
});

describe('client routes: texts', () => {
  it('names the route, the waits, the saving against road and the timeline', () => {
    const it0 = itinerary();
    expect(routeCodes(it0)).toEqual(['GBLHR', 'FRLIL', 'DEDUI', 'ITBLQ']);
    expect(fmtWait(45)).toBe('45m');
    expect(fmtWait(390)).toBe('6h 30m');
    expect(fmtWait(1_560)).toBe('1d 02h');
    expect(fmtWait(-1)).toBe('—');
    expect(savedVsRoad(900, 3_000)).toBe(70);
    expect(savedVsRoad(900, 0)).toBeNull();
    const seg = timelineSegments(it0);
    expect(seg.map((s) => s.kind)).toEqual(['leg', 'wait', 'leg', 'wait', 'leg']);
    expect(seg.reduce((s, x) => s + x.share, 0)).toBeCloseTo(1, 9);
  });
});
