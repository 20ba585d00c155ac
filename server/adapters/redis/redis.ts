import { Cluster, Redis, type RedisOptions as IoRedisOptions } from 'ioredis';
import { parseClusterUrl, type ClusterUrl } from '../../config.ts';

export type { Redis };

export interface RedisOptions {
  /**
   * BullMQ connections: no auto-pipelining; workers' blocking connections retry forever
   * (`maxRetriesPerRequest: null`) unless `failFastMs` is given (queue producers).
   */
  forBullmq?: boolean;
  /**
   * Request-path connections: a command fails at once while the connection is down (no offline queue,
   * so nothing queues behind the reconnect back-off) and after `failFastMs` when Redis does not answer.
   * Postgres alone decides while Redis is away; callers treat a failure as "Redis unavailable".
   */
  failFastMs?: number;
  name?: string;
}

/**
 * A Redis connection. Connections that are not BullMQ's pipeline automatically: commands issued in the
 * same event-loop turn (the rate limit, admission and cache scripts of many concurrent requests) leave in
 * one write — far fewer system calls under load, the same order and the same answers.
 */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  const failFast = opts.failFastMs !== undefined && opts.failFastMs > 0;
  const options = {
    maxRetriesPerRequest: failFast ? 0 : opts.forBullmq ? null : 3,
    enableAutoPipelining: !opts.forBullmq,
    enableReadyCheck: true,
    lazyConnect: false,
    connectionName: opts.name,
    ...(failFast ? { enableOfflineQueue: false, commandTimeout: opts.failFastMs } : {}),
  } satisfies IoRedisOptions;
  const cluster = parseClusterUrl(url);
  if (!cluster && /^rediss?\+cluster:/.test(url)) throw new Error('Redis Cluster URL names no node: redis+cluster://host:port,host:port…');
  const r = cluster ? createCluster(cluster, options) : new Redis(url, options);
  // Errors surface on the commands that fail; an unhandled 'error' event must not kill the process.
  r.on('error', () => {});
  if (failFast) addBreaker(r, Math.max(1000, 10 * opts.failFastMs!));
  return r;
}

/** The nodes of a Redis Cluster URL (see {@link parseClusterUrl}), or null for a single Redis. */
export function clusterNodes(url: string): { host: string; port: number }[] | null {
  return parseClusterUrl(url)?.nodes ?? null;
}

/**
 * A Redis Cluster client with the options of a single connection (on every node's connection). Every key the app
 * uses together carries the prefix's hash tag (config.ts `clusterSafePrefix`), so its scripts, transactions, BullMQ
 * queues and the live-event stream each live in one slot. ioredis' Cluster speaks the same commands as its Redis:
 * the rest of the app uses it through the same type.
 */
function createCluster(c: ClusterUrl, options: IoRedisOptions): Redis {
  const cluster = new Cluster(c.nodes, {
    enableAutoPipelining: options.enableAutoPipelining ?? false,
    enableReadyCheck: true,
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    scaleReads: 'master',
    redisOptions: {
      ...options,
      ...(c.username !== undefined ? { username: c.username } : {}),
      ...(c.password !== undefined ? { password: c.password } : {}),
      ...(c.tls ? { tls: {} } : {}),
    },
  });
  return cluster as unknown as Redis;
}

/** The message of a command refused because the breaker is open (Redis recently did not answer). */
export const BREAKER_OPEN = 'Redis circuit open: skipped';

/**
 * A circuit breaker on a fail-fast connection: after `threshold` commands in a row timed out (Redis accepts
 * connections but does not answer — frozen, swapping, overloaded), every command fails at once for
 * `openMs`, then the next ones try again. Without it each request would wait a full timeout per Redis
 * call, one after another. One late reply (a busy event loop reads it late) does not open it.
 */
function addBreaker(r: Redis, openMs: number, threshold = 3) {
  let openUntil = 0;
  let timeouts = 0;
  const send = r.sendCommand.bind(r);
  type Cmd = Parameters<Redis['sendCommand']>[0];
  // every argument passed on: a Cluster's pipelines give the node as a third one
  r.sendCommand = ((command: Cmd, ...rest: unknown[]) => {
    if (Date.now() < openUntil) {
      command.reject(new Error(BREAKER_OPEN));
      return command.promise;
    }
    const p = (send as (c: Cmd, ...r: unknown[]) => Promise<unknown>)(command, ...rest);
    p.then(
      () => (timeouts = 0),
      (err: unknown) => {
        if (!(err instanceof Error) || err.message !== 'Command timed out') return;
        if (++timeouts >= threshold) {
          openUntil = Date.now() + openMs;
          timeouts = 0;
        }
      },
    );
    return p;
  }) as Redis['sendCommand'];
}
/**
 * Resolves once `redis` is connected and ready (a fail-fast connection refuses commands before that);
 * rejects with a clear message after `timeoutMs`.
 */
export async function redisReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis is not reachable (${redis.status} after ${timeoutMs} ms); is REDIS_URL right and the server running?`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(t);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/**
 * Refuses to run against a Redis that may evict keys: queues, locks and counters must never vanish
 * silently (DESIGN.md, known traps).
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  await redisReady(redis);
  const res = (await redis.config('GET', 'maxmemory-policy'));
  const policy = res[1];
  if (policy !== 'noeviction') {
    throw new Error(`Redis maxmemory-policy is '${policy}'; Cluster Exchange needs 'noeviction'. Set it with: CONFIG SET maxmemory-policy noeviction`);
  }
}
