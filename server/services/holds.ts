import { sql } from 'kysely';
import type { Db, Tx } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { claimKey, storeAnswer, type IdemKey } from '../adapters/db/idempotency.ts';
import { enqueueInTx, kickOutbox } from '../adapters/db/outbox.ts';
import { currentUnitPrice } from '../adapters/db/listings-repo.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import type { EventSink, LiveEvent } from '../adapters/realtime/events.ts';
import { rooms } from '../adapters/realtime/events.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import { checkHold, checkHoldShare, holdExpiresAt } from '../core/capacity.ts';
import { bookingEmissions, roadDistanceKm } from '../core/co2.ts';
import { cancellationFee, DEFAULT_FEE_RULE, validateFeeRule, type FeeRule } from '../core/fees.ts';
import { totalCents } from '../core/pricing.ts';
import { emissionFactors } from '../data/emission-factors.ts';
import { AppError, conflict, notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import { KeyedBatcher } from './batcher.ts';
import { eachIsolated, RecentFailures, type SweepLog } from './sweep.ts';

export interface Hold {
  id: string;
  listingId: string;
  departureId: string;
  teu: number;
  tonnes: number;
  unitPriceCents: number;
  totalCents: number;
  status: string;
  expiresAt: string;
  createdAt: string;
}

export interface Booking {
  id: string;
  departureId: string;
  listingId: string;
  forwarderOrgId: string;
  teu: number;
  tonnes: number;
  unitPriceCents: number;
  totalCents: number;
  status: 'confirmed' | 'cancelled' | 'settled';
  co2eKg: number;
  roadCo2eKg: number;
  reference: string | null;
  cargo: unknown;
  cancellationFeeCents: number | null;
  createdAt: string;
  cancelledAt: string | null;
}

type HoldRow = {
  id: string;
  listing_id: string;
  departure_id: string;
  teu: number;
  tonnes: number;
  unit_price_cents: number;
  status: string;
  expires_at: Date;
  created_at: Date;
};

export function toHold(h: HoldRow): Hold {
  return {
    id: h.id,
    listingId: h.listing_id,
    departureId: h.departure_id,
    teu: h.teu,
    tonnes: h.tonnes,
    unitPriceCents: h.unit_price_cents,
    totalCents: totalCents(h.unit_price_cents, h.teu),
    status: h.status,
    expiresAt: h.expires_at.toISOString(),
    createdAt: h.created_at.toISOString(),
  };
}

type BookingRow = {
  id: string;
  departure_id: string;
  listing_id: string;
  forwarder_org_id: string;
  teu: number;
  tonnes: number;
  unit_price_cents: number;
  total_cents: number;
  status: 'confirmed' | 'cancelled' | 'settled';
  co2e_kg: number;
  road_co2e_kg: number;
  reference: string | null;
  cargo: unknown;
  cancellation_fee_cents: number | null;
  created_at: Date;
  cancelled_at: Date | null;
};

export function toBooking(b: BookingRow): Booking {
  return {
    id: b.id,
    departureId: b.departure_id,
    listingId: b.listing_id,
    forwarderOrgId: b.forwarder_org_id,
    teu: b.teu,
    tonnes: b.tonnes,
    unitPriceCents: b.unit_price_cents,
    totalCents: b.total_cents,
    status: b.status,
    co2eKg: b.co2e_kg,
    roadCo2eKg: b.road_co2e_kg,
    reference: b.reference,
    cargo: b.cargo ?? null,
    cancellationFeeCents: b.cancellation_fee_cents,
    createdAt: b.created_at.toISOString(),
    cancelledAt: b.cancelled_at?.toISOString() ?? null,
  };
}

/** The departure row columns that describe availability, as returned by the conditional updates. */
type DepAvail = {
  id: string;
  corridor_id: string;
  operator_org_id: string;
  seq: number;
  capacity_teu: number;
  capacity_tonnes: number;
  held_teu: number;
  held_tonnes: number;
  booked_teu: number;
  booked_tonnes: number;
};
const DEP_AVAIL = [
  'id', 'corridor_id', 'operator_org_id', 'seq', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes',
] as const;

/**
 * Gives held or booked capacity back to its listing and departure (in the caller's transaction, which has
 * already locked the departure). The listing never exceeds its offered TEU.
 */
async function giveBack(tx: Tx, kind: 'held' | 'booked', listingId: string, departureId: string, teu: number, tonnes: number, now: Date) {
  const l = await tx
    .updateTable('listings')
    .set({ remaining_teu: sql`least(teu, remaining_teu + ${teu})`, updated_at: now })
    .where('id', '=', listingId)
    .returning(['id', 'status', 'remaining_teu'])
    .executeTakeFirstOrThrow();
  const dep = await tx
    .updateTable('departures')
    .set(
      kind === 'held'
        ? { held_teu: sql`held_teu - ${teu}`, held_tonnes: sql`held_tonnes - ${tonnes}`, seq: sql`seq + 1`, updated_at: now }
        : { booked_teu: sql`booked_teu - ${teu}`, booked_tonnes: sql`booked_tonnes - ${tonnes}`, seq: sql`seq + 1`, updated_at: now },
    )
    .where('id', '=', departureId)
    .returning(DEP_AVAIL)
    .executeTakeFirstOrThrow();
  return { l, dep };
}

export function availabilityEvent(d: DepAvail): LiveEvent {
  return {
    rooms: [rooms.departure(d.id), rooms.corridor(d.corridor_id)],
    event: 'departure:availability',
    payload: {
      departureId: d.id,
      seq: Number(d.seq),
      freeTeu: d.capacity_teu - d.held_teu - d.booked_teu,
      freeTonnes: d.capacity_tonnes - d.held_tonnes - d.booked_tonnes,
      /** When the server committed the change (epoch ms): lets clients and the benchmark measure push latency. */
      at: Date.now(),
    },
    coalesceKey: `avail:${d.id}`,
    version: Number(d.seq),
  };
}

export function listingUpdateEvent(l: { id: string; status: string; remaining_teu: number }, currentPriceCents?: number): LiveEvent {
  return {
    rooms: [rooms.listing(l.id)],
    event: 'listing:update',
    payload: { listingId: l.id, status: l.status, remainingTeu: l.remaining_teu, ...(currentPriceCents !== undefined ? { currentPriceCents } : {}) },
    coalesceKey: `listing:${l.id}`,
  };
}

/** CO2e of moving `tonnes` along a corridor, beside the road alternative (GLEC-style tonne-km × factor). */
export async function emissionsFor(tx: Tx, corridorId: string, tonnes: number) {
  const route = await tx
    .selectFrom('corridors as c')
    .innerJoin('clusters as f', 'f.id', 'c.from_cluster_id')
    .innerJoin('clusters as t', 't.id', 'c.to_cluster_id')
    .select(['c.mode', 'c.distance_km', 'f.lat as flat', 'f.lon as flon', 't.lat as tlat', 't.lon as tlon'])
    .where('c.id', '=', corridorId)
    .executeTakeFirstOrThrow();
  return bookingEmissions(emissionFactors, {
    mode: route.mode,
    tonnes,
    distanceKm: route.distance_km,
    roadDistanceKm: roadDistanceKm(emissionFactors, { lat: route.flat, lon: route.flon }, { lat: route.tlat, lon: route.tlon }),
  });
}

type BatchItem = {
  listingId: string; teu: number; tonnes: number; unitPriceCents: number; expiresAt: string; orgId: string; userId: string; apiKeyId: string;
};
/** `expiresAt`: set by the database clock at commit (the TTL from then), not by the request's start. */
type BatchResult = { status: string; id?: string; listingRemaining?: number; expiresAt?: string };
export interface HoldsOptions {
  holdTtlMs: number;
  /** Most of a departure's TEU one organisation may hold at once, in % (HOLD_MAX_SHARE_PCT; default 50). */
  holdMaxSharePct?: number;
}

/**
 * Holds and bookings of fixed and falling listings: the no-overbooking hot path.
 *
 * Hold: Redis admits or refuses atomically (Lua) → Postgres commits with conditional updates that on
 * their own guarantee held + booked ≤ capacity (TEU and tonnes) and listing remaining ≥ 0 → the answer
 * → cache update, live events, expiry job. A hold is durable in Postgres before the client hears of it.
 */
export class HoldsService {
  constructor(
    private readonly db: Db,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
    private readonly queues: Queues | null,
    private readonly opts: HoldsOptions,
  ) {
    this.batcher = new KeyedBatcher((_lane, items) => this.placeHoldBatch(items), 400);
  }

  private readonly batcher: KeyedBatcher<BatchItem & { departureId: string }, { result: BatchResult; departure: DepAvail; at: Date }>;

  /** Holds are group-committed in a few lanes; a departure always goes through the same lane. */
  private static readonly LANES = 4;
  private laneOf(departureId: string) {
    return `lane:${parseInt(departureId.slice(-2), 16) % HoldsService.LANES}`;
  }

  /**
   * One batch of holds, on any number of departures: one statement (cx_place_holds_multi, departures locked
   * in id order, each decided exactly as cx_place_holds does on its own), one commit.
   */
  private async placeHoldBatch(all: (BatchItem & { departureId: string })[]) {
    const at = new Date();
    const byDep = new Map<string, number[]>();
    all.forEach((it, i) => byDep.set(it.departureId, [...(byDep.get(it.departureId) ?? []), i]));
    const batches = [...byDep].map(([departureId, idx]) => ({
      departureId,
      items: idx.map((i) => {
        const { departureId: _d, ...item } = all[i]!;
        return item;
      }),
    }));
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await sql<{ r: { departureId: string; r: { results: BatchResult[]; departure: DepAvail } }[] }>`select cx_place_holds_multi(${JSON.stringify(batches)}::jsonb, ${at}, ${this.opts.holdTtlMs}::bigint, ${this.sharePct}::int) as r`.execute(this.db);
        const out: { result: BatchResult; departure: DepAvail; at: Date }[] = new Array(all.length);
        for (const { departureId, r: res } of r.rows[0]!.r) {
          byDep.get(departureId)!.forEach((i, k) => (out[i] = { result: res.results[k] ?? { status: 'insufficient_capacity' }, departure: res.departure, at }));
        }
        // expiry jobs of the whole batch in one round trip, not awaited: the answer never waits for Redis
        // (the periodic sweep expires a hold whose job could not be enqueued)
        const now = Date.now();
        const expiring = all.flatMap((it, i) => {
          const res = out[i]!.result;
          const id = res.status === 'ok' ? res.id : undefined;
          const due = Date.parse(res.expiresAt ?? it.expiresAt);
          return id ? [{ name: 'hold.expire' as const, data: { holdId: id }, opts: { jobId: `hold.expire-${id}`, delay: Math.max(0, due - now) } }] : [];
        });
        if (expiring.length) void this.queues?.addBulk(expiring).catch(() => {});
        return out;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt >= 5 || (code !== '40P01' && code !== '40001')) throw err;
      }
    }
  }

  /**
   * A listing with the departure fields the hold path needs, cached in-process for 2 s. Staleness is
   * harmless: whether the listing is open and has capacity is decided by Redis and then Postgres.
   */
  private async listingMeta(listingId: string, now: Date) {
    const hit = this.metaCache.get(listingId);
    if (hit && hit.until > now.getTime()) return hit.row;
    const row = await this.loadMeta(listingId);
    if (this.metaCache.size > 10_000) this.metaCache.clear();
    if (row) this.metaCache.set(listingId, { row, until: now.getTime() + 2000 });
    return row;
  }

  private readonly metaCache = new Map<string, { row: NonNullable<Awaited<ReturnType<HoldsService['loadMeta']>>>; until: number }>();

  private loadMeta(listingId: string) {
    return this.db
      .selectFrom('listings as l')
      .innerJoin('departures as d', 'd.id', 'l.departure_id')
      .selectAll('l')
      .select(['d.corridor_id', 'd.cutoff_at', 'd.capacity_teu', 'd.capacity_tonnes'])
      .where('l.id', '=', listingId)
      .executeTakeFirst();
  }

  async create(p: Principal, input: { listingId: string; teu: number; tonnes: number }, idem?: IdemKey, now = new Date()) {
    policy.requireOrgKind(p, 'forwarder');
    const listing = await this.listingMeta(input.listingId, now);
    if (!listing) throw notFound('listing');
    if (listing.format !== 'fixed' && listing.format !== 'falling') {
      throw conflict('wrong_format', `a ${listing.format} listing takes bids, not holds`);
    }
    const pre = checkHold(
      { capacityTeu: listing.capacity_teu, capacityTonnes: listing.capacity_tonnes, heldTeu: 0, heldTonnes: 0, bookedTeu: 0, bookedTonnes: 0, cutoffAt: listing.cutoff_at },
      input,
      now,
    );
    if (!pre.ok) throw this.refusal(pre.code, pre.message);
    if (listing.status !== 'open') throw conflict('listing_closed', 'this listing is no longer open');

    // 1. Redis: cheap atomic admission (a filter only; Postgres below is the guard).
    const res = await this.cache
      .reserve(listing.corridor_id, listing.departure_id, listing.id, input.teu, input.tonnes, now)
      .catch(() => ({ ok: true as const, gen: '' })); // Redis down: Postgres alone decides
    if (!res.ok) throw this.refusal(res.code);
    const reservation = res.gen ? { gen: res.gen, listingId: listing.id, teu: input.teu, tonnes: input.tonnes } : null;

    // 2. Postgres: the truth.
    const unitPrice = currentUnitPrice(listing, now) ?? 0;
    const expiresAt = holdExpiresAt(now, this.opts.holdTtlMs);
    let outcome: { hold: Hold; dep: DepAvail; remaining: number; replay: boolean } | undefined;
    try {
      outcome = !idem
        ? await this.placeBatched(p, listing.departure_id, { listingId: listing.id, teu: input.teu, tonnes: input.tonnes, unitPrice, expiresAt }, now)
        : await inTransaction(this.db, async (tx) => {
        const claim = await claimKey<Hold>(tx, idem);
        if (claim.kind === 'replay') return { hold: claim.body, dep: null as never, remaining: -1, replay: true };
        // lock order of every capacity path: departure, then listing
        await tx.selectFrom('departures').select('id').where('id', '=', listing.departure_id).forUpdate().execute();
        await this.checkShare(tx, p.orgId, listing.departure_id, listing.capacity_teu, input.teu);
        const l = await tx
          .updateTable('listings')
          .set({ remaining_teu: sql`remaining_teu - ${input.teu}`, updated_at: now })
          .where('id', '=', listing.id)
          .where('status', '=', 'open')
          .where('remaining_teu', '>=', input.teu)
          .returning(['remaining_teu'])
          .executeTakeFirst();
        if (!l) throw await this.whyRefused(tx, listing.departure_id, listing.id, input, now);
        const dep = await tx
          .updateTable('departures')
          .set({
            held_teu: sql`held_teu + ${input.teu}`,
            held_tonnes: sql`held_tonnes + ${input.tonnes}`,
            seq: sql`seq + 1`,
            updated_at: now,
          })
          .where('id', '=', listing.departure_id)
          .where('status', '=', 'scheduled')
          .where('cutoff_at', '>', now)
          .where(sql<boolean>`held_teu + booked_teu + ${input.teu} <= capacity_teu`)
          .where(sql<boolean>`held_tonnes + booked_tonnes + ${input.tonnes} <= capacity_tonnes`)
          .returning(DEP_AVAIL)
          .executeTakeFirst();
        if (!dep) throw await this.whyRefused(tx, listing.departure_id, listing.id, input, now);
        const row = await tx
          .insertInto('holds')
          .values({
            listing_id: listing.id,
            departure_id: listing.departure_id,
            org_id: p.orgId,
            user_id: p.userId,
            teu: input.teu,
            tonnes: input.tonnes,
            unit_price_cents: unitPrice,
            // from the database clock at commit time, not the request's start: a request that waited
            // (for a lock, for a slow Redis) never hands out a hold that lives less than its TTL
            expires_at: sql<Date>`clock_timestamp() + make_interval(secs => ${this.opts.holdTtlMs / 1000})`,
            created_at: now,
          })
          .returning(['id', 'listing_id', 'departure_id', 'teu', 'tonnes', 'unit_price_cents', 'status', 'expires_at', 'created_at'])
          .executeTakeFirstOrThrow();
        await audit(tx, p, 'hold.create', { type: 'hold', id: row.id }, { listingId: listing.id, teu: input.teu, tonnes: input.tonnes });
        const hold = toHold(row);
        await storeAnswer(tx, idem, 201, hold);
        return { hold, dep, remaining: l.remaining_teu, replay: false };
      });
    } catch (err) {
      await this.cache.settle(listing.corridor_id, listing.departure_id, reservation, null);
      if (err instanceof AppError && err.code === 'insufficient_capacity' && reservation) {
        // Redis admitted what Postgres refused: they disagree, rebuild the cache from Postgres.
        await this.cache.invalidate(listing.corridor_id, listing.departure_id);
      }
      throw err;
    }
    if (outcome.replay) {
      await this.cache.settle(listing.corridor_id, listing.departure_id, reservation, null);
      return outcome.hold;
    }
    const { hold, dep, remaining } = outcome;
    await this.cache.settle(listing.corridor_id, listing.departure_id, reservation, {
      seq: Number(dep.seq),
      usedTeu: dep.held_teu + dep.booked_teu,
      usedTonnes: dep.held_tonnes + dep.booked_tonnes,
      listingId: listing.id,
      listingRemaining: remaining,
    });
    await this.afterCommit([availabilityEvent(dep), listingUpdateEvent({ id: listing.id, status: 'open', remaining_teu: remaining }, unitPrice)]);
    if (idem) {
      // (batched holds got theirs with their batch)
      void this.queues
        ?.add('hold.expire', { holdId: hold.id }, { jobId: `hold.expire-${hold.id}`, delay: Math.max(0, Date.parse(hold.expiresAt) - Date.now()) })
        .catch(() => {}); // the periodic sweep catches a hold whose job could not be enqueued
    }
    return hold;
  }

  /**
   * Places a hold through the per-departure batcher: concurrent holds on one departure share one
   * statement (cx_place_holds) and one commit — group commit at the application level. Each request still
   * gets its own answer only after the commit that made its hold durable.
   */
  private async placeBatched(
    p: Principal,
    departureId: string,
    item: { listingId: string; teu: number; tonnes: number; unitPrice: number; expiresAt: Date },
    now: Date,
  ): Promise<{ hold: Hold; dep: DepAvail; remaining: number; replay: boolean }> {
    const r = await this.batcher.submit(this.laneOf(departureId), {
      departureId,
      listingId: item.listingId,
      teu: item.teu,
      tonnes: item.tonnes,
      unitPriceCents: item.unitPrice,
      expiresAt: item.expiresAt.toISOString(),
      orgId: p.orgId,
      userId: p.userId ?? '',
      apiKeyId: p.apiKeyId ?? '',
    });
    if (r.result.status !== 'ok') throw this.refusal(r.result.status);
    const hold: Hold = {
      id: r.result.id!,
      listingId: item.listingId,
      departureId,
      teu: item.teu,
      tonnes: item.tonnes,
      unitPriceCents: item.unitPrice,
      totalCents: totalCents(item.unitPrice, item.teu),
      status: 'active',
      expiresAt: r.result.expiresAt ? new Date(r.result.expiresAt).toISOString() : item.expiresAt.toISOString(),
      createdAt: r.at.toISOString(),
    };
    void now;
    return { hold, dep: r.departure, remaining: r.result.listingRemaining!, replay: false };
  }

  /**
   * The naive baseline the benchmark compares against: one Postgres transaction with SELECT … FOR UPDATE
   * per hold and no Redis. Correct, but every request — accepted or refused — queues on the row lock.
   */
  async createNaive(p: Principal, input: { listingId: string; teu: number; tonnes: number }, now = new Date()) {
    policy.requireOrgKind(p, 'forwarder');
    return inTransaction(this.db, async (tx) => {
      const l = await tx.selectFrom('listings').selectAll().where('id', '=', input.listingId).forUpdate().executeTakeFirst();
      if (!l) throw notFound('listing');
      const d = await tx.selectFrom('departures').selectAll().where('id', '=', l.departure_id).forUpdate().executeTakeFirstOrThrow();
      const check = checkHold(
        { capacityTeu: d.capacity_teu, capacityTonnes: d.capacity_tonnes, heldTeu: d.held_teu, heldTonnes: d.held_tonnes, bookedTeu: d.booked_teu, bookedTonnes: d.booked_tonnes, cutoffAt: d.cutoff_at },
        input,
        now,
      );
      if (!check.ok) throw this.refusal(check.code, check.message);
      if (l.status !== 'open' || l.remaining_teu < input.teu) throw this.refusal('insufficient_capacity');
      await this.checkShare(tx, p.orgId, d.id, d.capacity_teu, input.teu);
      await tx.updateTable('listings').set({ remaining_teu: l.remaining_teu - input.teu }).where('id', '=', l.id).execute();
      await tx
        .updateTable('departures')
        .set({ held_teu: d.held_teu + input.teu, held_tonnes: d.held_tonnes + input.tonnes, seq: Number(d.seq) + 1 })
        .where('id', '=', d.id)
        .execute();
      const row = await tx
        .insertInto('holds')
        .values({
          listing_id: l.id, departure_id: d.id, org_id: p.orgId, user_id: p.userId, teu: input.teu, tonnes: input.tonnes,
          unit_price_cents: currentUnitPrice(l, now) ?? 0, expires_at: holdExpiresAt(now, this.opts.holdTtlMs), created_at: now,
        })
        .returning(['id', 'listing_id', 'departure_id', 'teu', 'tonnes', 'unit_price_cents', 'status', 'expires_at', 'created_at'])
        .executeTakeFirstOrThrow();
      await audit(tx, p, 'hold.create', { type: 'hold', id: row.id }, { naive: true });
      return toHold(row);
    });
  }

  private get sharePct() {
    return this.opts.holdMaxSharePct ?? 50;
  }

  /**
   * Per-organisation cap on the held share of a departure (the caller holds the departure's row lock). The
   * batch path decides the same rule inside cx_place_holds_multi.
   */
  private async checkShare(tx: Tx, orgId: string, departureId: string, capacityTeu: number, teu: number) {
    const r = await tx
      .selectFrom('holds')
      .select(sql<number>`coalesce(sum(teu), 0)::int`.as('n'))
      .where('departure_id', '=', departureId)
      .where('org_id', '=', orgId)
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow();
    const ok = checkHoldShare(capacityTeu, r.n, teu, this.sharePct);
    if (!ok.ok) throw conflict(ok.code, ok.message);
  }

  private refusal(code: string, message?: string): AppError {
    switch (code) {
      case 'hold_share_exceeded':
        return conflict('hold_share_exceeded', message ?? `one organisation may hold at most ${this.sharePct} % of a departure at once`);
      case 'past_cutoff':
        return conflict('past_cutoff', message ?? 'the cut-off for this departure has passed');
      case 'listing_closed':
        return conflict('listing_closed', message ?? 'this listing is no longer open');
      case 'invalid_quantity':
        return new AppError(400, 'invalid_quantity', message ?? 'teu must be a whole number ≥ 1 and tonnes at least 1 per TEU');
      default:
        return conflict('insufficient_capacity', message ?? 'not enough free capacity on this departure');
    }
  }

  /** After a conditional update matched nothing: which rule refused it? */
  private async whyRefused(tx: Tx, departureId: string, listingId: string, input: { teu: number; tonnes: number }, now: Date) {
    const d = await tx.selectFrom('departures').selectAll().where('id', '=', departureId).executeTakeFirstOrThrow();
    const l = await tx.selectFrom('listings').select(['status', 'remaining_teu']).where('id', '=', listingId).executeTakeFirstOrThrow();
    if (d.status !== 'scheduled' || l.status !== 'open') return this.refusal('listing_closed');
    const check = checkHold(
      { capacityTeu: d.capacity_teu, capacityTonnes: d.capacity_tonnes, heldTeu: d.held_teu, heldTonnes: d.held_tonnes, bookedTeu: d.booked_teu, bookedTonnes: d.booked_tonnes, cutoffAt: d.cutoff_at },
      input,
      now,
    );
    if (!check.ok) return this.refusal(check.code, check.message);
    return conflict('insufficient_capacity', `only ${l.remaining_teu} TEU remain on this listing`);
  }

  /** Enqueues what the transaction wrote to the outbox (the worker's drainer is the safety net). */
  private drain() {
    kickOutbox(this.db, this.queues);
  }

  private async afterCommit(events: LiveEvent[]) {
    await this.events.emit(events).catch(() => {}); // live pushes are best effort; clients re-read on seq gaps
  }

  async list(p: Principal) {
    policy.requireOrgKind(p, 'forwarder', 'platform');
    const rows = await this.db
      .selectFrom('holds')
      .select(['id', 'listing_id', 'departure_id', 'teu', 'tonnes', 'unit_price_cents', 'status', 'expires_at', 'created_at'])
      .where('org_id', '=', p.orgId)
      .where('status', '=', 'active')
      .where('expires_at', '>', new Date())
      .orderBy('expires_at')
      .execute();
    return rows.map(toHold);
  }

  /**
   * Ends an active hold (released by its holder, expired, or the listing was cancelled) and gives its
   * capacity back. Idempotent: a hold that is no longer active is left alone and `null` returned.
   */
  async end(
    holdId: string,
    how: 'released' | 'expired' | 'cancelled',
    actor: Principal | null,
    now = new Date(),
  ): Promise<{ hold: Hold; orgId: string } | null> {
    const where = await this.db.selectFrom('holds').select('departure_id').where('id', '=', holdId).executeTakeFirst();
    if (!where) return null;
    const done = await inTransaction(this.db, async (tx) => {
      // lock order of every capacity path: departure, then listing
      await tx.selectFrom('departures').select('id').where('id', '=', where.departure_id).forUpdate().execute();
      let q = tx
        .updateTable('holds')
        .set({ status: how, ended_at: now })
        .where('id', '=', holdId)
        .where('status', '=', 'active');
      if (how === 'expired') q = q.where('expires_at', '<=', now);
      if (how === 'released' && actor) q = q.where('org_id', '=', actor.orgId);
      const h = await q
        .returning(['id', 'listing_id', 'departure_id', 'org_id', 'teu', 'tonnes', 'unit_price_cents', 'status', 'expires_at', 'created_at'])
        .executeTakeFirst();
      if (!h) return null;
      const { l, dep } = await giveBack(tx, 'held', h.listing_id, h.departure_id, h.teu, h.tonnes, now);
      await audit(tx, actor, `hold.${how === 'released' ? 'release' : how === 'expired' ? 'expire' : 'cancel'}`, { type: 'hold', id: h.id });
      return { h, l, dep };
    });
    if (!done) return null;
    const { h, l, dep } = done;
    await this.cache.settle(dep.corridor_id, dep.id, null, {
      seq: Number(dep.seq),
      usedTeu: dep.held_teu + dep.booked_teu,
      usedTonnes: dep.held_tonnes + dep.booked_tonnes,
      listingId: l.id,
      listingRemaining: l.status === 'open' ? l.remaining_teu : 'closed',
    });
    const events: LiveEvent[] = [availabilityEvent(dep), listingUpdateEvent(l)];
    if (how !== 'released') {
      events.push({ rooms: [rooms.org(h.org_id)], event: 'hold:expired', payload: { holdId: h.id, listingId: h.listing_id, reason: how } });
    }
    await this.afterCommit(events);
    return { hold: toHold(h), orgId: h.org_id };
  }

  async isActiveAndNotYetDue(holdId: string, now = new Date()): Promise<boolean> {
    const h = await this.db.selectFrom('holds').select(['status', 'expires_at']).where('id', '=', holdId).executeTakeFirst();
    return !!h && h.status === 'active' && h.expires_at > now;
  }

  /** DELETE /api/holds/:id — the holder gives the capacity back. */
  async release(p: Principal, holdId: string) {
    // Only a forwarder (the holder) or the platform may ever release a hold: any other organisation kind is
    // refused with 403 before the lookup, like confirm — it used to get 404 (access matrix, issue 5).
    policy.requireOrgKind(p, 'forwarder', 'platform');
    const owner = await this.db.selectFrom('holds').select(['org_id', 'status']).where('id', '=', holdId).executeTakeFirst();
    if (!owner || !policy.canSeePrivate(p, [owner.org_id])) throw notFound('hold');
    if (owner.status !== 'active') throw conflict('hold_not_active', `this hold is ${owner.status}`);
    const r = await this.end(holdId, 'released', p.orgKind === 'platform' ? null : p);
    if (!r) throw conflict('hold_not_active', 'this hold is no longer active');
  }

  /**
   * Expires every active hold past its time (the worker's start-up and periodic sweep). Each hold on its
   * own: one that fails is logged, counted and left out of the next sweeps for a while (back-off), so it
   * can neither stop nor crowd out the others. Returns how many expired.
   */
  async sweepExpired(now = new Date(), log?: SweepLog): Promise<number> {
    return (await this.sweepExpiredDetailed(now, log)).expired;
  }

  async sweepExpiredDetailed(now = new Date(), log?: SweepLog): Promise<{ expired: number; failed: number }> {
    const skip = this.sweepFailures.excluded();
    let q = this.db.selectFrom('holds').select('id').where('status', '=', 'active').where('expires_at', '<=', now);
    if (skip.length) q = q.where('id', 'not in', skip);
    const due = await q.orderBy('expires_at').limit(1000).execute();
    const r = await eachIsolated('hold.expire', due, (h) => h.id, async ({ id }) => !!(await this.end(id, 'expired', null, now)), {
      failures: this.sweepFailures,
      ...(log ? { log } : {}),
    });
    return { expired: r.done, failed: r.failed };
  }

  private readonly sweepFailures = new RecentFailures();

  /** POST /api/holds/:id/confirm — turns an active hold into a booking (held → booked, capacity unchanged). */
  async confirm(
    p: Principal,
    holdId: string,
    input: { reference?: string; cargo?: { containers?: unknown; dangerousGoods?: boolean } },
    idem?: IdemKey,
    now = new Date(),
  ): Promise<Booking> {
    policy.requireOrgKind(p, 'forwarder');
    const result = await inTransaction(this.db, async (tx) => {
      if (idem) {
        const claim = await claimKey<Booking>(tx, idem);
        if (claim.kind === 'replay') return { booking: claim.body, operatorOrgId: null, replay: true };
      }
      // The listing must still sell: a hold on a listing cancelled a moment ago (its holds are released just
      // after the cancel commits) is refused. Lock order of every capacity path: departure, then listing;
      // the listing's share lock waits for a cancel in flight and keeps one from committing under us.
      const ref = await tx.selectFrom('holds').select(['departure_id', 'listing_id']).where('id', '=', holdId).where('org_id', '=', p.orgId).executeTakeFirst();
      if (ref) {
        await tx.selectFrom('departures').select('id').where('id', '=', ref.departure_id).forUpdate().execute();
        const l = await tx.selectFrom('listings').select('status').where('id', '=', ref.listing_id).forShare().executeTakeFirst();
        if (l && l.status !== 'open') throw conflict('listing_closed', `this listing is ${l.status}; the hold can no longer be confirmed`);
      }
      const h = await tx
        .updateTable('holds')
        .set({ status: 'confirmed', ended_at: now })
        .where('id', '=', holdId)
        .where('org_id', '=', p.orgId)
        .where('status', '=', 'active')
        .where('expires_at', '>', now)
        .returning(['id', 'listing_id', 'departure_id', 'teu', 'tonnes', 'unit_price_cents'])
        .executeTakeFirst();
      if (!h) {
        const existing = await tx.selectFrom('holds').select(['status', 'org_id', 'expires_at']).where('id', '=', holdId).executeTakeFirst();
        if (!existing || existing.org_id !== p.orgId) throw notFound('hold');
        if (existing.status === 'expired' || (existing.status === 'active' && existing.expires_at <= now)) {
          throw conflict('hold_expired', 'this hold has expired; hold the capacity again');
        }
        throw conflict('hold_not_active', `this hold is ${existing.status}`);
      }
      const dep = await tx
        .updateTable('departures')
        .set({
          held_teu: sql`held_teu - ${h.teu}`,
          held_tonnes: sql`held_tonnes - ${h.tonnes}`,
          booked_teu: sql`booked_teu + ${h.teu}`,
          booked_tonnes: sql`booked_tonnes + ${h.tonnes}`,
          updated_at: now,
        })
        .where('id', '=', h.departure_id)
        .returning(['operator_org_id', 'corridor_id'])
        .executeTakeFirstOrThrow();
      const em = await emissionsFor(tx, dep.corridor_id, h.tonnes);
      const b = await tx
        .insertInto('bookings')
        .values({
          departure_id: h.departure_id,
          listing_id: h.listing_id,
          hold_id: h.id,
          forwarder_org_id: p.orgId,
          user_id: p.userId,
          teu: h.teu,
          tonnes: h.tonnes,
          unit_price_cents: h.unit_price_cents,
          total_cents: totalCents(h.unit_price_cents, h.teu),
          reference: input.reference ?? null,
          cargo: input.cargo ? JSON.stringify(input.cargo) : null,
          co2e_kg: em.co2eKg,
          road_co2e_kg: em.roadCo2eKg,
          created_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(tx, p, 'booking.confirm', { type: 'booking', id: b.id }, { holdId: h.id, totalCents: b.total_cents });
      await enqueueInTx(tx, 'booking.settle', { bookingId: b.id }, `booking.settle-${b.id}`);
      const booking = toBooking(b);
      if (idem) await storeAnswer(tx, idem, 201, booking);
      return { booking, operatorOrgId: dep.operator_org_id, replay: false };
    });
    if (!result.replay) {
      this.drain();
      void this.queues?.remove('hold.expire', `hold.expire-${holdId}`).catch(() => {});
      await this.afterCommit([
        { rooms: [rooms.org(p.orgId), rooms.org(result.operatorOrgId!)], event: 'booking:confirmed', payload: result.booking },
      ]);
    }
    return result.booking;
  }

  async bookings(p: Principal) {
    let q = this.db.selectFrom('bookings as b').selectAll('b');
    if (p.orgKind === 'operator') {
      q = q.innerJoin('departures as d', 'd.id', 'b.departure_id').where('d.operator_org_id', '=', p.orgId);
    } else if (p.orgKind !== 'platform') {
      q = q.where('b.forwarder_org_id', '=', p.orgId);
    }
    const rows = await q.orderBy('b.created_at', 'desc').limit(1000).execute();
    return rows.map(toBooking);
  }

  async booking(p: Principal, id: string) {
    const row = await this.db
      .selectFrom('bookings as b')
      .innerJoin('departures as d', 'd.id', 'b.departure_id')
      .selectAll('b')
      .select(['d.operator_org_id', 'd.departs_at', 'd.cutoff_at'])
      .where('b.id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('booking');
    policy.requireSeePrivate(p, [row.forwarder_org_id, row.operator_org_id], 'booking');
    return row;
  }

  /** The fee a cancellation would cost now (shown to the forwarder before confirming). */
  async cancellationPreview(p: Principal, id: string, now = new Date()) {
    const b = await this.booking(p, id);
    const rule = await this.feeRuleOf(b.listing_id);
    return { ...cancellationFee(rule, b.total_cents, { departsAt: b.departs_at, cutoffAt: b.cutoff_at }, now), rule };
  }

  private async feeRuleOf(listingId: string): Promise<FeeRule> {
    const l = await this.db.selectFrom('listings').select('fee_rule').where('id', '=', listingId).executeTakeFirst();
    const v = l?.fee_rule ? validateFeeRule(l.fee_rule) : null;
    return v && v.ok ? v.rule : DEFAULT_FEE_RULE;
  }

  /** DELETE /api/bookings/:id — cancels under the listing's fee rule; capacity returns to the listing. */
  async cancel(p: Principal, id: string, idem?: IdemKey, now = new Date()): Promise<Booking> {
    policy.requireOrgKind(p, 'forwarder');
    const existing = await this.db.selectFrom('bookings').select(['forwarder_org_id', 'listing_id']).where('id', '=', id).executeTakeFirst();
    if (!existing || existing.forwarder_org_id !== p.orgId) throw notFound('booking');
    const rule = await this.feeRuleOf(existing.listing_id);
    const result = await inTransaction(this.db, async (tx) => {
      if (idem) {
        const claim = await claimKey<Booking>(tx, idem);
        if (claim.kind === 'replay') return { booking: claim.body, dep: null, l: null, replay: true };
      }
      const cur = await tx
        .selectFrom('bookings as b')
        .innerJoin('departures as d', 'd.id', 'b.departure_id')
        .select(['b.status', 'b.total_cents', 'b.departure_id', 'd.departs_at', 'd.cutoff_at'])
        .where('b.id', '=', id)
        .forUpdate('b')
        .executeTakeFirstOrThrow();
      // lock order of every capacity path: departure, then listing
      await tx.selectFrom('departures').select('id').where('id', '=', cur.departure_id).forUpdate().execute();
      // 'settled' is the money state of a live booking: it can still be cancelled (the refund job gives back
      // charge − fee with a credit note).
      if (cur.status !== 'confirmed' && cur.status !== 'settled') throw conflict('booking_not_active', `this booking is ${cur.status}`);
      const fee = cancellationFee(rule, cur.total_cents, { departsAt: cur.departs_at, cutoffAt: cur.cutoff_at }, now);
      const b = await tx
        .updateTable('bookings')
        .set({ status: 'cancelled', cancelled_at: now, cancellation_fee_cents: fee.feeCents })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const { l, dep } = await giveBack(tx, 'booked', b.listing_id, b.departure_id, b.teu, b.tonnes, now);
      await audit(tx, p, 'booking.cancel', { type: 'booking', id }, { feeCents: fee.feeCents, band: fee.band });
      await enqueueInTx(tx, 'booking.refund', { bookingId: id }, `booking.refund-${id}`);
      const booking = toBooking(b);
      if (idem) await storeAnswer(tx, idem, 200, booking);
      return { booking, dep, l, replay: false };
    });
    if (!result.replay && result.dep && result.l) {
      this.drain();
      const { dep, l } = result;
      await this.cache.settle(dep.corridor_id, dep.id, null, {
        seq: Number(dep.seq),
        usedTeu: dep.held_teu + dep.booked_teu,
        usedTonnes: dep.held_tonnes + dep.booked_tonnes,
        listingId: l.id,
        listingRemaining: l.status === 'open' ? l.remaining_teu : 'closed',
      });
      await this.afterCommit([availabilityEvent(dep), listingUpdateEvent(l)]);
    }
    return result.booking;
  }
}
