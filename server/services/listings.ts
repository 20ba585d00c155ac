import { sql } from 'kysely';
import type { Db } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { departureQuery, toDeparture } from '../adapters/db/departures-repo.ts';
import { toListing, type ListingRow } from '../adapters/db/listings-repo.ts';
import { enqueueInTx, kickOutbox } from '../adapters/db/outbox.ts';
import type { ListingFormat } from '../domain/enums.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import type { EventSink } from '../adapters/realtime/events.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import { currentUnitPrice } from '../adapters/db/listings-repo.ts';
import { validateFeeRule, type FeeRule } from '../core/fees.ts';
import { nextPriceChangeAt, validateFallingSchedule, validateListingPrices } from '../core/pricing.ts';
import { MIN_TONNES_PER_TEU, unpromisedTeu } from '../core/capacity.ts';
import { AppError, badRequest, conflict, notFound } from '../domain/errors.ts';
import type { HoldsService } from './holds.ts';
import type { AuctionsService } from './auctions.ts';
import { policy, type Principal } from '../domain/principal.ts';
import { eachIsolated } from './sweep.ts';

export interface NewDeparture {
  corridorId: string;
  departsAt: string;
  arrivesAt: string;
  cutoffAt: string;
  capacityTeu: number;
  capacityTonnes: number;
  assetName: string;
  reeferPlugs?: number;
  dangerousGoods?: boolean;
}

export interface NewListing {
  departureId: string;
  format: ListingFormat;
  teu: number;
  unitPriceCents?: number;
  reservePriceCents?: number;
  minIncrementCents?: number;
  floorPriceCents?: number;
  stepCents?: number;
  stepEveryMinutes?: number;
  opensAt?: string;
  closesAt?: string;
  feeRule?: FeeRule;
  unsoldAction?: 'return' | 'relist';
}

/** Operators publish departures and sell their capacity through listings. */
export class ListingsService {
  constructor(
    private readonly db: Db,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
    private readonly holds: HoldsService,
    private readonly queues: Queues | null,
    private readonly auctions: AuctionsService,
  ) {}

