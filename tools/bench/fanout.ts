// Live fan-out: Socket.IO clients (in child processes, tools/bench/fanout-child.mjs) subscribed to one
// corridor against a bare `ws` reference server; then the hold accept latency while thousands watch the
// corridor against none.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { freePort, ROOT, sleep } from '../../scripts/lib/procs.mjs';
import type { BenchStack } from './stack.ts';
import { load, log, makeListings, pct, quiet, r1, type BenchRun } from './measure.ts';

const CHILD = path.join(ROOT, 'tools/bench/fanout-child.mjs');

const fanoutSizes = (r: BenchRun) => (r.quick ? [200, 500] : [1000, 5000]);

function clients(s: BenchStack, kind: 'socketio' | 'ws', url: string, n: number, cookie: string, corridorId: string): ChildProcess {
  return s.track(fork(CHILD, [kind, url, String(n), cookie, corridorId], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
}

/** Fan-out: `n` clients in child processes subscribed to one corridor; `events` availability changes. */
async function fanout(s: BenchStack, kind: 'socketio' | 'ws', n: number, events: number, url: string, cookie: string, corridorId: string, trigger: (i: number) => Promise<void>) {
  const procs = Math.max(1, Math.min(8, Math.ceil(n / 700)));
  const per = Math.ceil(n / procs);
  const kids = Array.from({ length: procs }, (_, k) => clients(s, kind, url, k === procs - 1 ? n - per * (procs - 1) : per, cookie, corridorId));
  await Promise.all(
    kids.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          const errors = new Map<string, number>();
          const t = setTimeout(
            () => reject(new Error(`fan-out clients did not connect in 120 s${errors.size ? ` (${[...errors].map(([e, n]) => `${n} × ${e}`).join(', ')})` : ''}`)),
            120_000,
          );
          c.on('message', (m: { ready?: boolean; error?: string }) => {
            if (m.error) errors.set(m.error, (errors.get(m.error) ?? 0) + 1);
            if (m.ready) {
              clearTimeout(t);
              resolve();
            }
          });
        }),
    ),
  );
  for (const c of kids) c.send('start');
  const t0 = performance.now();
  for (let i = 0; i < events; i++) {
    await trigger(i);
    await sleep(250); // spaced beyond the 100 ms coalescing window: every change is delivered
  }
  await sleep(1500);
  const secs = (performance.now() - t0) / 1000;
  const lat: number[] = [];
  let clientCpuUs = 0;
  await Promise.all(
    kids.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.on('message', (m: { done?: boolean; lat?: number[]; cpuUs?: number }) => {
            if (m.done) {
              lat.push(...(m.lat ?? []));
              clientCpuUs += m.cpuUs ?? 0;
              resolve();
            }
          });
          c.send('finish');
        }),
    ),
  );
  lat.sort((a, b) => a - b);
  return { clients: n, path: kind, expected: n * events, delivered: lat.length, 'p50 ms': r1(pct(lat, 50)), 'p99 ms': r1(pct(lat, 99)), 'deliveries/s': Math.round(lat.length / secs), 'client CPU µs/delivery': r1(clientCpuUs / Math.max(1, lat.length)) };
}

