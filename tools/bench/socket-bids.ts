// Order entry on the live connection (issue 16, part 4): durable accepted bids/s on 16 listings placed with
// `bid:place` over authenticated Socket.IO connections, beside the socket no-op ceiling (`noop`, the same checks,
// no work) measured in the same runs, with the REST figure of the bid phase printed beside it.
import { sql } from 'kysely';
import { io as connect, type Socket } from 'socket.io-client';
import { cpuCell, cpuSnapshot, cpuSplit } from './cpu-split.ts';
import type { BenchStack } from './stack.ts';
import { log, makeListings, median, pct, quiet, r1, type BenchRun } from './measure.ts';

const SOCKETS = 32;
const IN_FLIGHT_PER_SOCKET = 2; // 64 commands in flight, as the REST phases' 64 clients

async function openSockets(s: BenchStack): Promise<Socket[]> {
  const out = await Promise.all(
    Array.from({ length: SOCKETS }, (_, i) =>
      new Promise<Socket>((resolve, reject) => {
        const socket = connect(s.urls[i % s.urls.length], { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: { cookie: s.users[i % s.users.length]!.cookie } });
        const t = setTimeout(() => reject(new Error('socket did not connect in 20 s')), 20_000);
        socket.once('connect', () => (clearTimeout(t), resolve(socket)));
        socket.once('connect_error', (err) => (clearTimeout(t), reject(err)));
      }),
    ),
  );
  return out;
}

/** `total` commands over the sockets, IN_FLIGHT_PER_SOCKET outstanding on each; throughput and latency. */
async function run(sockets: Socket[], total: number, command: string, payload: (i: number) => unknown) {
  let next = 0;
  let ok = 0;
  let refused = 0;
  let errors = 0;
  const lat: number[] = [];
  const split0 = cpuSnapshot();
  const t0 = performance.now();
  await Promise.all(
    sockets.flatMap((socket) =>
      Array.from({ length: IN_FLIGHT_PER_SOCKET }, async () => {
        for (;;) {
          const i = next++;
          if (i >= total) return;
          const s0 = performance.now();
          try {
            const a = (await socket.timeout(30_000).emitWithAck(command, payload(i))) as { status: number };
            if (a.status === 200 || a.status === 201) ok++;
            else if (a.status === 409) refused++;
            else errors++;
          } catch {
            errors++;
          }
          lat.push(performance.now() - s0);
        }
      }),
    ),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuCell(cpuSplit(split0, cpuSnapshot()));
  lat.sort((a, b) => a - b);
  return { requests: total, accepted: ok, refused, errors, 'req/s': Math.round(total / secs), 'accepted/s': Math.round(ok / secs), 'p50 ms': r1(pct(lat, 50)), 'p99 ms': r1(pct(lat, 99)), 'CPU cores': cpu };
}

export async function socketBidsPhase(s: BenchStack, r: BenchRun) {
  const requests = r.quick ? 800 : 3000;
  await quiet('socket bids');
  const listings = await makeListings(s.db, 16, 1_000_000, 'ascending', 'sock');
  const sockets = await openSockets(s);
  try {
    const ceilingRuns = [];
    const runs = [];
    for (let k = 0; k < r.repeats; k++) {
      log(`socket bids ${k + 1}/${r.repeats}: socket no-op ceiling…`);
      ceilingRuns.push(await run(sockets, requests, 'noop', () => ({})));
      log(`socket bids ${k + 1}/${r.repeats}: bid:place on 16 listings…`);
      runs.push(await run(sockets, requests, 'bid:place', (i) => ({ listingId: listings[i % 16]!.listingId, teu: 1, unitPriceCents: 10_000 + ((k * requests + i) % 50) * 100 })));
    }
    const ceiling = median(ceilingRuns, 'req/s');
    const res = median(runs, 'accepted/s');
    const durable = await sql<{ n: number }>`select count(*)::int as n from bids where listing_id in (${sql.join(listings.map((l) => l.listingId))})`.execute(s.db);
    const acknowledged = runs.reduce((t, x) => t + x.accepted, 0);
    const over = await sql<{ n: number }>`
      select coalesce(sum(greatest(0, held_teu + booked_teu - capacity_teu)), 0)::int as n from departures`.execute(s.db);
    const sharePct = Math.round((100 * res['accepted/s']) / Math.max(1, ceiling['req/s']));
    const rest = r.report.bids as { 'accepted/s'?: number; shareOfCeilingPct?: number } | undefined;
    const rows = [
      { path: 'socket no-op ceiling (noop)', ...ceiling, 'share of ceiling %': 100, 'durable / acknowledged (all runs)': '' },
      { path: 'bid:place over sockets', ...res, 'share of ceiling %': sharePct, 'durable / acknowledged (all runs)': `${durable.rows[0]!.n} / ${acknowledged}` },
      ...(rest?.['accepted/s'] !== undefined ? [{ path: 'bids over REST (bid phase, its own ceiling)', 'accepted/s': rest['accepted/s'], 'share of ceiling %': rest.shareOfCeilingPct ?? 0 }] : []),
    ];
    r.report.socketBids = { rows, sharePct, durable: durable.rows[0]!.n, acknowledged };
    console.log(`\nOrder entry on the live connection (${requests} per run, ${SOCKETS} sockets × ${IN_FLIGHT_PER_SOCKET} in flight over 2 servers; median of ${r.repeats} runs, each beside its no-op)`);
    console.table(rows);
    r.targets.push({
      target: 'durable accepted bids/s on 16 listings over sockets ≥ 50 % of the socket no-op ceiling',
      value: `${sharePct} % (${res['accepted/s']}/s of ${ceiling['req/s']}/s; runs ${res.runs})`,
      met: sharePct >= 50,
    });
    r.targets.push({ target: 'socket bids: every acknowledged bid in Postgres, 0 overbooked', value: `${durable.rows[0]!.n}/${acknowledged}, ${over.rows[0]!.n}`, met: durable.rows[0]!.n === acknowledged && over.rows[0]!.n === 0 });
  } finally {
    for (const so of sockets) so.close();
  }
}
