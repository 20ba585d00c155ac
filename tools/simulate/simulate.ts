// npm run simulate [-- --url URL] [--minutes 10] [--rate 3] [--seed N] [--no-water] [--json FILE]
//
// Plays a day of the four demo forwarders' activity against the running app (npm start) through its public
// API: they browse the board, hold capacity and confirm most holds (release the rest), cancel a few bookings
// and bid in running auctions — busier in the morning and before the afternoon cut-offs, quiet at night. The
// day is compressed into --minutes of wall clock (default 10) at up to --rate actions a second (default 3, at
// the busiest hour). It stops by itself after that, or on Ctrl-C (a second Ctrl-C quits at once); either way it
// first confirms or releases the holds it still has, then prints its figures (--json FILE writes them too).
// The URL: --url, else SIMULATE_URL, else the one npm start wrote to .data/run/server.url, else
// http://127.0.0.1:3000. Only the demo logins are used (password cluster-demo). A demo water-level feed (the scheduler
// reports the Kaub gauge every simulated 2 hours through an afternoon low-water dip: the Basel barges are derated
// and restored live) runs beside it unless --no-water.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simulate, type SimulateStats } from './run.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const num = (name: string, fallback: number): number => {
  const v = flag(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    console.error(`simulate: ${name} takes a number, not ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
};

function defaultUrl(): string {
  if (process.env.SIMULATE_URL) return process.env.SIMULATE_URL;
  const file = path.join(ROOT, '.data', 'run', 'server.url');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  return `http://127.0.0.1:${process.env.PORT ?? 3000}`;
}

const url = flag('--url') ?? defaultUrl();
const minutes = num('--minutes', 10);
const rate = num('--rate', 3);
const jsonFile = flag('--json');

const abort = new AbortController();
let signals = 0;
process.on('SIGINT', () => {
  if (++signals > 1) process.exit(130);
  console.log('\nsimulate: stopping — confirming or releasing the holds still open (Ctrl-C again to quit at once)…');
  abort.abort();
});

const fmtHour = (h: number) => `${String(Math.floor(h) % 24).padStart(2, '0')}:${String(Math.floor((h % 1) * 60)).padStart(2, '0')}`;
const line = (s: SimulateStats) =>
  `  ${s.seconds.toFixed(0).padStart(4)} s  day ${fmtHour(s.simulatedHours)}  actions ${s.actions}  holds ${s.holds}  booked ${s.confirmed}  ` +
  `released ${s.released}  cancelled ${s.cancelled}  bids ${s.bids}  water ${s.waterLevels}  offers ${s.offersAccepted}/${s.offersDeclined}  refused ${Object.values(s.refused).reduce((a, b) => a + b, 0)}  errors ${s.errors}`;

console.log(`simulate: a forwarders' day against ${url} in ${minutes} min at up to ${rate} actions/s (Ctrl-C stops cleanly)`);
try {
  const water = args.includes('--no-water') ? {} : { water: {} };
  const stats = await simulate({ url, minutes, rate, seed: num('--seed', 11), ...water }, abort.signal, (s) => console.log(line(s)));
  console.log(line(stats));
  console.table({
    actions: stats.actions, browsed: stats.browsed, holds: stats.holds, confirmed: stats.confirmed, released: stats.released,
    cancelled: stats.cancelled, bids: stats.bids, 'water levels': stats.waterLevels, 'offers accepted': stats.offersAccepted, 'offers declined': stats.offersDeclined, ...Object.fromEntries(Object.entries(stats.refused).map(([k, v]) => [`refused: ${k}`, v])),
    errors: stats.errors, seconds: Math.round(stats.seconds), 'simulated hours': Math.round(stats.simulatedHours * 10) / 10, 'stopped by': stats.stoppedBy,
  });
  if (stats.lastError) console.log(`last error: ${stats.lastError}`);
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ url, minutes, rate, ...stats }, null, 2));
  process.exitCode = stats.errors > 0 && stats.confirmed === 0 ? 1 : 0;
} catch (err) {
  const msg = err instanceof Error ? err.message : String(err);
  console.error(`simulate: ${msg}`);
  if (/fetch failed|ECONNREFUSED/i.test(msg) || (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') {
    console.error(`simulate: nothing answers at ${url} — is the app running (npm start)? Or pass --url.`);
  }
  process.exitCode = 1;
}
