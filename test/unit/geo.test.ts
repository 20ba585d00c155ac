import { geoContains } from 'd3-geo';
import { describe, expect, it } from 'vitest';
import { contrast, loadColour, luminance, NO_DATA, SERIES_COLOURS, summarise, SURFACE, TEXT, textOn } from '../../client/src/lib/charts.ts';
import {
  corridorLabel, fitProjection, fmtLoad, lane, laneBend, loadCountries, MAP_HEIGHT, MAP_MARGIN, MAP_WIDTH, mapHeight, pathOf, project, strokeWidth, type Point,
} from '../../client/src/lib/geo.ts';
import { clusters } from '../../server/seed/network.ts';

const byCode = (code: string) => clusters.find((c) => c.code === code)!;

describe('network map: projection', () => {
  const projection = fitProjection(clusters);
  const xy = clusters.map((c) => project(projection, c)!);

  it('places every cluster inside the map, within the margins', () => {
    for (const [x, y] of xy) {
      expect(x).toBeGreaterThanOrEqual(MAP_MARGIN.left - 0.5);
      expect(x).toBeLessThanOrEqual(MAP_WIDTH - MAP_MARGIN.right + 0.5);
      expect(y).toBeGreaterThanOrEqual(MAP_MARGIN.top - 0.5);
      expect(y).toBeLessThanOrEqual(MAP_HEIGHT - MAP_MARGIN.bottom + 0.5);
    }
  });

  it('fills the map (fitted, not a speck in the middle)', () => {
    const xs = xy.map((p) => p[0]);
    const ys = xy.map((p) => p[1]);
    const wFill = (Math.max(...xs) - Math.min(...xs)) / (MAP_WIDTH - MAP_MARGIN.left - MAP_MARGIN.right);
    const hFill = (Math.max(...ys) - Math.min(...ys)) / (MAP_HEIGHT - MAP_MARGIN.top - MAP_MARGIN.bottom);
    expect(Math.max(wFill, hFill)).toBeGreaterThan(0.85);
  });

  it('keeps north up and east right', () => {
    const p = (code: string) => project(projection, byCode(code))!;
    expect(p('ESZAZ')[1]).toBeGreaterThan(p('DEDUI')[1]); // Zaragoza is south of Duisburg
    expect(p('ITBLQ')[0]).toBeGreaterThan(p('ESZAZ')[0]); // Bologna is east of Zaragoza
    expect(p('GBLHR')[0]).toBeLessThan(p('NLRTM')[0]); // Heathrow is west of Rotterdam
  });

  it('sizes the map to the network: a north–south network gets a taller map than an east–west one', () => {
    const tall = mapHeight(clusters);
    const wide = mapHeight([byCode('GBLHR'), byCode('DEDUI'), { lat: 52.2, lon: 21 }]);
    expect(tall).toBeGreaterThan(wide);
    for (const h of [tall, wide, mapHeight([]), mapHeight([byCode('DEDUI')])]) {
      expect(h).toBeGreaterThanOrEqual(420);
      expect(h).toBeLessThanOrEqual(760);
    }
    const projection = fitProjection(clusters, MAP_WIDTH, tall);
    for (const c of clusters) {
      const [x, y] = project(projection, c)!;
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(MAP_WIDTH);
      expect(y).toBeGreaterThanOrEqual(MAP_MARGIN.top - 0.5);
      expect(y).toBeLessThanOrEqual(tall - MAP_MARGIN.bottom + 0.5);
    }
  });

  it('copes with a single cluster and with none (finite positions, no zero-size fit)', () => {
    const one = fitProjection([byCode('DEDUI')]);
    const [x, y] = project(one, byCode('DEDUI'))!;
    expect(Number.isFinite(x) && Number.isFinite(y)).toBe(true);
    expect(Math.abs(x - MAP_WIDTH / 2)).toBeLessThan(MAP_WIDTH / 2);
    // 4° around one point: Basel (≈ 500 km away) is off the fitted frame but still finite
    expect(project(one, byCode('CHBSL'))).not.toBeNull();
    const none = fitProjection([]);
    expect(Number.isFinite(none.scale())).toBe(true);
  });
});

