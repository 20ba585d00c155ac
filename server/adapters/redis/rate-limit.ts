import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from './redis.ts';

const RATE_HIT = readFileSync(new URL('./lua/rate_hit.lua', import.meta.url), 'utf8');

/**
 * What a bucket does when Redis cannot answer: `open` lets the request through (Postgres still guards
 * everything that matters), `local` counts in this process instead (a per-process limit is better than
 * none), `closed` refuses (sign-in: guessing passwords must never become unlimited).
 */
export type WhenRedisDown = 'open' | 'local' | 'closed';

export interface Bucket {
  /** Bucket family, e.g. `signin-address`; part of the Redis key. */
  name: string;
  /** Who is counted (an address, an account, a principal id); hashed before it reaches Redis. */
  identity: string;
  max: number;
  windowMs: number;
  whenRedisDown: WhenRedisDown;
}

export type Verdict =
  | { ok: true }
  | { ok: false; reason: 'limited'; bucket: string; retryAfterMs: number }
  | { ok: false; reason: 'unavailable'; bucket: string };

const digest = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 32);

/** A fixed-window counter per key in this process: the fallback of `local` buckets while Redis is away. */
export class LocalWindows {
  private readonly map = new Map<string, { n: number; until: number }>();
  constructor(private readonly maxKeys = 100_000) {}

  hit(key: string, windowMs: number, now: number): { n: number; ttl: number } {
    let w = this.map.get(key);
    if (!w || w.until <= now) {
      if (this.map.size >= this.maxKeys) this.prune(now);
      w = { n: 0, until: now + windowMs };
      this.map.set(key, w);
    }
    w.n++;
    return { n: w.n, ttl: w.until - now };
  }

  private prune(now: number) {
    for (const [k, w] of this.map) if (w.until <= now) this.map.delete(k);
    if (this.map.size >= this.maxKeys) this.map.clear();
  }
}

/**
 * Rate limits shared by every server process through Redis (one Lua script per hit, all buckets of a
 * request sent in one pipelined write). Keys carry a hash of the identity, never the identity itself.
 */
export class RateLimiter {
  private readonly local = new LocalWindows();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!('cx_rate_hit' in redis)) redis.defineCommand('cx_rate_hit', { numberOfKeys: 1, lua: RATE_HIT });
  }

  /** bucket name + identity → its key: one hash per principal, not per request (bounded; cleared when full) */
  private readonly keys = new Map<string, string>();

  key(b: Pick<Bucket, 'name' | 'identity'>): string {
    const id = `${b.name}\n${b.identity}`;
    let k = this.keys.get(id);
    if (k === undefined) {
      if (this.keys.size >= 10_000) this.keys.clear();
      k = `${this.prefix}rl:${b.name}:${digest(id)}`;
      this.keys.set(id, k);
    }
    return k;
  }

  /** Counts one hit in every bucket; the first bucket over its limit (or unavailable and closed) decides. */
  async hit(buckets: Bucket[], now = Date.now()): Promise<Verdict> {
    const run = (this.redis as unknown as { cx_rate_hit(key: string, windowMs: number): Promise<[number, number]> }).cx_rate_hit.bind(this.redis);
    const counts = await Promise.all(
      buckets.map((b) =>
        run(this.key(b), b.windowMs).then(
          ([n, ttl]) => ({ n, ttl }),
          () => (b.whenRedisDown === 'local' ? this.local.hit(this.key(b), b.windowMs, now) : null),
        ),
      ),
    );
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]!;
      const c = counts[i];
      if (c === null || c === undefined) {
        if (b.whenRedisDown === 'closed') return { ok: false, reason: 'unavailable', bucket: b.name };
        continue;
      }
      if (c.n > b.max) return { ok: false, reason: 'limited', bucket: b.name, retryAfterMs: Math.max(0, c.ttl) };
    }
    return { ok: true };
  }
}
