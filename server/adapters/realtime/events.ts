import type { Redis } from '../redis/redis.ts';

/** A live event bound for Socket.IO rooms. `coalesceKey` marks events where only the latest matters. */
export interface LiveEvent {
  rooms: string[];
  event: string;
  payload: unknown;
  /** Events with the same key carry the whole latest state: they are coalesced (last value wins), see LocalFanout. */
  coalesceKey?: string;
  /** For coalesced events: a newer state has a higher version (a departure's seq); older ones are dropped. */
  version?: number;
}

/** Where services send live events: servers and workers publish them to a Redis stream (see StreamRelay, LocalFanout). */
export interface EventSink {
  emit(events: LiveEvent[]): Promise<void>;
}

export const rooms = {
  corridor: (id: string) => `corridor:${id}`,
  departure: (id: string) => `departure:${id}`,
  listing: (id: string) => `listing:${id}`,
  org: (id: string) => `org:${id}`,
  session: (id: string) => `session:${id}`,
  apiKey: (id: string) => `apikey:${id}`,
};

/** Stream every process writes its live events to; every server reads all of it and delivers to its own sockets. */
export const eventStreamKey = (prefix: string) => `${prefix}{live}:events`;

/** Appends live events to the capped Redis stream that every server reads. */
export class StreamEventSink implements EventSink {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}
  async emit(events: LiveEvent[]): Promise<void> {
    if (events.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const e of events) {
      // `k` / `v`: the coalescing key and version beside the JSON, so a reader that is behind can skip
      // superseded states without parsing them. The stream is only a transport (readers start at its end): kept short.
      const key = e.coalesceKey ? ['k', e.coalesceKey, ...(e.version !== undefined ? ['v', String(e.version)] : [])] : [];
      pipe.xadd(eventStreamKey(this.prefix), 'MAXLEN', '~', '20000', '*', ...key, 'e', JSON.stringify(e));
    }
    await pipe.exec();
  }
}

/** A sink that records, for tests and for code paths with nothing to notify. */
export class MemoryEventSink implements EventSink {
  readonly events: LiveEvent[] = [];
  async emit(events: LiveEvent[]): Promise<void> {
    this.events.push(...events);
  }
}