  async createDeparture(p: Principal, input: NewDeparture, now = new Date()) {
    policy.requireOrgKind(p, 'operator');
    const departsAt = new Date(input.departsAt);
    const arrivesAt = new Date(input.arrivesAt);
    const cutoffAt = new Date(input.cutoffAt);
    if (!(cutoffAt <= departsAt)) throw badRequest('invalid_times', 'cutoffAt must be at or before departsAt');
    if (!(departsAt < arrivesAt)) throw badRequest('invalid_times', 'arrivesAt must be after departsAt');
    if (cutoffAt <= now) throw badRequest('invalid_times', 'cutoffAt must be in the future');
    if (departsAt.getTime() - now.getTime() > 366 * 86_400_000) throw badRequest('invalid_times', 'departsAt must be within a year');
    if (arrivesAt.getTime() - departsAt.getTime() > 30 * 86_400_000) throw badRequest('invalid_times', 'a run lasts at most 30 days');
    if (input.capacityTonnes < input.capacityTeu * MIN_TONNES_PER_TEU) {
      throw badRequest('invalid_capacity', `capacityTonnes must be at least ${MIN_TONNES_PER_TEU} t per TEU (${input.capacityTeu * MIN_TONNES_PER_TEU} t)`);
    }
    const corridor = await this.db.selectFrom('corridors').select('id').where('id', '=', input.corridorId).executeTakeFirst();
    if (!corridor) throw badRequest('unknown_corridor', 'no corridor with this id');
    const id = await inTransaction(this.db, async (tx) => {
      const d = await tx
        .insertInto('departures')
        .values({
          corridor_id: input.corridorId,
          operator_org_id: p.orgId,
          asset_name: input.assetName.trim(),
          departs_at: departsAt,
          arrives_at: arrivesAt,
          cutoff_at: cutoffAt,
          capacity_teu: input.capacityTeu,
          capacity_tonnes: input.capacityTonnes,
          reefer_plugs: input.reeferPlugs ?? 0,
          dangerous_goods: input.dangerousGoods ?? false,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await audit(tx, p, 'departure.create', { type: 'departure', id: d.id }, { ...input });
      return d.id;
    });
    const row = await departureQuery(this.db).where('d.id', '=', id).executeTakeFirstOrThrow();
    return toDeparture(row);
  }

  async createListing(p: Principal, input: NewListing, now = new Date()) {
    policy.requireOrgKind(p, 'operator', 'platform');
    const dep = await this.db
      .selectFrom('departures')
      .select(['id', 'operator_org_id', 'corridor_id', 'cutoff_at', 'capacity_teu', 'status'])
      .where('id', '=', input.departureId)
      .executeTakeFirst();
    if (!dep) throw notFound('departure');
    policy.requireOperatorOf(p, dep.operator_org_id);
    if (dep.status !== 'scheduled' || dep.cutoff_at <= now) throw conflict('past_cutoff', 'this departure no longer sells capacity');
    const f = input.format;
    const need = (v: number | undefined, name: string) => {
      if (v === undefined) throw badRequest('invalid_listing', `${name} is required for a ${f} listing`);
      return v;
    };
    let unitPrice: number | null = null;
    let reserve: number | null = null;
    let minIncrement: number | null = null;
    let floor: number | null = null;
    let step: number | null = null;
    let stepEvery: number | null = null;
    let opensAt: Date | null = input.opensAt ? new Date(input.opensAt) : null;
    let closesAt: Date | null = input.closesAt ? new Date(input.closesAt) : null;
    if (f === 'fixed') {
      unitPrice = need(input.unitPriceCents, 'unitPriceCents');
    } else if (f === 'falling') {
      unitPrice = need(input.unitPriceCents, 'unitPriceCents (the start price)');
      // Defaults: the floor is the reserve (or the start price), one step an hour reaching the floor at cut-off.
      floor = input.floorPriceCents ?? input.reservePriceCents ?? unitPrice;
      opensAt ??= now;
      stepEvery = input.stepEveryMinutes ?? 60;
      const steps = Math.max(1, Math.floor((dep.cutoff_at.getTime() - opensAt.getTime()) / (stepEvery * 60_000)));
      step = input.stepCents ?? Math.max(1, Math.ceil((unitPrice - floor) / steps));
      const v = validateFallingSchedule({ startPriceCents: unitPrice, floorPriceCents: floor, stepCents: step, stepEveryMinutes: stepEvery, startsAt: opensAt });
      if (!v.ok) throw badRequest(v.code, v.message);
    } else {
      reserve = input.reservePriceCents ?? 0;
      minIncrement = input.minIncrementCents ?? 100;
      opensAt ??= now;
      closesAt = need(closesAt ? 1 : undefined, 'closesAt') ? closesAt! : null;
      if (closesAt! <= opensAt) throw badRequest('invalid_listing', 'closesAt must be after opensAt');
      if (closesAt! > dep.cutoff_at) throw badRequest('invalid_listing', "an auction closes no later than the departure's cut-off");
      if (closesAt! <= now) throw badRequest('invalid_listing', 'closesAt must be in the future');
    }
    const priced = validateListingPrices(f, { unitPriceCents: unitPrice, floorPriceCents: floor });
    if (!priced.ok) throw badRequest(priced.code, priced.message);
    let feeRule: FeeRule | null = null;
    if (input.feeRule !== undefined) {
      const v = validateFeeRule(input.feeRule);
      if (!v.ok) throw badRequest(v.code, v.message);
      feeRule = v.rule;
    }
    const listing = await inTransaction(this.db, async (tx) => {
      // Listings of one departure may not offer more TEU than it has (row lock serialises creators): what
      // is booked, held (already taken out of its listing's remaining TEU) and still offered is promised.
      // The deferred trigger listings_promise_guard checks the same sum again at commit.
      const d = await tx
        .selectFrom('departures')
        .select(['capacity_teu', 'booked_teu', 'held_teu'])
        .where('id', '=', dep.id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const offered = await tx
        .selectFrom('listings')
        .select(sql<number>`coalesce(sum(remaining_teu), 0)::int`.as('n'))
        .where('departure_id', '=', dep.id)
        .where('status', '=', 'open')
        .executeTakeFirstOrThrow();
      const free = unpromisedTeu({ capacityTeu: d.capacity_teu, bookedTeu: d.booked_teu, heldTeu: d.held_teu, listedTeu: offered.n });
      if (input.teu > free) {
        throw conflict('insufficient_capacity', `only ${free} TEU of this departure are not yet offered, held or booked`);
      }
      const row = await tx
        .insertInto('listings')
        .values({
          departure_id: dep.id,
          format: f,
          teu: input.teu,
          remaining_teu: input.teu,
          unit_price_cents: unitPrice,
          reserve_price_cents: reserve,
          min_increment_cents: minIncrement,
          floor_price_cents: floor,
          step_cents: step,
          step_every_minutes: stepEvery,
          opens_at: opensAt,
          closes_at: closesAt,
          fee_rule: feeRule ? JSON.stringify(feeRule) : null,
          unsold_action: input.unsoldAction ?? 'return',
          max_close_at: f === 'ascending' || f === 'sealed' ? dep.cutoff_at : null,
          created_by: p.userId,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(tx, p, 'listing.create', { type: 'listing', id: row.id }, { format: f, teu: input.teu });
      if (row.closes_at && (f === 'ascending' || f === 'sealed')) {
        await enqueueInTx(tx, 'auction.close', { listingId: row.id }, `auction.close-${row.id}-${row.closes_at.getTime()}`, row.closes_at);
      }
      return row;
    });
    await this.cache.invalidate(dep.corridor_id, dep.id);
    kickOutbox(this.db, this.queues);
    if (listing.format === 'falling') void this.schedulePriceStep(listing.id, now).catch(() => {}); // the answer never waits for Redis
    return this.withAuction(p, listing as ListingRow, now);
  }

  /** Schedules the next price step of a falling listing (job id from listing and time: idempotent). */
  private async schedulePriceStep(listingId: string, now: Date) {
    const l = await this.db.selectFrom('listings').selectAll().where('id', '=', listingId).executeTakeFirst();
    if (!l || l.status !== 'open' || l.format !== 'falling' || l.unit_price_cents === null) return;
    const at = nextPriceChangeAt(
      { startPriceCents: l.unit_price_cents, floorPriceCents: l.floor_price_cents ?? l.unit_price_cents, stepCents: l.step_cents ?? 0,
        stepEveryMinutes: l.step_every_minutes ?? 60, startsAt: l.opens_at ?? l.created_at },
      now,
    );
    if (!at) return;
    await this.queues
      ?.add('listing.price-step', { listingId, at: at.toISOString() }, { jobId: `listing.price-${listingId}-${at.getTime()}`, delay: Math.max(0, at.getTime() - Date.now()) })
      .catch(() => {});
  }

  /** Job: a falling listing reached a price step — push the price to watchers and schedule the next. */
  async priceStep(listingId: string, now = new Date()) {
    const l = await this.db.selectFrom('listings').selectAll().where('id', '=', listingId).executeTakeFirst();
    if (!l || l.status !== 'open') return { pushed: false };
    await this.events
      .emit([{ rooms: [`listing:${l.id}`], event: 'listing:update', payload: { listingId: l.id, status: l.status, remainingTeu: l.remaining_teu, currentPriceCents: currentUnitPrice(l, now) } }])
      .catch(() => {});
    await this.schedulePriceStep(listingId, now);
    return { pushed: true };
  }

  async getListing(p: Principal, id: string, now = new Date()) {
    const l = await this.db.selectFrom('listings').selectAll().where('id', '=', id).executeTakeFirst();
    if (!l) throw notFound('listing');
    return this.withAuction(p, l as ListingRow, now);
  }

  /** A listing as `p` may see it; auctions add their live state (sealed: never others' prices). */
  private async withAuction(p: Principal, l: ListingRow, now: Date) {
    const base = toListing(l, now);
    if (l.format !== 'ascending' && l.format !== 'sealed') return base;
    return { ...base, ...(await this.auctions.view(p, l)) };
  }

  /** Cancels a listing: it stops selling, its active holds are released and their holders told. */
  async cancelListing(p: Principal, id: string, now = new Date()) {
    const l = await this.db
      .selectFrom('listings as l')
      .innerJoin('departures as d', 'd.id', 'l.departure_id')
      .select(['l.id', 'l.status', 'd.operator_org_id', 'd.corridor_id', 'd.id as departure_id'])
      .where('l.id', '=', id)
      .executeTakeFirst();
    if (!l) throw notFound('listing');
    policy.requireOperatorOf(p, l.operator_org_id);
    if (l.status !== 'open') throw conflict('listing_closed', `this listing is already ${l.status}`);
    const updated = await inTransaction(this.db, async (tx) => {
      const cur = await tx.selectFrom('listings').select(['format', 'status', 'closes_at', 'max_close_at']).where('id', '=', id).forUpdate().executeTakeFirst();
      if (cur && (cur.format === 'ascending' || cur.format === 'sealed')) {
        // One clock decides, as for bids and the close: the database's, read under the listing's row lock.
        const dbNow = (await sql<{ now: Date }>`select clock_timestamp() as now`.execute(tx)).rows[0]!.now;
        const closeAt = [cur.closes_at, cur.max_close_at].filter((x): x is Date => !!x).reduce((a, b) => (a < b ? a : b), new Date(8.64e15));
        if (closeAt <= dbNow) throw conflict('auction_closed', 'this auction has reached its close; it can no longer be cancelled');
        const bid = await tx.selectFrom('bids').select('id').where('listing_id', '=', id).limit(1).executeTakeFirst();
        if (bid) throw conflict('auction_has_bids', 'this auction has bids; it can no longer be cancelled');
      }
      const row = await tx
        .updateTable('listings')
        .set({ status: 'cancelled', closed_at: now, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'open')
        .returningAll()
        .executeTakeFirst();
      if (!row) throw conflict('listing_closed', 'this listing is no longer open');
      await audit(tx, p, 'listing.cancel', { type: 'listing', id });
      return row;
    });
    await this.cache.invalidate(l.corridor_id, l.departure_id);
    const active = await this.db.selectFrom('holds').select('id').where('listing_id', '=', id).where('status', '=', 'active').execute();
    // each hold on its own: one that fails is logged (the expiry sweep ends it later); the others still end now
    await eachIsolated('hold.cancel', active, (h) => h.id, async (h) => !!(await this.holds.end(h.id, 'cancelled', p, now)));
    await this.events
      .emit([{ rooms: [`listing:${id}`], event: 'listing:update', payload: { listingId: id, status: 'cancelled', remainingTeu: updated.remaining_teu } }])
      .catch(() => {});
    return toListing(updated, now);
  }

  /** The operator console: my departures (from now on) with their load. */
  async operatorDepartures(p: Principal, now = new Date()) {
    policy.requireOrgKind(p, 'operator', 'platform');
    let q = departureQuery(this.db).where('d.departs_at', '>=', new Date(now.getTime() - 86_400_000));
    if (p.orgKind === 'operator') q = q.where('d.operator_org_id', '=', p.orgId);
    const rows = await q.orderBy('d.departs_at').limit(500).execute();
    return rows.map(toDeparture);
  }

  /** Active holds on an operator's own departures (operator console). */
  async operatorHolds(p: Principal) {
    policy.requireOrgKind(p, 'operator');
    return this.db
      .selectFrom('holds as h')
      .innerJoin('departures as d', 'd.id', 'h.departure_id')
      .select(['h.id', 'h.departure_id as departureId', 'h.listing_id as listingId', 'h.teu', 'h.tonnes', 'h.expires_at as expiresAt'])
      .where('d.operator_org_id', '=', p.orgId)
      .where('h.status', '=', 'active')
      .orderBy('h.expires_at')
      .limit(500)
      .execute();
  }
}

export { AppError };
