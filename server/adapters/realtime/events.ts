import type { Redis } from '../redis/redis.ts';

/** A live event bound for Socket.IO rooms. `coalesceKey` marks events where only the latest matters. */
export interface LiveEvent {
  rooms: string[];
  event: string;
  payload: unknown;
  /** Events with the same key in the same room are coalesced (last value wins) to ~10 per second. */
  coalesceKey?: string;
}

/** Where services send live events; the server delivers them through Socket.IO, workers through a Redis stream. */
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

/** Stream that workers write live events to; one server of the consumer group relays each entry. */
export const eventStreamKey = (prefix: string) => `${prefix}{live}:events`;

/** Sink used by processes without Socket.IO (workers, CLI): appends to a capped Redis stream. */
export class StreamEventSink implements EventSink {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}
  async emit(events: LiveEvent[]): Promise<void> {
    if (events.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const e of events) {
      pipe.xadd(eventStreamKey(this.prefix), 'MAXLEN', '~', '100000', '*', 'e', JSON.stringify(e));
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
