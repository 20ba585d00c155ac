import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Db } from '../db/db.ts';
import { availabilitySnapshot } from '../db/departures-repo.ts';
import type { Redis } from './redis.ts';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
const SCRIPTS = { reserve: lua('avail_reserve'), settle: lua('avail_settle'), load: lua('avail_load') };

export type ReserveOutcome =
  | { ok: true; gen: string }
  | { ok: false; code: 'past_cutoff' | 'listing_closed' | 'insufficient_capacity' };

/** What Postgres committed for a departure (and one listing), to write into the cache. */
export interface Committed {
  seq: number;
  usedTeu: number;
  usedTonnes: number;
  listingId?: string;
  /** Remaining TEU of the listing, or 'closed' when it no longer sells. */
  listingRemaining?: number | 'closed';
}

type Cmd = (...args: (string | number)[]) => Promise<unknown>;

/**
 * The Redis side of the hold hot path: an admission gate per departure, decided atomically by Lua, so
 * that requests that cannot fit are refused without touching Postgres. It is only a filter: every
 * admitted request is still guarded by Postgres' conditional update and CHECK constraints. Everything
 * here is rebuilt from Postgres (lazily on a miss, and at least every `ttlSeconds`).
 */
export class AvailabilityCache {
  private readonly cmd: { reserve: Cmd; settle: Cmd; load: Cmd };

  constructor(
    private readonly redis: Redis,
    private readonly db: Db,
    private readonly prefix: string,
    private readonly ttlSeconds = 30,
  ) {
    for (const [name, body] of Object.entries(SCRIPTS)) {
      if (!(`cx_avail_${name}` in redis)) redis.defineCommand(`cx_avail_${name}`, { numberOfKeys: 1, lua: body });
    }
    const r = redis as unknown as Record<string, Cmd>;
    this.cmd = {
      reserve: (...a) => r.cx_avail_reserve!.apply(redis, a),
      settle: (...a) => r.cx_avail_settle!.apply(redis, a),
      load: (...a) => r.cx_avail_load!.apply(redis, a),
    };
  }

  /** Key of a departure's hash; the corridor in a hash tag keeps a corridor's departures on one cluster slot. */
  key(corridorId: string, departureId: string): string {
    return `${this.prefix}avail:{c:${corridorId}}:${departureId}`;
  }

  async reserve(corridorId: string, departureId: string, listingId: string, teu: number, tonnes: number, now: Date): Promise<ReserveOutcome> {
    const key = this.key(corridorId, departureId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = (await this.cmd.reserve(key, listingId, teu, tonnes, now.getTime())) as string[];
      if (res[0] === 'ok') return { ok: true, gen: res[1]! };
      if (res[0] === 'miss') {
        await this.load(corridorId, departureId);
        continue;
      }
      return { ok: false, code: res[0] as 'past_cutoff' | 'listing_closed' | 'insufficient_capacity' };
    }
    // Could not load (e.g. the departure vanished): let Postgres decide.
    return { ok: true, gen: '' };
  }

  /** Ends a reservation and/or records what Postgres committed. Never throws: the cache is only a filter. */
  async settle(
    corridorId: string,
    departureId: string,
    reservation: { gen: string; listingId: string; teu: number; tonnes: number } | null,
    committed: Committed | null,
  ): Promise<void> {
    const listingId = reservation?.listingId ?? committed?.listingId ?? '';
    await this.cmd
      .settle(
        this.key(corridorId, departureId),
        reservation?.gen ?? '',
        listingId,
        reservation?.teu ?? 0,
        reservation?.tonnes ?? 0,
        committed?.seq ?? -1,
        committed?.usedTeu ?? 0,
        committed?.usedTonnes ?? 0,
        committed?.listingRemaining === undefined ? '' : String(committed.listingRemaining),
      )
      .catch(() => this.invalidate(corridorId, departureId));
  }

  /** Loads a departure's availability from Postgres (no-op when another process already did). */
  async load(corridorId: string, departureId: string): Promise<void> {
    const snap = await availabilitySnapshot(this.db, departureId);
    if (!snap) return;
    const { dep, listings } = snap;
    const cutoff = dep.status === 'scheduled' ? dep.cutoff_at.getTime() : 0;
    await this.cmd.load(
      this.key(corridorId, departureId),
      randomBytes(6).toString('hex'),
      this.ttlSeconds,
      Number(dep.seq),
      dep.capacity_teu,
      dep.capacity_tonnes,
      dep.held_teu + dep.booked_teu,
      dep.held_tonnes + dep.booked_tonnes,
      cutoff,
      ...listings.flatMap((l) => [l.id, l.remaining_teu]),
    );
  }

  /** Drops the cached state so the next request rebuilds it from Postgres (used when the two disagree). */
  async invalidate(corridorId: string, departureId: string): Promise<void> {
    await this.redis.del(this.key(corridorId, departureId)).catch(() => {});
  }

  /** The cached view, for tests and the consistency check. */
  async snapshot(corridorId: string, departureId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.key(corridorId, departureId));
  }
}
