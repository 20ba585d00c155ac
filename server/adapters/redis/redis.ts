import { Redis } from 'ioredis';

export type { Redis };

/**
 * A Redis connection for commands. `maxRetriesPerRequest: null` is what BullMQ needs for blocking calls.
 * Other connections pipeline automatically: commands issued in the same event-loop turn (the rate limit,
 * admission and cache scripts of many concurrent requests) leave in one write — far fewer system calls
 * under load, the same order and the same answers.
 */
export function createRedis(url: string, opts: { forBullmq?: boolean; name?: string } = {}): Redis {
  const r = new Redis(url, {
    maxRetriesPerRequest: opts.forBullmq ? null : 3,
    enableAutoPipelining: !opts.forBullmq,
    enableReadyCheck: true,
    lazyConnect: false,
    connectionName: opts.name,
  });
  // Errors surface on the commands that fail; an unhandled 'error' event must not kill the process.
  r.on('error', () => {});
  return r;
}

/**
 * Refuses to run against a Redis that may evict keys: queues, locks and counters must never vanish
 * silently (DESIGN.md, known traps).
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const res = (await redis.config('GET', 'maxmemory-policy')) as string[];
  const policy = res[1];
  if (policy !== 'noeviction') {
    throw new Error(`Redis maxmemory-policy is '${policy}'; Cluster Exchange needs 'noeviction'. Set it with: CONFIG SET maxmemory-policy noeviction`);
  }
}
