// Fan-out benchmark client process: opens N Socket.IO (or bare ws) connections, subscribes, and records
// for every received availability message the delay from the server's `at` stamp to receipt.
// Talks to its parent over IPC: { ready } when connected, then { done, lat: [...] } on 'finish'.
import { io } from 'socket.io-client';
import WebSocket from 'ws';

const [mode, url, count, cookie, corridorId] = process.argv.slice(2);
const n = Number(count);
const lat = [];
let connected = 0;
const sockets = [];

function onMessage(payload) {
  if (payload && typeof payload.at === 'number') lat.push(Date.now() - payload.at);
}

for (let i = 0; i < n; i++) {
  if (mode === 'socketio') {
    const s = io(url, { transports: ['websocket'], extraHeaders: { cookie }, reconnection: false, forceNew: true });
    s.on('connect', async () => {
      await s.timeout(30_000).emitWithAck('subscribe', { corridorId }).catch(() => null);
      if (++connected === n) process.send({ ready: true });
    });
    s.on('departure:availability', onMessage);
    s.on('connect_error', (e) => process.send({ error: String(e.message) }));
    sockets.push(s);
  } else {
    const s = new WebSocket(url);
    s.on('open', () => {
      if (++connected === n) process.send({ ready: true });
    });
    s.on('message', (data) => onMessage(JSON.parse(String(data))));
    s.on('error', (e) => process.send({ error: String(e.message) }));
    sockets.push(s);
  }
}

let cpu0;
process.on('message', (m) => {
  if (m === 'start') cpu0 = process.cpuUsage();
  if (m === 'finish') {
    const c = process.cpuUsage(cpu0);
    process.send({ done: true, lat, cpuUs: cpu0 ? c.user + c.system : 0 });
    for (const s of sockets) (s.close ?? s.disconnect).call(s);
    setTimeout(() => process.exit(0), 200);
  }
});
setTimeout(() => process.exit(2), 10 * 60_000).unref(); // bounded