describe('network map: corridor lanes', () => {
  const a: Point = [100, 300];
  const b: Point = [400, 300];
  const side = (p: Point) => Math.sign(p[1] - 300); // which side of the chord a → b
  const off = (p: Point) => Math.abs(p[1] - 300);

  it('puts the two directions of a pair on opposite sides, barge outside rail', () => {
    const railAB = lane(a, b, laneBend('rail', 300));
    const railBA = lane(b, a, laneBend('rail', 300));
    const bargeAB = lane(a, b, laneBend('barge', 300));
    const bargeBA = lane(b, a, laneBend('barge', 300));
    expect(side(railAB.mid)).toBe(-side(railBA.mid));
    expect(side(bargeAB.mid)).toBe(side(railAB.mid));
    expect(off(bargeAB.mid)).toBeGreaterThan(off(railAB.mid) + 4);
    expect(off(bargeBA.mid)).toBeGreaterThan(off(railBA.mid) + 4);
    expect(off(railAB.mid)).toBeGreaterThan(2);
    // the arrow points along the direction of travel
    expect(railAB.angle).toBeCloseTo(0);
    expect(Math.abs(railBA.angle)).toBeCloseTo(180);
  });

  it('keeps to the right of the direction of travel (screen y grows downwards)', () => {
    // travelling east, the right-hand side is south: larger y
    expect(lane(a, b, 10).mid[1]).toBeCloseTo(310);
    expect(lane(b, a, 10).mid[1]).toBeCloseTo(290);
  });

  it('bends less on a short corridor (Rotterdam – Antwerp) than it is long', () => {
    expect(laneBend('barge', 40)).toBeLessThan(40 / 3);
    expect(laneBend('rail', 40)).toBeLessThan(laneBend('barge', 40));
  });

  it('scales the stroke width with capacity, within bounds', () => {
    expect(strokeWidth(0, 400)).toBe(2);
    expect(strokeWidth(400, 400)).toBe(8);
    expect(strokeWidth(100, 400)).toBeGreaterThan(strokeWidth(50, 400));
    expect(strokeWidth(100, 0)).toBe(2);
  });
});

describe('network map: words', () => {
  it('names a corridor with its figures', () => {
    expect(corridorLabel({ fromCode: 'DEDUI', toCode: 'ITBLQ', mode: 'rail', loadFactor: 130 / 180, bookedTeu: 130, capacityTeu: 180 })).toBe(
      'DEDUI → ITBLQ rail, 72 % loaded, 130 of 180 TEU',
    );
    expect(corridorLabel({ fromCode: 'NLRTM', toCode: 'BEANR', mode: 'barge', loadFactor: null, bookedTeu: 0, capacityTeu: 0 })).toBe(
      'NLRTM → BEANR barge, no departures, 0 of 0 TEU',
    );
    expect(corridorLabel({ fromCode: 'DEDUI', toCode: 'CHBSL', mode: 'barge', loadFactor: 0.5, bookedTeu: 1200, capacityTeu: 2400 })).toBe(
      'DEDUI → CHBSL barge, 50 % loaded, 1,200 of 2,400 TEU',
    );
    expect(fmtLoad(0.624)).toBe('62 %');
    expect(fmtLoad(null)).toBe('–');
  });
});

describe('network map: bundled country outlines', () => {
  it('loads Natural Earth countries from the package (no network) and they sit under the clusters', async () => {
    const { land, borders } = await loadCountries();
    expect(land.features.length).toBeGreaterThan(150);
    const germany = land.features.find((f) => String(f.id) === '276')!;
    expect(germany).toBeDefined();
    expect(geoContains(germany, [byCode('DEDUI').lon, byCode('DEDUI').lat])).toBe(true);
    expect(geoContains(germany, [byCode('ITBLQ').lon, byCode('ITBLQ').lat])).toBe(false);
    const projection = fitProjection(clusters);
    expect(pathOf(projection, land).length).toBeGreaterThan(1000);
    expect(pathOf(projection, borders).length).toBeGreaterThan(100);
  });
});

