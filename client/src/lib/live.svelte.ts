/**
 * One Socket.IO connection for the signed-in user.
 *
 * The connection is opened lazily with `createSubscriber`: as soon as something reads
 * `live.state` inside an effect (the live indicator in the header, shown only while signed
 * in), the socket connects; when the last such reader is destroyed (sign-out) it
 * disconnects. Rooms are reference-counted and re-joined after every reconnect; after
 * the rooms are joined again, `onSync` listeners are told so they can re-read their data
 * (Socket.IO delivers at most once, so anything missed while away must be fetched). The same
 * listeners run when the server says `live:resync` (it could not read live events for a while).
 */
import { io, type Socket } from 'socket.io-client';
import { createSubscriber } from 'svelte/reactivity';
import { on } from 'svelte/events';
import type { Room } from './types';
import { session } from './session.svelte';

export type LiveState = 'live' | 'reconnecting' | 'offline';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each page narrows the payload of the event it subscribes to
type Handler = (payload: any) => void;
type SyncHandler = (info: { reconnect: boolean }) => void;

interface RoomEntry {
  room: Room;
  count: number;
  acked: boolean;
  waiters: Array<() => void>;
}

const ACK_TIMEOUT_MS = 4000;

class Live {
  #socket: Socket | null = null;
  #update: (() => void) | null = null;
  #subscribe: () => void;
  #connects = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #rooms = new Map<string, RoomEntry>();
  #handlers = new Map<string, Set<Handler>>();
  #syncHandlers = new Set<SyncHandler>();
  /** wall-clock time of the last completed (re)subscription after a connect */
  lastSyncAt = 0;

