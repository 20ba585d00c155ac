// A live observer of the chaos run: a Socket.IO client that keeps the availability of the run's departures
// the way the real client does, compared with Postgres at the end (tools/chaos/checks.ts).
import { io as ioClient, type Socket } from 'socket.io-client';
import { sleep } from '../../scripts/lib/procs.mjs';
import { call, type Who } from './client.ts';

export interface Avail {
  seq: number;
  freeTeu: number;
  freeTonnes: number;
}

/**
 * A live view kept the way the real client keeps it (client/src/lib/departures.svelte.ts): apply an
 * event with a newer seq, ignore older ones, re-read a departure over HTTP on a seq gap, re-join the rooms
 * and re-read the whole board after every (re)connect.
 */
export class Observer {
  readonly view = new Map<string, Avail>();
  private readonly dirty = new Set<string>();
  private needSubscribe = true;
  private socket: Socket | null = null;
  private stopped = false;
  private pump: Promise<void> = Promise.resolve();
  stats = { connects: 0, events: 0, gaps: 0, rereads: 0 };

  constructor(
    readonly name: string,
    private readonly base: string,
    private readonly who: Who,
    private readonly departures: { id: string; corridorId: string }[],
    private readonly rooms: 'corridor' | 'departure',
  ) {}

  get connected() {
    return !!this.socket?.connected;
  }

  start() {
    const socket = ioClient(this.base, {
      transports: ['websocket'],
      reconnection: true,
      reconnectionDelay: 200,
      reconnectionDelayMax: 1000,
      timeout: 5000,
      extraHeaders: { cookie: this.who.cookie },
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.stats.connects++;
      this.needSubscribe = true;
      for (const d of this.departures) this.dirty.add(d.id); // re-read the whole board after a (re)connect
    });
    // the server lost contact with the event stream for a while: events may be lost, re-read everything
    socket.on('live:resync', () => {
      for (const d of this.departures) this.dirty.add(d.id);
    });
    socket.on('departure:availability', (e: { departureId?: string; seq?: number; freeTeu?: number; freeTonnes?: number }) => {
      if (!e || typeof e.departureId !== 'string' || !this.departures.some((d) => d.id === e.departureId)) return;
      this.stats.events++;
      const cur = this.view.get(e.departureId);
      if (typeof e.seq !== 'number' || typeof e.freeTeu !== 'number' || typeof e.freeTonnes !== 'number') return;
      if (cur && e.seq <= cur.seq) return; // stale
      if (cur && e.seq > cur.seq + 1) {
        this.stats.gaps++;
        this.dirty.add(e.departureId); // applied, then re-read
      }
      this.view.set(e.departureId, { seq: e.seq, freeTeu: e.freeTeu, freeTonnes: e.freeTonnes });
    });
    this.pump = this.run();
  }

  private async run() {
    while (!this.stopped) {
      const s = this.socket;
      if (s?.connected && this.needSubscribe) {
        this.needSubscribe = false;
        const targets =
          this.rooms === 'corridor'
            ? [...new Set(this.departures.map((d) => d.corridorId))].map((corridorId) => ({ corridorId }))
            : this.departures.map((d) => ({ departureId: d.id }));
        for (const t of targets) {
          const r = (await s.timeout(3000).emitWithAck('subscribe', t).catch(() => null)) as { ok?: boolean } | null;
          if (!r?.ok) this.needSubscribe = true;
        }
        if (this.needSubscribe) await sleep(300);
        // a re-read after the (re)join covers whatever was sent before it
        for (const d of this.departures) this.dirty.add(d.id);
      }
      for (const id of [...this.dirty]) {
        if (this.stopped) return;
        const r = await call(this.base, 'GET', `/api/departures/${id}`, this.who, undefined, 5000);
        if (r?.status !== 200) break; // the server is away: retry on the next round
        this.stats.rereads++;
        this.dirty.delete(id);
        const fresh = r.json as { seq: number; freeTeu: number; freeTonnes: number };
        const cur = this.view.get(id);
        if (!cur || fresh.seq >= cur.seq) this.view.set(id, { seq: Number(fresh.seq), freeTeu: fresh.freeTeu, freeTonnes: fresh.freeTonnes });
      }
      await sleep(200);
    }
  }

  async stop() {
    this.stopped = true;
    this.socket?.close();
    await Promise.race([this.pump, sleep(6000)]);
  }
}
