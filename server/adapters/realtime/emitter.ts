import type { Server } from 'socket.io';
import type { EventSink, LiveEvent } from './events.ts';

/**
 * Delivers live events through Socket.IO (and so, through the Redis adapter, to every server process).
 * Events with a `coalesceKey` are throttled per room and key to one every `intervalMs`, last value wins,
 * so a hot departure sends at most ~10 updates a second per room.
 */
export class SocketEventSink implements EventSink {
  private readonly last = new Map<string, number>();
  private readonly pending = new Map<string, { room: string; event: string; payload: unknown }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly io: Server, private readonly intervalMs = 100) {}

  async emit(events: LiveEvent[]): Promise<void> {
    for (const e of events) {
      if (!e.coalesceKey) {
        if (e.rooms.length > 0) this.io.to(e.rooms).emit(e.event, e.payload);
        continue;
      }
      for (const room of e.rooms) this.throttled(`${room}|${e.coalesceKey}`, room, e.event, e.payload);
    }
  }

  private throttled(key: string, room: string, event: string, payload: unknown) {
    const now = Date.now();
    const since = now - (this.last.get(key) ?? 0);
    if (since >= this.intervalMs && !this.timers.has(key)) {
      this.last.set(key, now);
      this.io.to(room).emit(event, payload);
      return;
    }
    this.pending.set(key, { room, event, payload });
    if (this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      const p = this.pending.get(key);
      this.pending.delete(key);
      if (!p) return;
      this.last.set(key, Date.now());
      this.io.to(p.room).emit(p.event, p.payload);
    }, this.intervalMs - since);
    t.unref();
    this.timers.set(key, t);
  }

  /** Sends whatever is still waiting (on shutdown). */
  flush() {
    for (const [key, t] of this.timers) {
      clearTimeout(t);
      const p = this.pending.get(key);
      if (p) this.io.to(p.room).emit(p.event, p.payload);
    }
    this.timers.clear();
    this.pending.clear();
    if (this.last.size > 50_000) this.last.clear();
  }
}