  constructor() {
    this.#subscribe = createSubscriber((update) => {
      this.#update = update;
      this.#open();
      const offOnline = on(window, 'online', update);
      const offOffline = on(window, 'offline', update);
      return () => {
        offOnline();
        offOffline();
        this.#close();
        this.#update = null;
      };
    });
  }

  /** live | reconnecting | offline — reading it inside an effect keeps the connection open */
  get state(): LiveState {
    this.#subscribe();
    const s = this.#socket;
    if (!s) return 'offline';
    if (typeof navigator !== 'undefined' && navigator.onLine === false) return 'offline';
    if (s.connected) return 'live';
    return s.active ? 'reconnecting' : 'offline';
  }

  /** has the socket connected at least once since it was opened */
  get hasConnected() {
    this.#subscribe();
    return this.#connects > 0;
  }

  get connected() {
    return this.#socket?.connected ?? false;
  }

  /**
   * A command on the live connection (order entry, issue 16): the server answers what the REST call would,
   * `{ status, body }`. Null when the socket is not connected or no answer came in time — the caller falls back to
   * REST with the same Idempotency-Key, so the order is never placed twice.
   */
  async command<T>(event: string, payload: unknown): Promise<{ status: number; body: T } | null> {
    const socket = this.#socket;
    if (!socket?.connected) return null;
    try {
      const a = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload)) as { status?: unknown; body?: unknown } | null;
      return a && typeof a.status === 'number' ? { status: a.status, body: a.body as T } : null;
    } catch {
      return null;
    }
  }

  /** Listen to a server → client event. Returns the function that stops listening. */
  on(event: string, handler: Handler): () => void {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  /** Called after every (re)connect once all rooms are joined again. */
  onSync(handler: SyncHandler): () => void {
    this.#syncHandlers.add(handler);
    return () => {
      this.#syncHandlers.delete(handler);
    };
  }

  /**
   * Join rooms (reference-counted). `ready` resolves when the server acknowledged every
   * room (or at once when offline / after a timeout); `release` leaves them again.
   */
  watch(rooms: Room[]): { ready: Promise<void>; release: () => void } {
    const keys = rooms.map((r) => JSON.stringify(r));
    const pending: Promise<void>[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      let entry = this.#rooms.get(key);
      if (!entry) {
        entry = { room: rooms[i], count: 0, acked: false, waiters: [] };
        this.#rooms.set(key, entry);
        if (this.#socket?.connected) void this.#join(key, entry);
      }
      entry.count++;
      if (!entry.acked && this.#socket?.connected) {
        const e = entry;
        pending.push(new Promise<void>((resolve) => e.waiters.push(resolve)));
      }
    }
    let released = false;
    const ready = pending.length
      ? Promise.race([Promise.all(pending).then(() => {}), delay(ACK_TIMEOUT_MS)])
      : Promise.resolve();
    return {
      ready,
      release: () => {
        if (released) return;
        released = true;
        for (const key of keys) {
          const entry = this.#rooms.get(key);
          if (!entry) continue;
          entry.count--;
          if (entry.count <= 0) {
            this.#rooms.delete(key);
            for (const w of entry.waiters) w();
            if (this.#socket?.connected) this.#socket.emit('unsubscribe', entry.room);
          }
        }
      },
    };
  }

  #join(key: string, entry: RoomEntry): Promise<void> {
    const socket = this.#socket;
    return new Promise<void>((resolve) => {
      if (!socket) return resolve();
      socket.timeout(ACK_TIMEOUT_MS).emit('subscribe', entry.room, (err: unknown, ack?: { ok: boolean; error?: unknown }) => {
        if (err) console.warn('[live] subscribe timed out', entry.room);
        else if (!ack?.ok) console.warn('[live] subscribe refused', entry.room, ack?.error);
        // still the same entry and socket?
        if (this.#rooms.get(key) === entry && this.#socket === socket) {
          entry.acked = !err;
          const ws = entry.waiters.splice(0);
          for (const w of ws) w();
        }
        resolve();
      });
    });
  }

  #open() {
    if (this.#socket) return;
    const socket = io({ withCredentials: true, transports: ['websocket', 'polling'] });
    this.#socket = socket;
    this.#connects = 0;

    socket.on('connect', async () => {
      const reconnect = this.#connects > 0;
      this.#connects++;
      this.#update?.();
      const joins: Promise<void>[] = [];
      for (const [key, entry] of this.#rooms) {
        entry.acked = false;
        joins.push(this.#join(key, entry));
      }
      await Promise.all(joins);
      if (this.#socket !== socket || !socket.connected) return;
      this.lastSyncAt = Date.now();
      for (const h of [...this.#syncHandlers]) {
        try {
          h({ reconnect });
        } catch (e) {
          console.error(e);
        }
      }
    });
    // The server lost its event stream for a while (Redis away): events may be gone for good. Re-read,
    // each client after its own random pause, so thousands of watchers do not re-read at the same moment.
    socket.on('live:resync', () => {
      setTimeout(() => {
        if (this.#socket !== socket || !socket.connected) return;
        this.lastSyncAt = Date.now();
        for (const h of [...this.#syncHandlers]) {
          try {
            h({ reconnect: true });
          } catch (e) {
            console.error(e);
          }
        }
      }, Math.random() * 3000);
    });
    socket.on('disconnect', () => {
      for (const entry of this.#rooms.values()) entry.acked = false;
      this.#update?.();
    });
    socket.on('connect_error', () => {
      this.#update?.();
      if (!socket.active) {
        // refused by the server (authentication middleware): check the session, then retry
        this.#scheduleRetry(socket);
      }
    });
    socket.io.on('reconnect_attempt', () => this.#update?.());
    socket.io.on('reconnect_failed', () => this.#update?.());
    socket.onAny((event: string, payload: unknown) => {
      const set = this.#handlers.get(event);
      if (!set) return;
      for (const h of [...set]) {
        try {
          h(payload);
        } catch (e) {
          console.error(e);
        }
      }
    });
  }

  #scheduleRetry(socket: Socket) {
    if (this.#retryTimer) return;
    this.#retryTimer = setTimeout(async () => {
      this.#retryTimer = null;
      if (this.#socket !== socket) return;
      const ok = await session.refresh();
      if (ok && this.#socket === socket && !socket.active) {
        socket.connect();
        this.#update?.();
      }
    }, 3000);
  }

  #close() {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const s = this.#socket;
    this.#socket = null;
    for (const entry of this.#rooms.values()) {
      entry.acked = false;
      for (const w of entry.waiters.splice(0)) w();
    }
    if (s) {
      s.offAny();
      s.removeAllListeners();
      s.io.removeAllListeners();
      s.disconnect();
    }
  }
}

function delay(ms: number) {
  return new Promise<void>((r) => setTimeout(r, ms));
}

export const live = new Live();
