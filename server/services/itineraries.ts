import type { Db, Tx } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { placeHoldsMulti, type HoldItem } from '../adapters/db/holds-repo.ts';
import {
  auditActsAt, confirmActiveHolds, insertBookings, lockDepartures, lockListingStatuses, markBookingsCancelled, moveHeldToBookedMany,
  releaseBookedMany, returnTeuToListings,
} from '../adapters/db/history-repo.ts';
import { claimKey, storeAnswer, type IdemKey } from '../adapters/db/idempotency.ts';
import {
  bookingsOfItineraries, chainLegs, departureLoads, findItinerary, insertItinerary, itinerariesOfScope, legHolds, legRowsOf, linkHolds,
  listingStates, lockItineraryOfOrg, lockLegBookings, storedIdemAnswer, updateItinerary, type ChainLegRow, type ItineraryRow,
} from '../adapters/db/itineraries-repo.ts';
import { currentUnitPrice } from '../adapters/db/listings-repo.ts';
import { kickOutbox, enqueueInTx } from '../adapters/db/outbox.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import { bookingConfirmedEvent, type EventSink } from '../adapters/realtime/events.ts';
import { holdExpiresAt, notOpenYet, quantityError } from '../core/capacity.ts';
import { cancellationFee, feeRuleOrDefault, notCancellable } from '../core/fees.ts';
import { totalCents } from '../core/pricing.ts';
import { planChain, type ChainCheck, type TimetableLeg } from '../core/routing.ts';
import { routingParams } from '../data/routing-params.ts';
import { AppError, conflict, notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import { MAX_ITINERARY_LEGS, type ConfirmItineraryBody, type Itinerary, type NewItineraryBody } from '../domain/schemas/itineraries.ts';
import { emissionsFor } from './bookings.ts';
import { holdRefusal } from './hold-batch.ts';
import { endItinerary, settleAndTell, sumByDeparture, toItinerary, type LegDeps } from './itinerary-legs.ts';
import { bookingEvents, tellWebhooks } from './webhook-events.ts';

interface ItineraryOptions {
  holdTtlMs: number;
  /** HOLD_MAX_SHARE_PCT, as for single holds (default 50). */
  holdMaxSharePct?: number;
}

type Reservation = { gen: string; listingId: string; teu: number; tonnes: number } | null;

/** An API error that names the leg it is about (`error.legIndex`, 0-based in the request's order). */
export function legError(err: AppError, legIndex: number): AppError {
  return new AppError(err.status, err.code, `leg ${legIndex}: ${err.message}`, { ...err.details, legIndex });
}

/** Static faults of the chain itself are bad input (400); what depends on the moment (capacity, cut-off) is 409. */
const STATIC_CHAIN_FAULTS = new Set(['not_connected', 'bad_connection', 'too_many_legs', 'wrong_mode']);
function chainRefusal(c: Extract<ChainCheck, { ok: false }>): AppError {
  // the core's message starts with its own "leg N: " (1-based); legError names the leg once, as every refusal does
  return legError(new AppError(STATIC_CHAIN_FAULTS.has(c.code) ? 400 : 409, c.code, c.message.replace(/^leg \d+: /, '')), c.legIndex);
}

/**
 * Itineraries (issue 12): a chain of legs held and booked as one thing.
 *
 * Hold: the legs are loaded from Postgres and checked as a chain (core planChain: connections, transfer times,
 * cut-offs, capacity) → Redis admits every leg (a filter, undone on any refusal) → ONE Postgres transaction inserts
 * the itinerary and places every leg's hold through cx_place_holds_multi (departures locked in id order; the same
 * capacity guard, cut-off and held share as single holds); any refused leg rolls everything back, so either every
 * leg is held or none is. All legs share one expiry and end together (itinerary-legs.ts). Confirm books every leg in
 * one transaction; DELETE releases every hold, or cancels every booking under each leg's fee rule.
 */
export class ItinerariesService {
  private readonly deps: LegDeps;

  constructor(
    private readonly db: Db,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
    private readonly queues: Queues | null,
    private readonly opts: ItineraryOptions,
  ) {
    this.deps = { db, cache, events };
  }

  private get sharePct() {
    return this.opts.holdMaxSharePct ?? 50;
  }

  /**
   * POST /api/itineraries — `idem`: the request's Idempotency-Key (a retry replays the first answer, even when the
   * checks below would now refuse it: its own holds may have taken the last TEU of a leg).
   */
  async create(p: Principal, input: NewItineraryBody, idem?: IdemKey, now = new Date()): Promise<Itinerary> {
    policy.requireOrgKind(p, 'forwarder');
    if (idem) {
      const stored = await this.storedAnswer(idem);
      if (stored) return stored;
    }
    const qty = quantityError(input);
    if (qty) throw new AppError(400, 'invalid_quantity', qty);
    const ids = input.legs.map((l) => l.listingId);
    const dup = ids.findIndex((id, i) => ids.indexOf(id) !== i);
    if (dup >= 0) throw legError(new AppError(400, 'duplicate_leg', 'each listing may appear once in an itinerary'), dup);

    const byId = new Map((await chainLegs(this.db, ids)).map((r) => [r.id, r]));
    const legs = ids.map((id, i) => {
      const r = byId.get(id);
      if (!r) throw legError(notFound('listing'), i);
      if (r.format !== 'fixed' && r.format !== 'falling') throw legError(conflict('wrong_format', `a ${r.format} listing takes bids, not holds`), i);
      if (r.status !== 'open' || r.departure_status !== 'scheduled') throw legError(conflict('listing_closed', 'this listing is no longer open'), i);
      const notOpen = notOpenYet(r.opens_at, now);
      if (notOpen) throw legError(conflict('listing_not_open', notOpen), i);
      return r;
    });
    const prices = legs.map((r) => currentUnitPrice(r, now) ?? 0);
    const check = planChain(legs.map((r, i) => timetableLeg(r, prices[i]!)), {
      from: legs[0]!.origin, to: legs[legs.length - 1]!.destination, teu: input.teu, tonnes: input.tonnes,
      readyAt: now.getTime(), deliverBy: Number.MAX_SAFE_INTEGER, now: now.getTime(), modes: ['rail', 'barge'], maxLegs: MAX_ITINERARY_LEGS,
    }, routingParams);
    if (!check.ok) throw chainRefusal(check);

    // 1. Redis: every leg admitted, or none (a filter only; Postgres below is the guard).
    const reservations: Reservation[] = [];
    const undo = () => Promise.all(legs.slice(0, reservations.length).map((r, i) => this.cache.settle(r.corridor_id, r.departure_id, reservations[i] ?? null, null)));
    for (const [i, r] of legs.entries()) {
      const res = await this.cache.reserve(r.corridor_id, r.departure_id, r.id, input.teu, input.tonnes, now).catch(() => ({ ok: true as const, gen: '' }));
      if (!res.ok) {
        await undo();
        throw legError(holdRefusal(res.code, this.sharePct), i);
      }
      reservations.push(res.gen ? { gen: res.gen, listingId: r.id, teu: input.teu, tonnes: input.tonnes } : null);
    }

    // 2. Postgres: one transaction for the itinerary and every leg's hold.
    let placed: Awaited<ReturnType<ItinerariesService['holdInTx']>>;
    try {
      placed = await inTransaction(this.db, (tx) => this.holdInTx(tx, p, input, legs, prices, check.plan, idem, now));
    } catch (err) {
      await undo();
      const leg = err instanceof AppError ? (err.details?.legIndex as number | undefined) : undefined;
      if (err instanceof AppError && err.code === 'insufficient_capacity' && leg !== undefined && reservations[leg]) {
        // Redis admitted what Postgres refused: they disagree, rebuild that departure's entry from Postgres.
        await this.cache.invalidate(legs[leg]!.corridor_id, legs[leg]!.departure_id);
      }
      throw err;
    }
    if (placed.replay) {
      await undo();
      return placed.body;
    }
    const legRefs = legs.map((r, i) => ({ departureId: r.departure_id, listingId: r.id, unitPriceCents: prices[i]!, reservation: reservations[i] ?? null }));
    await settleAndTell(this.deps, placed.departures, placed.listings, legRefs);
    this.scheduleExpiry(placed.body);
    return placed.body;
  }

  /** The answer already stored under this key for this request (undefined: none yet); another request's key: 409. */
  private async storedAnswer(idem: IdemKey): Promise<Itinerary | undefined> {
    const row = await storedIdemAnswer(this.db, idem.orgId, idem.key);
    if (!row) return undefined;
    if (row.route !== idem.route || (row.request_hash !== idem.requestHash && row.request_hash !== idem.legacyHash)) {
      throw conflict('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
    }
    return row.response as Itinerary;
  }

  private async holdInTx(
    tx: Tx, p: Principal, input: NewItineraryBody, legs: ChainLegRow[], prices: number[], plan: { transfers: { at: string; waitMinutes: number; handlingCents: number }[]; co2eGrams: number },
    idem: IdemKey | undefined, now: Date,
  ) {
    if (idem) {
      const claim = await claimKey<Itinerary>(tx, idem);
      if (claim.kind === 'replay') return { replay: true as const, body: claim.body };
    }
    const legsCents = prices.reduce((s, price) => s + totalCents(price, input.teu), 0);
    const handlingCents = plan.transfers.reduce((s, t) => s + t.handlingCents, 0);
    const it = await insertItinerary(tx, {
      forwarder_org_id: p.orgId, user_id: p.userId, api_key_id: p.apiKeyId ?? null, legs: legs.length, teu: input.teu, tonnes: input.tonnes,
      legs_cents: legsCents, handling_cents: handlingCents, total_cents: legsCents + handlingCents, co2e_kg: Math.round(plan.co2eGrams / 1000),
      transfers: JSON.stringify(plan.transfers), expires_at: holdExpiresAt(now, this.opts.holdTtlMs), created_at: now,
    });
    const item = (r: ChainLegRow, i: number): HoldItem => ({
      listingId: r.id, teu: input.teu, tonnes: input.tonnes, unitPriceCents: prices[i]!, expiresAt: holdExpiresAt(now, this.opts.holdTtlMs).toISOString(),
      orgId: p.orgId, userId: p.userId ?? '', apiKeyId: p.apiKeyId ?? '',
    });
    // one batch per leg's departure (a simple path never uses a departure twice); the statement locks them in id order
    const decided = await placeHoldsMulti(tx, legs.map((r, i) => ({ departureId: r.departure_id, items: [item(r, i)] })), now, this.opts.holdTtlMs, this.sharePct);
    const resultOf = new Map(decided.map((d) => [d.departureId, d]));
    const held = legs.map((r, i) => {
      const d = resultOf.get(r.departure_id);
      const res = d?.results[0];
      if (!d || !res || res.status !== 'ok') throw legError(holdRefusal(res?.status ?? 'insufficient_capacity', this.sharePct), i); // rolls every leg back
      return { holdId: res.id!, legIndex: i, expiresAt: new Date(res.expiresAt ?? it.expires_at), remaining: res.listingRemaining ?? 0, departure: d.departure };
    });
    const expiresAt = new Date(Math.min(...held.map((h) => h.expiresAt.getTime())));
    await linkHolds(tx, it.id, held, expiresAt);
    const row = await updateItinerary(tx, it.id, { expires_at: expiresAt });
    await audit(tx, p, 'itinerary.hold', { type: 'itinerary', id: it.id }, { legs: legs.length, teu: input.teu, totalCents: row.total_cents });
    const body = toItinerary(row, await legRowsOf(tx, [it.id]), [], now);
    if (idem) await storeAnswer(tx, idem, 201, body);
    return {
      replay: false as const,
      body,
      departures: held.map((h) => h.departure),
      listings: held.map((h, i) => ({ id: legs[i]!.id, status: 'open', remaining_teu: h.remaining })),
    };
  }

  /** Expiry jobs of the legs' holds (not awaited; the sweep is the safety net). The first one due ends every leg. */
  private scheduleExpiry(it: Itinerary) {
    const delay = Math.max(0, Date.parse(it.expiresAt) - Date.now());
    const jobs = it.holds.map((h) => ({ name: 'hold.expire' as const, data: { holdId: h.id }, opts: { jobId: `hold.expire-${h.id}`, delay } }));
    void this.queues?.addBulk(jobs).catch(() => {});
  }

  /** POST /api/itineraries/:id/confirm — every leg's hold becomes a booking, in one transaction, or none does. */
  async confirm(p: Principal, id: string, input: ConfirmItineraryBody, idem?: IdemKey, now = new Date()): Promise<Itinerary> {
    policy.requireOrgKind(p, 'forwarder');
    const result = await inTransaction(this.db, async (tx) => {
      if (idem) {
        const claim = await claimKey<Itinerary>(tx, idem);
        if (claim.kind === 'replay') return { body: claim.body, operators: null };
      }
      const it = await lockItineraryOfOrg(tx, id, p.orgId);
      if (!it) throw notFound('itinerary');
      if (it.status !== 'held' || it.expires_at <= now) {
        throw it.status === 'expired' || (it.status === 'held' && it.expires_at <= now)
          ? conflict('itinerary_expired', 'the holds of this itinerary have expired; search and hold again')
          : conflict('itinerary_not_held', `this itinerary is ${it.status}`);
      }
      const holds = await legHolds(tx, id);
      if (holds.length !== it.legs) throw conflict('itinerary_incomplete', 'this itinerary is missing legs');
      // the same rules and lock order as confirming single holds: departures, then listings (share), in id order
      await lockDepartures(tx, [...new Set(holds.map((h) => h.departure_id))]);
      const statusOf = new Map((await lockListingStatuses(tx, holds.map((h) => h.listing_id))).map((l) => [l.id, l.status]));
      for (const h of holds) {
        const st = statusOf.get(h.listing_id);
        if (st !== 'open') throw legError(conflict('listing_closed', `this listing is ${st}; the itinerary can no longer be confirmed`), h.leg_index ?? 0);
      }
      const confirmed = new Map((await confirmActiveHolds(tx, holds.map((h) => ({ id: h.id, orgId: p.orgId, at: now })))).map((h) => [h.id, h]));
      const missing = holds.find((h) => !confirmed.has(h.id));
      if (missing) throw legError(conflict('hold_not_active', `this leg's hold is ${missing.status}`), missing.leg_index ?? 0); // rolls back
      const moved = await moveHeldToBookedMany(tx, sumByDeparture(holds), now);
      const depOf = new Map(moved.map((d) => [d.id, d]));
      const rows = [];
      for (const h of holds) {
        const em = await emissionsFor(tx, depOf.get(h.departure_id)!.corridor_id, h.tonnes);
        rows.push({
          departure_id: h.departure_id, listing_id: h.listing_id, hold_id: h.id, forwarder_org_id: p.orgId, user_id: p.userId, teu: h.teu,
          tonnes: h.tonnes, unit_price_cents: h.unit_price_cents, total_cents: totalCents(h.unit_price_cents, h.teu), reference: input.reference ?? null,
          cargo: null, co2e_kg: em.co2eKg, road_co2e_kg: em.roadCo2eKg, created_at: now, itinerary_id: id, leg_index: h.leg_index,
        });
      }
      const booked = await insertBookings(tx, rows);
      await auditActsAt(tx, 'booking.confirm', 'booking', booked.map((b) => ({
        at: now, userId: p.userId, orgId: p.orgId, apiKeyId: p.apiKeyId ?? null, id: b.id, data: { holdId: b.hold_id, totalCents: b.total_cents, itineraryId: id },
      })));
      for (const b of booked) await enqueueInTx(tx, 'booking.settle', { bookingId: b.id }, `booking.settle-${b.id}`);
      const row = await updateItinerary(tx, id, { status: 'confirmed', confirmed_at: now, reference: input.reference ?? null });
      await audit(tx, p, 'itinerary.confirm', { type: 'itinerary', id }, { bookings: booked.map((b) => b.id), totalCents: row.total_cents });
      const body = toItinerary(row, await legRowsOf(tx, [id]), booked, now);
      const opOf = new Map(moved.map((d) => [d.id, d.operator_org_id]));
      await tellWebhooks(tx, bookingEvents('booking.confirmed', body.bookings.map((b) => ({ booking: b, operatorOrgId: opOf.get(b.departureId) ?? null }))));
      if (idem) await storeAnswer(tx, idem, 201, body);
      return { body, operators: new Map(moved.map((d) => [d.id, d.operator_org_id])) };
    });
    const operators = result.operators;
    if (operators) {
      kickOutbox(this.db, this.queues);
      for (const h of result.body.holds) void this.queues?.remove('hold.expire', `hold.expire-${h.id}`).catch(() => {});
      const events = result.body.bookings.map((b) => bookingConfirmedEvent(b, operators.get(b.departureId)!));
      await this.events.emit(events).catch(() => {});
    }
    return result.body;
  }

  /**
   * DELETE /api/itineraries/:id — held: every leg's hold is released (null: 204); confirmed: every booking is
   * cancelled under its own listing's fee rule, in one transaction (the itinerary with the fees).
   */
  async remove(p: Principal, id: string, expect?: 'held' | 'confirmed', now = new Date()): Promise<Itinerary | null> {
    policy.requireOrgKind(p, 'forwarder');
    let it = await findItinerary(this.db, id);
    if (!it || it.forwarder_org_id !== p.orgId) throw notFound('itinerary');
    const changed = (status: string) =>
      conflict('itinerary_state_changed', `this itinerary is ${status}, not ${expect}: nothing was changed`, { status });
    if (expect && it.status !== expect) throw changed(it.status);
    if (it.status === 'held') {
      if (await endItinerary(this.deps, id, 'released', p, now, p.orgId)) return null;
      it = (await findItinerary(this.db, id))!; // it changed meanwhile (expired, or confirmed)
      if (expect) throw changed(it.status);
    }
    if (it.status !== 'confirmed') throw conflict('itinerary_not_active', `this itinerary is ${it.status}`);
    return this.cancelBooked(p, id, now);
  }

  private async cancelBooked(p: Principal, id: string, now: Date): Promise<Itinerary> {
    const done = await inTransaction(this.db, async (tx) => {
      const it = await lockItineraryOfOrg(tx, id, p.orgId);
      if (!it) throw notFound('itinerary');
      if (it.status !== 'confirmed') throw conflict('itinerary_not_active', `this itinerary is ${it.status}`);
      // lock order of cancellations: bookings, then departures
      const bs = await lockLegBookings(tx, id);
      await lockDepartures(tx, [...new Set(bs.map((b) => b.departure_id))]);
      const bad = bs.find((b) => b.status !== 'confirmed' && b.status !== 'settled');
      if (bad) throw legError(conflict('booking_not_active', `this leg's booking is ${bad.status}`), bad.leg_index ?? 0);
      // once a leg has left, the itinerary is under way: nothing of it is cancelled
      const gone = bs.map((b) => ({ leg: b.leg_index ?? 0, why: notCancellable({ departsAt: b.departs_at }, now) })).find((g) => g.why);
      if (gone) throw legError(conflict('departed', `this itinerary can no longer be cancelled: leg ${gone.leg + 1} ${gone.why}`), gone.leg);
      const fees = bs.map((b) => ({ b, fee: cancellationFee(feeRuleOrDefault(b.fee_rule), b.total_cents, { departsAt: b.departs_at, cutoffAt: b.cutoff_at }, now) }));
      const cancelled = await markBookingsCancelled(tx, fees.map(({ b, fee }) => ({ id: b.id, at: now, feeCents: fee.feeCents })));
      await returnTeuToListings(tx, bs.map((b) => ({ id: b.listing_id, teu: b.teu })), now);
      await releaseBookedMany(tx, sumByDeparture(bs), now);
      await auditActsAt(tx, 'booking.cancel', 'booking', fees.map(({ b, fee }) => ({
        at: now, userId: p.userId, orgId: p.orgId, apiKeyId: p.apiKeyId ?? null, id: b.id, data: { feeCents: fee.feeCents, band: fee.band, itineraryId: id },
      })));
      for (const b of bs) await enqueueInTx(tx, 'booking.refund', { bookingId: b.id }, `booking.refund-${b.id}`);
      const feeCents = fees.reduce((s, f) => s + f.fee.feeCents, 0);
      const row = await updateItinerary(tx, id, { status: 'cancelled', ended_at: now, cancellation_fee_cents: feeCents });
      await audit(tx, p, 'itinerary.cancel', { type: 'itinerary', id }, { feeCents });
      const body = toItinerary(row, await legRowsOf(tx, [id]), cancelled, now);
      const departures = await departureLoads(tx, [...new Set(bs.map((b) => b.departure_id))]);
      const opOf = new Map(departures.map((d) => [d.id, d.operator_org_id]));
      await tellWebhooks(tx, bookingEvents('booking.cancelled', body.bookings.map((b) => ({ booking: b, operatorOrgId: opOf.get(b.departureId) ?? null }))));
      return { body, departures, listings: await listingStates(tx, bs.map((b) => b.listing_id)) };
    });
    kickOutbox(this.db, this.queues);
    await settleAndTell(this.deps, done.departures, done.listings, done.body.legs.map((l) => ({ departureId: l.departureId, listingId: l.listingId })));
    return done.body;
  }

  /** GET /api/itineraries — own organisation's itineraries, newest first (the platform: everyone's). */
  async list(p: Principal, now = new Date()): Promise<Itinerary[]> {
    policy.requireOrgKind(p, 'forwarder', 'platform');
    return this.views(await itinerariesOfScope(this.db, policy.scopeOf(p)), now);
  }

  /** GET /api/itineraries/:id — another organisation's answers 404. */
  async get(p: Principal, id: string, now = new Date()): Promise<Itinerary> {
    policy.requireOrgKind(p, 'forwarder', 'platform');
    const it = await findItinerary(this.db, id);
    if (!it || !policy.canSeePrivate(p, [it.forwarder_org_id])) throw notFound('itinerary');
    return (await this.views([it], now))[0]!;
  }

  private async views(rows: ItineraryRow[], now: Date): Promise<Itinerary[]> {
    const ids = rows.map((r) => r.id);
    const [legs, bookings] = await Promise.all([legRowsOf(this.db, ids), bookingsOfItineraries(this.db, ids)]);
    return rows.map((r) => toItinerary(r, legs.filter((l) => l.itinerary_id === r.id), bookings.filter((b) => b.itinerary_id === r.id), now));
  }
}

/** A chain leg as core planChain sees it. */
function timetableLeg(r: ChainLegRow, unitPriceCents: number): TimetableLeg {
  return {
    listingId: r.id, departureId: r.departure_id, corridorId: r.corridor_id, mode: r.mode, origin: r.origin, destination: r.destination,
    departsAt: r.departs_at.getTime(), arrivesAt: r.arrives_at.getTime(), cutoffAt: r.cutoff_at.getTime(), distanceKm: r.distance_km,
    depFreeTeu: r.capacity_teu - r.held_teu - r.booked_teu, depFreeTonnes: r.capacity_tonnes - r.held_tonnes - r.booked_tonnes,
    listingRemainingTeu: r.remaining_teu, unitPriceCents, format: r.format,
  };
}
