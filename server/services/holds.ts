import { keepingRefusal } from './kept-refusals.ts';
import type { Db } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { lockDeparture, releaseLoad } from '../adapters/db/departures-repo.ts';
import {
  activeHoldIdsOfListing, activeHoldsOfOrg, activeHoldsOnDepartures, dueHoldIds, endActiveHold, findHold, toHold,
} from '../adapters/db/holds-repo.ts';
import { listingsForHold } from '../adapters/db/history-repo.ts';
import { storedAnswer, type IdemKey } from '../adapters/db/idempotency.ts';
import { currentUnitPrice, listingForHold, returnTeuToListing } from '../adapters/db/listings-repo.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import { availabilityEvent, holdEndedEvent, listingUpdateEvent, type EventSink, type LiveEvent } from '../adapters/realtime/events.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import { checkHold, holdExpiresAt } from '../core/capacity.ts';
import { AppError, conflict, notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import type { Hold, HoldWithDeparture, NewHoldBody, OperatorHold } from '../domain/schemas/trade.ts';
import { partOfItinerary } from './bookings.ts';
import { committedLoad } from './capacity-sync.ts';
import { endItinerary } from './itinerary-legs.ts';
import { HoldBatches, holdRefusal, type HoldOutcome, type HoldRequest } from './hold-batch.ts';
import { eachIsolated, RecentFailures, type SweepLog } from './sweep.ts';
import { holdExpiredEvents, tellWebhooks } from './webhook-events.ts';
import { kickOutbox } from '../adapters/db/outbox.ts';
import { watchesOnFreed, type OfferCascade } from './offers/cascade.ts';

interface HoldsOptions {
  holdTtlMs: number;
  /** Most of a departure's TEU one organisation may hold at once, in % (HOLD_MAX_SHARE_PCT; default 50). */
  holdMaxSharePct?: number;
  /** An expired hold's capacity is first offered to matching watches (issue 14; absent: straight back to the board). */
  offers?: OfferCascade;
}

type ListingMeta = NonNullable<Awaited<ReturnType<typeof listingForHold>>>;

/**
 * The hold rules checked before any lock, against the departure's whole capacity (nothing held or booked yet): a
 * request larger than the departure is refused at once, saying so — the free capacity is decided under the lock.
 */
function precheck(
  l: { capacity_teu: number; capacity_tonnes: number; cutoff_at: Date; opens_at: Date | null },
  req: { teu: number; tonnes: number },
  now: Date,
): ReturnType<typeof checkHold> {
  const pre = checkHold({ capacityTeu: l.capacity_teu, capacityTonnes: l.capacity_tonnes, heldTeu: 0, heldTonnes: 0, bookedTeu: 0, bookedTonnes: 0, cutoffAt: l.cutoff_at, opensAt: l.opens_at }, req, now);
  if (pre.ok || pre.code !== 'insufficient_capacity') return pre;
  return { ...pre, message: `more than this departure carries (${l.capacity_teu} TEU, ${l.capacity_tonnes} t), ${req.teu} TEU and ${req.tonnes} t requested` };
}

/**
 * Holds of fixed and falling listings: the no-overbooking hot path. (Confirming a hold into a booking is
 * the bookings service's.)
 *
 * Hold: Redis admits or refuses atomically (Lua) → Postgres decides under the departure's row lock
 * (cx_place_holds_multi: held + booked ≤ capacity in TEU and tonnes, listing remaining ≥ 0, the held share;
 * CHECK constraints the last guard) and commits → the answer → cache update, live events, expiry job. A hold
 * is durable in Postgres before the client hears of it. Every hold, with an Idempotency-Key or without, goes
 * through the same group commit (HoldBatches).
 */
export class HoldsService {
  private readonly batches: HoldBatches;
  private readonly metaCache = new Map<string, { row: ListingMeta; until: number }>();
  private readonly sweepFailures = new RecentFailures();

  constructor(
    private readonly db: Db,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
    private readonly queues: Queues | null,
    private readonly opts: HoldsOptions,
  ) {
    this.batches = new HoldBatches(db, queues, { holdTtlMs: opts.holdTtlMs, sharePct: this.sharePct });
  }

  private get sharePct() {
    return this.opts.holdMaxSharePct ?? 50;
  }

  /**
   * A listing with the departure fields the hold path needs, cached in-process for 2 s. Staleness is
   * harmless: whether the listing is open and has capacity is decided by Redis and then Postgres.
   */
  private async listingMeta(listingId: string, now: Date) {
    const hit = this.metaCache.get(listingId);
    if (hit && hit.until > now.getTime()) return hit.row;
    const row = await listingForHold(this.db, listingId);
    if (this.metaCache.size > 10_000) this.metaCache.clear();
    if (row) this.metaCache.set(listingId, { row, until: now.getTime() + 2000 });
    return row;
  }

  /** POST /api/holds — `idem`: the request's Idempotency-Key (a retry replays the first answer). */
  create(p: Principal, input: NewHoldBody, idem?: IdemKey, now = new Date()): Promise<Hold> {
    return keepingRefusal(this.db, idem, () => this.#create(p, input, idem, now));
  }

  async #create(p: Principal, input: NewHoldBody, idem: IdemKey | undefined, now: Date): Promise<Hold> {
    policy.requireOrgKind(p, 'forwarder');
    // a key's answer first: the checks below look at the state now, and a retry must get the first answer
    if (idem) {
      const known = await storedAnswer<Hold>(this.db, idem);
      if (known) return known.body;
    }
    const listing = await this.listingMeta(input.listingId, now);
    if (!listing) throw notFound('listing');
    if (listing.format !== 'fixed' && listing.format !== 'falling') {
      throw conflict('wrong_format', `a ${listing.format} listing takes bids, not holds`);
    }
    const pre = precheck(listing, input, now);
    if (!pre.ok) throw holdRefusal(pre.code, this.sharePct, pre.message);
    if (listing.status !== 'open') throw conflict('listing_closed', 'this listing is no longer open');

    // 1. Redis: cheap atomic admission (a filter only; Postgres below is the guard).
    const res = await this.cache
      .reserve(listing.corridor_id, listing.departure_id, listing.id, input.teu, input.tonnes, now)
      .catch(() => ({ ok: true as const, gen: '' })); // Redis down: Postgres alone decides
    // A refusal with an Idempotency-Key may be the retry of a hold that took the last TEU: the keyed batch
    // below replays its stored answer, or Postgres refuses it the same way.
    if (!res.ok && !idem) throw holdRefusal(res.code, this.sharePct);
    const reservation = res.ok && res.gen ? { gen: res.gen, listingId: listing.id, teu: input.teu, tonnes: input.tonnes } : null;

    // 2. Postgres: the truth, through the group commit.
    const unitPrice = currentUnitPrice(listing, now) ?? 0;
    let outcome: HoldOutcome;
    try {
      outcome = await this.batches.submit({
        departureId: listing.departure_id,
        listingId: listing.id,
        teu: input.teu,
        tonnes: input.tonnes,
        unitPriceCents: unitPrice,
        expiresAt: holdExpiresAt(now, this.opts.holdTtlMs).toISOString(),
        orgId: p.orgId,
        userId: p.userId ?? '',
        apiKeyId: p.apiKeyId ?? '',
        ...(idem ? { idem } : {}),
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
    const { hold, departure: dep, listingRemaining } = outcome;
    const l = { id: listing.id, status: 'open', remaining_teu: listingRemaining };
    await this.cache.settle(listing.corridor_id, listing.departure_id, reservation, committedLoad(dep, l));
    await this.afterCommit([availabilityEvent(dep), listingUpdateEvent(l, unitPrice)]);
    return hold;
  }

  /**
   * Many holds decided at `now` in one statement — batch work whose clock is simulated (the history seed plays
   * past days). The same checks as `create` (forwarders only; an open fixed or falling listing; quantity and
   * cut-off at `now`; the price at `now`) and the same statement and rules (cx_place_holds_multi: capacity in
   * TEU and tonnes, cut-off, the held share), without the Redis admission filter and without expiry jobs (the
   * sweep ends holds left active). Departures still selling get their cached availability rebuilt. Answers in
   * the requests' order; a refusal is an AppError in its place.
   */
  async placeMany(reqs: { p: Principal; listingId: string; teu: number; tonnes: number }[], now: Date): Promise<(Hold | AppError)[]> {
    const metas = new Map((await listingsForHold(this.db, [...new Set(reqs.map((r) => r.listingId))])).map((l) => [l.id, l]));
    const out = new Array<Hold | AppError>(reqs.length);
    const todo: { i: number; req: HoldRequest }[] = [];
    reqs.forEach((r, i) => {
      try {
        policy.requireOrgKind(r.p, 'forwarder');
        const l = metas.get(r.listingId);
        if (!l) throw notFound('listing');
        if (l.format !== 'fixed' && l.format !== 'falling') throw conflict('wrong_format', `a ${l.format} listing takes bids, not holds`);
        const pre = precheck(l, r, now);
        if (!pre.ok) throw holdRefusal(pre.code, this.sharePct, pre.message);
        if (l.status !== 'open') throw conflict('listing_closed', 'this listing is no longer open');
        todo.push({
          i,
          req: {
            departureId: l.departure_id, listingId: l.id, teu: r.teu, tonnes: r.tonnes, unitPriceCents: currentUnitPrice(l, now) ?? 0,
            expiresAt: holdExpiresAt(now, this.opts.holdTtlMs).toISOString(), orgId: r.p.orgId, userId: r.p.userId ?? '', apiKeyId: r.p.apiKeyId ?? '',
          },
        });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        out[i] = err;
      }
    });
    const answers = todo.length ? await this.batches.placeAt(todo.map((t) => t.req), now) : [];
    const selling = new Map<string, string>();
    answers.forEach((a, n) => {
      const { i, req } = todo[n]!;
      out[i] = a instanceof Error ? (a instanceof AppError ? a : holdRefusal('insufficient_capacity', this.sharePct, a.message)) : a.hold;
      const l = metas.get(req.listingId)!;
      if (!(a instanceof Error) && l.cutoff_at.getTime() > Date.now()) selling.set(l.departure_id, l.corridor_id);
    });
    for (const [dep, corridor] of selling) await this.cache.invalidate(corridor, dep).catch(() => {});
    return out;
  }

  private async afterCommit(events: LiveEvent[]) {
    await this.events.emit(events).catch(() => {}); // live pushes are best effort; clients re-read on seq gaps
  }

  /** GET /api/holds — my organisation's active holds. */
  async list(p: Principal): Promise<HoldWithDeparture[]> {
    policy.requireOrgKind(p, 'forwarder', 'platform');
    return activeHoldsOfOrg(this.db, p.orgId, new Date());
  }

  /** Active holds on an operator's own departures (operator console). */
  async operatorHolds(p: Principal): Promise<OperatorHold[]> {
    policy.requireOrgKind(p, 'operator');
    return activeHoldsOnDepartures(this.db, policy.scopeOf(p), new Date());
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
    const where = await findHold(this.db, holdId);
    if (!where) return null;
    if (where.itinerary_id) {
      // the holds of an itinerary end together: every leg, and the itinerary (issue 12)
      const r = await endItinerary({ db: this.db, cache: this.cache, events: this.events }, where.itinerary_id, how, actor, now);
      const h = r?.ended.find((x) => x.id === holdId);
      return r && h ? { hold: h, orgId: r.itinerary.forwarder_org_id } : null;
    }
    const done = await inTransaction(this.db, async (tx) => {
      // lock order of every capacity path: departure, then listing
      await lockDeparture(tx, where.departure_id);
      const h = await endActiveHold(tx, holdId, how, now, how === 'released' && actor ? actor.orgId : undefined);
      if (!h) return null;
      await audit(tx, actor, `hold.${how === 'released' ? 'release' : how === 'expired' ? 'expire' : 'cancel'}`, { type: 'hold', id: h.id });
      if (how === 'expired') await tellWebhooks(tx, holdExpiredEvents([h]));
      // an expired hold's capacity is first offered to matching watches (issue 14): it stays reserved (held) for the offer
      const freed = { reason: 'expired_hold' as const, sourceId: h.id, departureId: h.departure_id, listingId: h.listing_id, teu: h.teu, tonnes: h.tonnes, freedByOrgId: h.org_id };
      const offered = how === 'expired' && this.opts.offers ? await this.opts.offers.start(tx, freed, 'held', now) : null;
      if (offered) return { h, offered, moved: null };
      const l = await returnTeuToListing(tx, h.listing_id, h.teu, now);
      const dep = await releaseLoad(tx, 'held', h.departure_id, h.teu, h.tonnes, now);
      await watchesOnFreed(tx, dep);
      return { h, offered: null, moved: { l, dep } };
    });
    if (!done) return null;
    const { h, moved, offered } = done;
    const events: LiveEvent[] = [...(offered?.events ?? [])];
    if (moved) {
      await this.cache.settle(moved.dep.corridor_id, moved.dep.id, null, committedLoad(moved.dep, moved.l));
      events.push(availabilityEvent(moved.dep), listingUpdateEvent(moved.l));
    }
    if (how !== 'released') events.push(holdEndedEvent(h, how));
    if (offered) kickOutbox(this.db, this.queues);
    await this.afterCommit(events);
    return { hold: toHold(h), orgId: h.org_id };
  }

  /** Ends every active hold of a listing that was just cancelled; returns how many ended. */
  async endAllOfListing(listingId: string, actor: Principal, now = new Date()): Promise<number> {
    const active = await activeHoldIdsOfListing(this.db, listingId);
    // each hold on its own: one that fails is logged (the expiry sweep ends it later); the others still end now
    const r = await eachIsolated('hold.cancel', active, (h) => h.id, async (h) => !!(await this.end(h.id, 'cancelled', actor, now)));
    return r.done;
  }

  async isActiveAndNotYetDue(holdId: string, now = new Date()): Promise<boolean> {
    const h = await findHold(this.db, holdId);
    return !!h && h.status === 'active' && h.expires_at > now;
  }

  /** DELETE /api/holds/:id — the holder gives the capacity back. */
  async release(p: Principal, holdId: string) {
    // Only a forwarder (the holder) or the platform may ever release a hold: any other organisation kind is
    // refused with 403 before the lookup, like confirm — it used to get 404 (access matrix, issue 5).
    policy.requireOrgKind(p, 'forwarder', 'platform');
    const owner = await findHold(this.db, holdId);
    if (!owner || !policy.canSeePrivate(p, [owner.org_id])) throw notFound('hold');
    if (owner.itinerary_id) throw partOfItinerary('hold', owner.itinerary_id);
    if (owner.status !== 'active') throw conflict('hold_not_active', `this hold is ${owner.status}`);
    const r = await this.end(holdId, 'released', policy.actsForAll(p) ? null : p);
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
    const due = await dueHoldIds(this.db, now, this.sweepFailures.excluded());
    const r = await eachIsolated('hold.expire', due, (h) => h.id, async ({ id }) => !!(await this.end(id, 'expired', null, now)), {
      failures: this.sweepFailures,
      ...(log ? { log } : {}),
    });
    return { expired: r.done, failed: r.failed };
  }
}