/** The fan-out table (with `withFanout`; without, only the hot listing); returns its corridor, watched by acceptLatencyPhase. */
export async function fanoutPhase(s: BenchStack, r: BenchRun, withFanout: boolean): Promise<string> {
  const events = r.quick ? 10 : 20;
  const { db, urls, users } = s;
  const hot = await makeListings(db, 1, 1_000_000, 'fixed', 'fan', 'DEDUI-NLRTM-rail');
  const rows = [];
  // bare ws reference server: broadcasts a stamped message to every client
  const wsHttp = createServer();
  const wss = new WebSocketServer({ server: wsHttp });
  const wsPort = await freePort();
  await new Promise<void>((res) => wsHttp.listen(wsPort, '127.0.0.1', () => res()));
  for (const n of withFanout ? fanoutSizes(r) : []) {
    await quiet(`fan-out ${n}`);
    log(`fan-out: ${n} Socket.IO clients…`);
    let k = 0;
    rows.push(
      await fanout(s, 'socketio', n, events, urls[0]!, users[0]!.cookie, hot[0]!.corridorId, async () => {
        const u = users[k++ % users.length]!;
        await fetch(`${urls[k % 2]}/api/holds`, {
          method: 'POST', headers: { 'content-type': 'application/json', cookie: u.cookie, 'x-csrf-token': u.csrf },
          body: JSON.stringify({ listingId: hot[0]!.listingId, teu: 1, tonnes: 1 }),
        });
      }),
    );
    log(`fan-out: ${n} bare ws clients…`);
    rows.push(
      await fanout(s, 'ws', n, events, `ws://127.0.0.1:${wsPort}`, '', '', () => {
        const msg = JSON.stringify({ departureId: 'x', seq: 1, freeTeu: 1, freeTonnes: 1, at: Date.now() });
        for (const c of wss.clients) c.send(msg);
        return Promise.resolve();
      }),
    );
  }
  wss.close();
  wsHttp.close();
  if (rows.length) {
    r.report.fanout = rows;
    console.log(`\nLive fan-out (${events} availability changes, clients in child processes; ws = bare reference)`);
    console.table(rows);
    const big = fanoutSizes(r).at(-1)!;
    const sio = rows.find((x) => x.path === 'socketio' && x.clients === big)!;
    const ws = rows.find((x) => x.path === 'ws' && x.clients === big)!;
    r.targets.push({ target: `fan-out p99 ≤ 150 ms at ${big} clients`, value: `${sio['p99 ms']} ms`, met: sio['p99 ms'] <= 150 });
    r.targets.push({ target: 'fan-out p99 ≤ 1.5× bare ws p99', value: `${r1(sio['p99 ms'] / Math.max(0.1, ws['p99 ms']))}×`, met: sio['p99 ms'] <= 1.5 * ws['p99 ms'] });
    r.targets.push({ target: 'every change delivered to every client', value: `${sio.delivered}/${sio.expected}`, met: sio.delivered === sio.expected });
  }
  return hot[0]!.corridorId;
}

/** Hold accept latency while the largest fan-out size of clients watch `corridorId`, against none. */
export async function acceptLatencyPhase(s: BenchStack, r: BenchRun, corridorId: string) {
  const { urls, users } = s;
  const n = fanoutSizes(r).at(-1)!;
  const holdsOn = async (tag: string) => {
    const l = await makeListings(s.db, 4, 100_000, 'fixed', tag, 'DEDUI-NLRTM-rail');
    return load(urls, users, r.quick ? 400 : 3000, (i) => ({ path: '/api/holds', body: { listingId: l[i % 4]!.listingId, teu: 1, tonnes: 1 } }));
  };
  await quiet('accept latency');
  log('accept latency: unwatched…');
  const unwatched = await holdsOn('w0');
  log(`accept latency: ${n} watchers…`);
  const procs = Math.ceil(n / 700);
  const kids = Array.from({ length: procs }, (_, k) => {
    const c = clients(s, 'socketio', urls[k % 2]!, Math.ceil(n / procs), users[0]!.cookie, corridorId);
    // The watchers stand for browsers on other machines: at nice 19 their own CPU does not count against the
    // servers (the fan-out table above runs its clients at normal priority). --watchers-normal to compare.
    if (!r.watchersNormal && c.pid) os.setPriority(c.pid, 19);
    return c;
  });
  await Promise.all(kids.map((c) => new Promise<void>((res) => c.on('message', (m: { ready?: boolean }) => m.ready && res()))));
  const tw = performance.now();
  const watched = await holdsOn('w1');
  const watchSecs = (performance.now() - tw) / 1000;
  const got = await Promise.all(
    kids.map((c) => new Promise<number>((resolve) => {
      c.on('message', (m: { done?: boolean; lat?: number[] }) => m.done && resolve(m.lat?.length ?? 0));
      c.send('finish');
    })),
  );
  const watcherDeliveries = got.reduce((a, b) => a + b, 0);
  await sleep(500);
  const ratio = watched['p99 ms'] / Math.max(0.1, unwatched['p99 ms']);
  const perSocket = r1(watcherDeliveries / n / watchSecs);
  r.report.watched = { unwatched, watched, ratio: r1(ratio), watcherDeliveries, updatesPerWatcherPerSec: perSocket };
  console.log(`\nHold accept latency with ${n} watchers of the corridor vs none`);
  console.table([{ watchers: 0, ...unwatched }, { watchers: n, ...watched }]);
  console.log(`watchers received ${watcherDeliveries} availability updates (${perSocket} per watcher per second, coalesced: newest state wins); watcher processes at ${r.watchersNormal ? 'normal priority' : 'nice 19 (clients elsewhere)'}`);
  r.targets.push({ target: 'accept p99 watched ≤ 1.2× unwatched', value: `${r1(ratio)}×`, met: ratio <= 1.2 });
}
