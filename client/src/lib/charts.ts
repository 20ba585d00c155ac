/**
 * Shared pieces of the dashboard charts (components/stats): Chart.js, registered with only the parts the
 * line and bar charts use (tree-shaken: no `chart.js/auto`), the colour scales and the formatters.
 *
 * Colours. Series: a colour-blind-safe qualitative palette (Okabe–Ito and Paul Tol hues, the light ones
 * darkened) whose every colour has ≥ 3:1 contrast on the white card (WCAG 1.4.11, graphical objects); lines
 * also differ by dash and point shape, so colour is never the only cue. Load factor: viridis (perceptually
 * uniform, readable with every common colour-vision deficiency), light = empty to dark = full; text on a
 * coloured cell is the page's text colour, white or black, whichever reaches 4.5:1 (one always does).
 * The pure parts are tested in test/unit/geo.test.ts.
 */
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
} from 'chart.js';
import type { ChartConfiguration, ChartDataset, ChartOptions, ChartType } from 'chart.js';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);
Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
Chart.defaults.font.size = 12;
Chart.defaults.color = '#4b5563';
Chart.defaults.borderColor = '#e5e7eb';
Chart.defaults.animation = false;

export { Chart };

/** The page's text colour (app.css --text) and the card background. */
export const TEXT = '#1b1f24';
export const SURFACE = '#ffffff';

/** Series colours, in order; each ≥ 3:1 against white. */
export const SERIES_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#AA3377', '#332288', '#CC79A7'] as const;
/** Second cue for line series besides colour. */
export const SERIES_DASHES: number[][] = [[], [6, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 2]];
export const SERIES_POINTS = ['circle', 'rect', 'triangle', 'rectRot', 'crossRot', 'star'] as const;

export function seriesColour(i: number): string {
  return SERIES_COLOURS[i % SERIES_COLOURS.length] ?? TEXT;
}

/** Viridis, sampled at ten evenly spaced points, from 0 (dark) to 1 (light). */
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];
/** Load factor 0 → 1 runs viridis backwards: an empty corridor is light, a full one dark. */
export const LOAD_STOPS: readonly string[] = [...VIRIDIS].reverse();
/** Background of a cell / line without a figure (no departure). */
export const NO_DATA = '#eceef1';

function rgb(hex: string): [number, number, number] {
  const h = hex.replace('#', '');
  const full = h.length === 3 ? [...h].map((c) => c + c).join('') : h;
  return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16)) as [number, number, number];
}

function hex([r, g, b]: [number, number, number]): string {
  return '#' + [r, g, b].map((v) => Math.round(Math.max(0, Math.min(255, v))).toString(16).padStart(2, '0')).join('');
}

/** WCAG relative luminance of a #rrggbb colour. */
export function luminance(colour: string): number {
  const [r, g, b] = rgb(colour).map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio of two colours (1 … 21). */
export function contrast(a: string, b: string): number {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/**
 * The text colour for a background: the page's text colour or white when either reaches 4.5:1, else black
 * (between them, black and white always reach 4.58:1).
 */
export function textOn(background: string): string {
  if (contrast(TEXT, background) >= 4.5) return TEXT;
  if (contrast('#ffffff', background) >= 4.5) return '#ffffff';
  return '#000000';
}

/** Colour of a load factor (0..1, clamped); NO_DATA for null. */
export function loadColour(loadFactor: number | null | undefined): string {
  if (loadFactor === null || loadFactor === undefined || !Number.isFinite(loadFactor)) return NO_DATA;
  const t = Math.max(0, Math.min(1, loadFactor)) * (LOAD_STOPS.length - 1);
  const i = Math.min(LOAD_STOPS.length - 2, Math.floor(t));
  const f = t - i;
  const a = rgb(LOAD_STOPS[i] ?? NO_DATA);
  const b = rgb(LOAD_STOPS[i + 1] ?? NO_DATA);
  return hex([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f]);
}

/** CSS gradient of the load-factor scale, for legends. */
export function loadGradient(direction = 'to right'): string {
  return `linear-gradient(${direction}, ${LOAD_STOPS.map((c, i) => `${c} ${Math.round((i / (LOAD_STOPS.length - 1)) * 100)}%`).join(', ')})`;
}

const num = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 1 });

/** Default value format of the charts: "1,234.5", "—" without a value. */
export function fmtValue(v: number | null | undefined, format?: (v: number) => string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return format ? format(v) : num.format(v);
}

export interface SummarySeries {
  label: string;
  data: (number | null)[];
  unit?: string;
}

/**
 * One-sentence summary of a chart for its canvas' aria-label: what is plotted over which range, and per
 * series its latest value and its range ("Booked TEU: latest 130 TEU, 40 to 180 TEU"). The full figures
 * are in the chart's data table.
 */
export function summarise(title: string, labels: string[], series: SummarySeries[], format?: (v: number) => string): string {
  if (!labels.length || !series.length) return `${title}: no data.`;
  const span = labels.length === 1 ? labels[0] : `${labels[0]} to ${labels[labels.length - 1]}`;
  const parts = series.map((s) => {
    const vals = s.data.filter((v): v is number => v !== null && Number.isFinite(v));
    // a custom format writes the whole value ("62 %"); the unit only follows plain numbers
    const unit = s.unit && !format ? ` ${s.unit}` : '';
    if (!vals.length) return `${s.label}: no values`;
    let last: number | null = null;
    for (let i = s.data.length - 1; i >= 0 && last === null; i--) {
      const v = s.data[i];
      if (v !== null && v !== undefined && Number.isFinite(v)) last = v;
    }
    const f = (v: number) => fmtValue(v, format) + unit;
    return `${s.label}: latest ${f(last!)}, ${f(Math.min(...vals))} to ${f(Math.max(...vals))}`;
  });
  return `${title}, ${span}. ${parts.join('; ')}.`;
}

/**
 * A component's chart through its life: `create` (in an `$effect`, untracked) makes it on the canvas and
 * returns the teardown that destroys it; `update` puts new labels and datasets into the live one (and lets
 * `configure` adjust its options, say an axis' bounds) and redraws it without animation: datasets are
 * changed in place while their number stays the same (Chart.js keeps its state), replaced otherwise, and
 * the legend shows only for more than one series.
 */
export class LiveChart<T extends ChartType, D, L> {
  #chart: Chart<T, D, L> | null = null;

  create(canvas: HTMLCanvasElement, config: ChartConfiguration<T, D, L>): () => void {
    const c = new Chart<T, D, L>(canvas, config);
    this.#chart = c;
    return () => {
      c.destroy();
      if (this.#chart === c) this.#chart = null;
    };
  }

  update(labels: L[], datasets: ChartDataset<T, D>[], configure?: (options: ChartOptions<T>) => void): void {
    const c = this.#chart;
    if (!c) return;
    configure?.(c.options);
    c.data.labels = labels;
    if (c.data.datasets.length === datasets.length) {
      c.data.datasets.forEach((d, i) => Object.assign(d, datasets[i]));
    } else {
      c.data.datasets = datasets;
    }
    // the options of a generic chart type do not resolve in TypeScript; every chart here has a legend
    (c as unknown as Chart).options.plugins!.legend!.display = datasets.length > 1;
    c.update('none');
  }
}
