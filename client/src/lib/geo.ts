/**
 * Geometry of the network map (components/stats/NetworkMap.svelte): an equal-area azimuthal projection of
 * Europe fitted to the clusters, the corridors' curved lanes, and the country outlines.
 *
 * The outlines come from `world-atlas` (Natural Earth 1:110m, TopoJSON), imported as a module so Vite
 * bundles them into a lazily loaded chunk of this origin: the map makes no request to another host and
 * loads no tiles. 1:110m (~105 kB) rather than 1:50m (~750 kB): the map shows half a continent in a few
 * hundred pixels, where the finer coastline would cost seven times the bytes for nothing visible.
 *
 * Everything here except `loadCountries` is pure (no DOM, no state), tested in test/unit/geo.test.ts.
 */
import { geoAzimuthalEqualArea, geoPath, type GeoProjection } from 'd3-geo';
import type { Feature, FeatureCollection, Geometry, MultiLineString } from 'geojson';
import { feature, mesh } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';

export interface LatLon {
  lat: number;
  lon: number;
}
export type Point = [x: number, y: number];

/** Size of the map's coordinate system (the SVG viewBox); the SVG scales to its container. */
export const MAP_WIDTH = 800;
export const MAP_HEIGHT = 600;

export interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}
/** Room around the clusters: labels sit to the right of the dots, so the right margin is wider. */
export const MAP_MARGIN: Margin = { top: 40, right: 90, bottom: 40, left: 50 };

/** Smallest span (degrees) the map shows, so one cluster, or two close ones, are not blown up to a street map. */
const MIN_SPAN_DEG = 4;

/**
 * Lambert azimuthal equal-area (the projection of EPSG:3035, "ETRS89-LAEA Europe") centred on the clusters'
 * bounding box and fitted to it, inside `margin`, in a `width` × `height` box; clipped to that box.
 */
export function fitProjection(points: LatLon[], width = MAP_WIDTH, height = MAP_HEIGHT, margin: Margin = MAP_MARGIN): GeoProjection {
  const ok = points.filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
  // Without clusters: central Europe (the demo network's area).
  const lons = ok.length ? ok.map((p) => p.lon) : [-1, 12];
  const lats = ok.length ? ok.map((p) => p.lat) : [41, 53];
  let [w, e] = [Math.min(...lons), Math.max(...lons)];
  let [s, n] = [Math.min(...lats), Math.max(...lats)];
  if (e - w < MIN_SPAN_DEG) [w, e] = [(w + e) / 2 - MIN_SPAN_DEG / 2, (w + e) / 2 + MIN_SPAN_DEG / 2];
  if (n - s < MIN_SPAN_DEG) [s, n] = [(s + n) / 2 - MIN_SPAN_DEG / 2, (s + n) / 2 + MIN_SPAN_DEG / 2];
  const centre: [number, number] = [(w + e) / 2, (s + n) / 2];
  // The box's corners and edge midpoints: the fitted frame holds the whole (curved) box, not only the points.
  const frame: [number, number][] = [
    [w, s], [centre[0], s], [e, s], [e, centre[1]], [e, n], [centre[0], n], [w, n], [w, centre[1]],
    ...ok.map((p): [number, number] => [p.lon, p.lat]),
  ];
  return geoAzimuthalEqualArea()
    .rotate([-centre[0], -centre[1]])
    .fitExtent(
      [
        [margin.left, margin.top],
        [width - margin.right, height - margin.bottom],
      ],
      { type: 'MultiPoint', coordinates: frame },
    )
    .clipExtent([
      [0, 0],
      [width, height],
    ]);
}

/**
 * Height of the map for `width`: the clusters' projected extent decides the aspect (a north–south network
 * gets a taller map, an east–west one a flatter one), within `min`…`max`.
 */
export function mapHeight(points: LatLon[], width = MAP_WIDTH, margin: Margin = MAP_MARGIN, min = 420, max = 760): number {
  const probe = fitProjection(points, width, width * 4, margin);
  const xy = points.map((p) => project(probe, p)).filter((p): p is Point => p !== null);
  if (xy.length < 2) return Math.round((min + max) / 2);
  const w = Math.max(...xy.map((p) => p[0])) - Math.min(...xy.map((p) => p[0]));
  const h = Math.max(...xy.map((p) => p[1])) - Math.min(...xy.map((p) => p[1]));
  const inner = width - margin.left - margin.right;
  const ideal = (w > 0 ? (h / w) * inner : max) + margin.top + margin.bottom;
  return Math.round(Math.max(min, Math.min(max, ideal)));
}

