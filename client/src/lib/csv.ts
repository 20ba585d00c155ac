/**
 * CSV export of the dashboard tables.
 *
 * A table that shows an endpoint's rows as they come links to the server's CSV variant of the same
 * request (`?format=csv`: same filters, same rows, flattened, with a header row; the cookie signs the
 * download in). A table the client derives (filtered or pivoted rows) is written here and saved
 * through a Blob: nothing leaves the page.
 */

type Query = Record<string, string | number | undefined | null>;

/** `/api/stats/utilisation?groupBy=corridor&from=…&format=csv` — empty values are left out. */
export function csvUrl(path: string, query: Query = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  }
  qs.set('format', 'csv');
  return `/api${path}?${qs.toString()}`;
}

export type CsvCell = string | number | boolean | null | undefined;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Text that a
 * spreadsheet would run as a formula (=, +, -, @ at the start) gets a leading apostrophe; numbers
 * are written as they are.
 */
export function csvField(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Header row + rows, CRLF line ends (what spreadsheets expect). */
export function toCsv(header: string[], rows: CsvCell[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Saves `text` as a .csv file through a temporary object URL. */
export function downloadCsv(filename: string, text: string) {
  const blob = new Blob(['\uFEFF' + text], { type: 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename.endsWith('.csv') ? filename : `${filename}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
