import type { Redis } from '../redis/redis.ts';
import { eventStreamKey, type LiveEvent } from './events.ts';

/**
 * Reads every live event that any process (server or worker) appended to the Redis stream and hands it
 * to this server's local fan-out. Every server reads the whole stream (plain XREAD, no consumer group),
 * so each delivers to its own sockets only and no event crosses Redis twice. Starts at the stream's end;
 * after Redis lost its data the stream is simply read again from where new entries appear.
 *
 * Events published while the stream could not be read (Redis away or restarted) may be lost for good, so
 * once reading works again `onRecovered` is called: the server tells its sockets to re-read
 * (`live:resync`), and every connected view converges even if nothing changes afterwards.
 */
export class StreamRelay {
  private running = false;
  private loop?: Promise<void>;

  constructor(
    private readonly redis: Redis, // a dedicated connection: XREAD blocks
    private readonly prefix: string,
    private readonly deliver: (events: LiveEvent[]) => void,
    private readonly log: { warn: (o: unknown, m: string) => void },
    private readonly onRecovered: () => void = () => {},
  ) {}

  async start() {
    const key = eventStreamKey(this.prefix);
    // the id of the newest entry (or 0-0): read everything after it
    const last = (await this.redis.xrevrange(key, '+', '-', 'COUNT', 1)) as [string, string[]][];
    this.running = true;
    this.loop = this.run(key, last[0]?.[0] ?? '0-0');
  }

  private async run(key: string, from: string) {
    let id = from;
    let failed = false;
    while (this.running) {
      try {
        const res = (await this.redis.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', key, id));
        if (failed) {
          failed = false;
          this.onRecovered();
        }
        if (!res) continue;
        for (const [, entries] of res) {
          if (entries.length === 0) continue;
          id = entries[entries.length - 1]![0];
          this.deliver(parseEntries(entries));
        }
      } catch (err) {
        if (!this.running) return;
        failed = true;
        this.log.warn({ err }, 'live event relay: retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async stop() {
    this.running = false;
    this.redis.disconnect();
    await this.loop?.catch(() => {});
  }
}

/**
 * The events of a batch of stream entries, in order. A state (an entry with a coalescing key `k`) that
 * another entry of the same batch supersedes (higher version `v`, or later) is skipped without being parsed — a reader that fell behind
 * (a burst of large auction ladders) catches up at the cost of the newest states only. Events that are
 * not states are all kept.
 */
export function parseEntries(entries: [string, string[]][]): LiveEvent[] {
  // per key, the entry that wins: the highest version (states from several processes may interleave),
  // the later entry when versions tie or are absent
  const lastOf = new Map<string, { i: number; v: number }>();
  entries.forEach(([, fields], i) => {
    const k = fieldOf(fields, 'k');
    if (k === undefined) return;
    const raw = fieldOf(fields, 'v');
    const v = raw === undefined ? -Infinity : Number(raw);
    const cur = lastOf.get(k);
    if (!cur || v >= cur.v) lastOf.set(k, { i, v });
  });
  const events: LiveEvent[] = [];
  entries.forEach(([, fields], i) => {
    const k = fieldOf(fields, 'k');
    if (k !== undefined && lastOf.get(k)!.i !== i) return;
    const raw = fieldOf(fields, 'e');
    if (!raw) return;
    try {
      events.push(JSON.parse(raw) as LiveEvent);
    } catch {
      /* a malformed entry is dropped */
    }
  });
  return events;
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