/** Projected position of a point (null when the projection cannot place it). */
export function project(projection: GeoProjection, p: LatLon): Point | null {
  const xy = projection([p.lon, p.lat]);
  return xy && Number.isFinite(xy[0]) && Number.isFinite(xy[1]) ? [xy[0], xy[1]] : null;
}

/** How far (px) a corridor's curve bows out from the straight line: rail hugs it, barge bows further. */
export function laneBend(mode: 'rail' | 'barge', lengthPx: number): number {
  const base = mode === 'rail' ? 9 : 20;
  return Math.min(base, lengthPx * (mode === 'rail' ? 0.12 : 0.26));
}

export interface Lane {
  /** SVG path (quadratic curve) from a to b. */
  d: string;
  /** The curve's midpoint (t = ½). */
  mid: Point;
  /** Direction of travel at the midpoint, in degrees (SVG rotate()). */
  angle: number;
}

/**
 * A corridor from `a` to `b` drawn as a curve bowed `bend` px to the right of the direction of travel.
 * The two directions of a pair therefore lie on opposite sides of the straight line, and a larger bend
 * (barge) lies outside a smaller one (rail), so all four corridors of a pair stay visible.
 */
export function lane(a: Point, b: Point, bend: number): Lane {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = Math.hypot(dx, dy) || 1;
  // right-hand normal in screen coordinates (y grows downwards)
  const nx = -dy / len;
  const ny = dx / len;
  // the midpoint of a quadratic curve lies halfway between the chord's midpoint and the control point
  const mx = (a[0] + b[0]) / 2;
  const my = (a[1] + b[1]) / 2;
  const cx = mx + nx * bend * 2;
  const cy = my + ny * bend * 2;
  const r = (v: number) => Math.round(v * 10) / 10;
  return {
    d: `M${r(a[0])},${r(a[1])}Q${r(cx)},${r(cy)} ${r(b[0])},${r(b[1])}`,
    mid: [mx + nx * bend, my + ny * bend],
    angle: (Math.atan2(dy, dx) * 180) / Math.PI,
  };
}

/** Stroke width of a corridor: area-like (square root) scale of its capacity between `min` and `max` px. */
export function strokeWidth(capacityTeu: number, maxCapacityTeu: number, min = 2, max = 8): number {
  if (!(maxCapacityTeu > 0) || !(capacityTeu > 0)) return min;
  return min + (max - min) * Math.sqrt(Math.min(1, capacityTeu / maxCapacityTeu));
}

/** "72 %", "–" without a figure. */
export function fmtLoad(loadFactor: number | null | undefined): string {
  return loadFactor === null || loadFactor === undefined || !Number.isFinite(loadFactor) ? '–' : `${Math.round(loadFactor * 100)} %`;
}

const teu = new Intl.NumberFormat('en-GB');

/** Accessible name of a corridor: "DEDUI → ITBLQ rail, 72 % loaded, 130 of 180 TEU". */
export function corridorLabel(c: { fromCode: string; toCode: string; mode: string; loadFactor: number | null; bookedTeu: number; capacityTeu: number }): string {
  const load = c.loadFactor === null || !Number.isFinite(c.loadFactor) ? 'no departures' : `${fmtLoad(c.loadFactor)} loaded`;
  return `${c.fromCode} → ${c.toCode} ${c.mode}, ${load}, ${teu.format(c.bookedTeu)} of ${teu.format(c.capacityTeu)} TEU`;
}

export interface Countries {
  land: FeatureCollection<Geometry>;
  borders: MultiLineString;
}

type CountriesTopology = Topology<{ countries: GeometryCollection; land: GeometryCollection }>;

/** Country polygons and the borders between them (a mesh: each shared border drawn once). */
export function countriesOf(topology: CountriesTopology): Countries {
  const land = feature(topology, topology.objects.countries) as FeatureCollection<Geometry> | Feature<Geometry>;
  return {
    land: land.type === 'FeatureCollection' ? land : { type: 'FeatureCollection', features: [land] },
    borders: mesh(topology, topology.objects.countries, (a, b) => a !== b),
  };
}

let countries: Promise<Countries> | null = null;

/** The country outlines, from the bundled world-atlas chunk (loaded once). */
export function loadCountries(): Promise<Countries> {
  countries ??= import('world-atlas/countries-110m.json', { with: { type: 'json' } }).then((m) => countriesOf(m.default as unknown as CountriesTopology));
  // a failed load (e.g. offline after a deploy) may be retried by the next map
  void countries.catch(() => {
    countries = null;
  });
  return countries;
}

/** SVG path data of GeoJSON under a projection ('' when nothing is visible). */
export function pathOf(projection: GeoProjection, object: Parameters<ReturnType<typeof geoPath>>[0]): string {
  return geoPath(projection)(object) ?? '';
}