// --- colour --------------------------------------------------------------------------------------------

/** sRGB hex → linear RGB. */
function linear(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
}

/** Machado, Oliveira & Fernandes (2009) simulation matrices, severity 1, on linear RGB. */
const CVD: Record<string, number[][]> = {
  normal: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]],
  tritanopia: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.3039]],
};

/** CIELAB (D65) of a linear RGB colour after a CVD simulation. */
function lab(hex: string, m: number[][]): [number, number, number] {
  const c = linear(hex);
  const s = m.map((row) => Math.min(1, Math.max(0, row[0]! * c[0] + row[1]! * c[1] + row[2]! * c[2])));
  const [r, g, b] = s as [number, number, number];
  const X = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const Y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const Z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  return [116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))];
}
const deltaE = (p: [number, number, number], q: [number, number, number]) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);

describe('colours', () => {
  it('every series colour has ≥ 3:1 contrast against the card (graphical objects, WCAG 1.4.11)', () => {
    for (const c of SERIES_COLOURS) expect(contrast(c, SURFACE), c).toBeGreaterThanOrEqual(3);
  });

  it('series colours stay apart for normal vision and the three dichromacies (ΔE ≥ 12)', () => {
    for (const [vision, m] of Object.entries(CVD)) {
      for (let i = 0; i < SERIES_COLOURS.length; i++) {
        for (let j = i + 1; j < SERIES_COLOURS.length; j++) {
          const d = deltaE(lab(SERIES_COLOURS[i]!, m), lab(SERIES_COLOURS[j]!, m));
          expect(d, `${vision}: ${SERIES_COLOURS[i]} vs ${SERIES_COLOURS[j]}`).toBeGreaterThanOrEqual(12);
        }
      }
    }
  });

  it('the load scale gets darker as the load grows, for every kind of colour vision', () => {
    for (const m of Object.values(CVD)) {
      let previous = Infinity;
      for (let i = 0; i <= 20; i++) {
        const L = lab(loadColour(i / 20), m)[0];
        expect(L).toBeLessThan(previous);
        previous = L;
      }
    }
    expect(luminance(loadColour(0)) / luminance(loadColour(1))).toBeGreaterThan(10);
    expect(loadColour(-1)).toBe(loadColour(0));
    expect(loadColour(1.4)).toBe(loadColour(1));
    expect(loadColour(null)).toBe(NO_DATA);
  });

  it('text on any load colour has ≥ 4.5:1 contrast (and the no-data cell too)', () => {
    for (let i = 0; i <= 100; i++) {
      const bg = loadColour(i / 100);
      expect(contrast(textOn(bg), bg), `${i} %: ${bg}`).toBeGreaterThanOrEqual(4.5);
    }
    expect(textOn('#ffffff')).toBe(TEXT);
    expect(textOn('#440154')).toBe('#ffffff');
    expect(contrast('#4b5563', NO_DATA)).toBeGreaterThanOrEqual(4.5);
  });
});

describe('chart summary (canvas aria-label)', () => {
  it('says the range and, per series, the latest value and the extremes, skipping gaps', () => {
    const s = summarise('Booked TEU per day', ['01 Mar', '02 Mar', '03 Mar'], [{ label: 'Booked', data: [40, 180, null], unit: 'TEU' }]);
    expect(s).toBe('Booked TEU per day, 01 Mar to 03 Mar. Booked: latest 180 TEU, 40 TEU to 180 TEU.');
    expect(summarise('Load', ['a'], [{ label: 'x', data: [0.5] }], (v) => `${Math.round(v * 100)} %`)).toBe('Load, a. x: latest 50 %, 50 % to 50 %.');
    expect(summarise('Empty', [], [])).toBe('Empty: no data.');
    expect(summarise('Gaps', ['a', 'b'], [{ label: 'x', data: [null, null] }])).toBe('Gaps, a to b. x: no values.');
  });
});
