import type { Redis } from '../redis/redis.ts';
import { eventStreamKey, type EventSink, type LiveEvent } from './events.ts';

/**
 * Relays live events that workers appended to the Redis stream into this server's Socket.IO sink.
 * All servers share one consumer group, so each entry is relayed by exactly one of them (the Socket.IO
 * adapter then fans it out to every process). Entries a dead server had claimed are taken over after 30 s.
 */
export class StreamRelay {
  private running = false;
  private loop?: Promise<void>;

  constructor(
    private readonly redis: Redis, // a dedicated connection: XREADGROUP blocks
    private readonly prefix: string,
    private readonly sink: EventSink,
    private readonly consumer: string,
    private readonly log: { warn: (o: unknown, m: string) => void },
  ) {}

  private async ensureGroup(key: string) {
    try {
      await this.redis.xgroup('CREATE', key, 'servers', '$', 'MKSTREAM');
    } catch (err) {
      if (!String(err).includes('BUSYGROUP')) throw err;
    }
  }

  async start() {
    const key = eventStreamKey(this.prefix);
    await this.ensureGroup(key);
    this.running = true;
    this.loop = this.run(key);
  }

  private async run(key: string) {
    let lastClaim = 0;
    while (this.running) {
      try {
        if (Date.now() - lastClaim > 10_000) {
          lastClaim = Date.now();
          const claimed = (await this.redis.xautoclaim(key, 'servers', this.consumer, 30_000, '0-0', 'COUNT', 100)) as [string, [string, string[]][]];
          await this.handle(key, claimed[1] ?? []);
        }
        const res = (await this.redis.xreadgroup('GROUP', 'servers', this.consumer, 'COUNT', 200, 'BLOCK', 1000, 'STREAMS', key, '>')) as
          | [string, [string, string[]][]][]
          | null;
        if (res) for (const [, entries] of res) await this.handle(key, entries);
      } catch (err) {
        if (!this.running) return;
        // Redis lost its data (FLUSHALL, a replica promoted without it): the group is gone — make it again.
        if (String(err).includes('NOGROUP')) await this.ensureGroup(key).catch(() => {});
        this.log.warn({ err }, 'live event relay: retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async handle(key: string, entries: [string, string[]][]) {
    if (entries.length === 0) return;
    const events: LiveEvent[] = [];
    for (const [, fields] of entries) {
      const i = fields.indexOf('e');
      if (i >= 0 && fields[i + 1]) {
        try {
          events.push(JSON.parse(fields[i + 1]!) as LiveEvent);
        } catch {
          /* a malformed entry is dropped */
        }
      }
    }
    await this.sink.emit(events);
    await this.redis.xack(key, 'servers', ...entries.map(([id]) => id));
  }

  async stop() {
    this.running = false;
    this.redis.disconnect();
    await this.loop?.catch(() => {});
  }
}
