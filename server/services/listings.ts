import type { Db, Tx } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { departureForListing, lockDepartureLoad } from '../adapters/db/departures-repo.ts';
import {
  currentUnitPrice, databaseNow, findListing, insertListing, listingHasBids, listingWithOperator, lockListingForCancel,
  markListingCancelled, openListedTeu, toListing, type ListingRow,
} from '../adapters/db/listings-repo.ts';
import { enqueueInTx, kickOutbox } from '../adapters/db/outbox.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import { listingNoticeEvent, type EventSink } from '../adapters/realtime/events.ts';
import type { Queues } from '../adapters/queue/jobs.ts';
import { validateFeeRule, type FeeRule } from '../core/fees.ts';
import { nextPriceChangeAt, validateFallingSchedule, validateListingPrices } from '../core/pricing.ts';
import { takesListings, unpromisedTeu } from '../core/capacity.ts';
import { badRequest, conflict, notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import type { NewListingBody } from '../domain/schemas/trade.ts';
import type { HoldsService } from './holds.ts';
import type { AuctionsService } from './auctions.ts';
import type { OffersService } from './offers/offers.ts';
import { queueWatchMatch } from '../adapters/db/watches-repo.ts';

type ListingDeparture = NonNullable<Awaited<ReturnType<typeof departureForListing>>>;

/** A new listing's sale terms, validated and with the format's defaults filled in. */
interface ListingTerms {
  unitPrice: number | null;
  reserve: number | null;
  minIncrement: number | null;
  floor: number | null;
  step: number | null;
  stepEvery: number | null;
  opensAt: Date | null;
  closesAt: Date | null;
  feeRule: FeeRule | null;
}

/**
 * The terms of a new listing of `dep`, by format: fixed (a unit price), falling (start price, floor and a step
 * schedule; defaults: the floor is the reserve or the start price, one step an hour reaching the floor at the
 * cut-off) or an auction (reserve, minimum increment, a close no later than the cut-off). Throws 400.
 */
function listingTerms(input: NewListingBody, dep: ListingDeparture, now: Date): ListingTerms {
  const f = input.format;
  const need = <T>(v: T | undefined | null, name: string): T => {
    if (v === undefined || v === null) throw badRequest('invalid_listing', `${name} is required for a ${f} listing`);
    return v;
  };
  const t: ListingTerms = {
    unitPrice: null, reserve: null, minIncrement: null, floor: null, step: null, stepEvery: null,
    opensAt: input.opensAt ? new Date(input.opensAt) : null,
    closesAt: input.closesAt ? new Date(input.closesAt) : null,
    feeRule: null,
  };
  // a sale that would open at or after the cut-off would never sell (an auction's close is checked below)
  if (t.opensAt && t.opensAt >= dep.cutoff_at) throw badRequest('invalid_listing', "opensAt must be before the departure's cut-off");
  if (f === 'fixed') {
    t.unitPrice = need(input.unitPriceCents, 'unitPriceCents');
  } else if (f === 'falling') {
    const start = need(input.unitPriceCents, 'unitPriceCents (the start price)');
    const floor = input.floorPriceCents ?? input.reservePriceCents ?? start;
    const opensAt = (t.opensAt ??= now);
    const stepEvery = input.stepEveryMinutes ?? 60;
    const steps = Math.max(1, Math.floor((dep.cutoff_at.getTime() - opensAt.getTime()) / (stepEvery * 60_000)));
    const step = input.stepCents ?? Math.max(1, Math.ceil((start - floor) / steps));
    const v = validateFallingSchedule({ startPriceCents: start, floorPriceCents: floor, stepCents: step, stepEveryMinutes: stepEvery, startsAt: opensAt });
    if (!v.ok) throw badRequest(v.code, v.message);
    Object.assign(t, { unitPrice: start, floor, step, stepEvery });
  } else {
    t.reserve = input.reservePriceCents ?? 0;
    t.minIncrement = input.minIncrementCents ?? 100;
    const opensAt = (t.opensAt ??= now);
    const closesAt = need(t.closesAt, 'closesAt');
    if (closesAt <= opensAt) throw badRequest('invalid_listing', 'closesAt must be after opensAt');
    if (closesAt > dep.cutoff_at) throw badRequest('invalid_listing', "an auction closes no later than the departure's cut-off");
    if (closesAt <= now) throw badRequest('invalid_listing', 'closesAt must be in the future');
  }
  const priced = validateListingPrices(f, { unitPriceCents: t.unitPrice, floorPriceCents: t.floor });
  if (!priced.ok) throw badRequest(priced.code, priced.message);
  if (input.feeRule !== undefined) {
    const v = validateFeeRule(input.feeRule);
    if (!v.ok) throw badRequest(v.code, v.message);
    t.feeRule = v.rule;
  }
  return t;
}

/** Operators sell their departures' capacity through listings: create, read, cancel, and falling price steps. */
export class ListingsService {
  constructor(
    private readonly db: Db,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
    private readonly holds: HoldsService,
    private readonly queues: Queues | null,
    private readonly auctions: AuctionsService,
    private readonly offers?: OffersService,
  ) {}

  /** POST /api/listings — offers capacity of a departure (its operator, or the platform). */
  async createListing(p: Principal, input: NewListingBody, now = new Date()) {
    policy.requireOrgKind(p, 'operator', 'platform');
    const dep = await departureForListing(this.db, input.departureId);
    if (!dep) throw notFound('departure');
    policy.requireOperatorOf(p, dep.operator_org_id);
    if (!takesListings({ status: dep.status, cutoffAt: dep.cutoff_at }, now)) throw conflict('past_cutoff', 'this departure no longer sells capacity');
    const terms = listingTerms(input, dep, now);
    const listing = await inTransaction(this.db, (tx) => this.insertPromised(tx, p, input, dep, terms, now));
    await this.cache.invalidate(dep.corridor_id, dep.id);
    kickOutbox(this.db, this.queues);
    if (listing.format === 'falling') void this.schedulePriceStep(listing.id, now).catch(() => {}); // the answer never waits for Redis
    return this.withAuction(p, listing, now);
  }

  /**
   * Inserts the listing if the departure can still promise its TEU. Listings of one departure may not offer
   * more TEU than it has (row lock serialises creators): what is booked, held (already taken out of its
   * listing's remaining TEU) and still offered is promised. The deferred trigger listings_promise_guard
   * checks the same sum again at commit.
   */
  private async insertPromised(tx: Tx, p: Principal, input: NewListingBody, dep: ListingDeparture, t: ListingTerms, now: Date) {
    const d = await lockDepartureLoad(tx, dep.id);
    const free = unpromisedTeu({ capacityTeu: d.capacity_teu, bookedTeu: d.booked_teu, heldTeu: d.held_teu, listedTeu: await openListedTeu(tx, dep.id) });
    if (input.teu > free) {
      throw conflict('insufficient_capacity', `only ${free} TEU of this departure are not yet offered, held or booked`);
    }
    const f = input.format;
    const auction = f === 'ascending' || f === 'sealed';
    const row = await insertListing(tx, {
      departure_id: dep.id,
      format: f,
      teu: input.teu,
      remaining_teu: input.teu,
      unit_price_cents: t.unitPrice,
      reserve_price_cents: t.reserve,
      min_increment_cents: t.minIncrement,
      floor_price_cents: t.floor,
      step_cents: t.step,
      step_every_minutes: t.stepEvery,
      opens_at: t.opensAt,
      closes_at: t.closesAt,
      fee_rule: t.feeRule ? JSON.stringify(t.feeRule) : null,
      unsold_action: input.unsoldAction ?? 'return',
      max_close_at: auction ? dep.cutoff_at : null,
      created_by: p.userId,
      created_at: now,
      updated_at: now,
    });
    await audit(tx, p, 'listing.create', { type: 'listing', id: row.id }, { format: f, teu: input.teu });
    // watches hear of a new listing when it opens: one that opens later is matched at its opensAt
    if (f === 'fixed' || f === 'falling') await queueWatchMatch(tx, { departureId: dep.id, listingId: row.id, trigger: 'listing' }, `watches.match-listing-${row.id}`, row.opens_at);
    if (row.closes_at && auction) {
      await enqueueInTx(tx, 'auction.close', { listingId: row.id }, `auction.close-${row.id}-${row.closes_at.getTime()}`, row.closes_at);
    }
    return row;
  }

  /** Schedules the next price step of a falling listing (job id from listing and time: idempotent). */
  private async schedulePriceStep(listingId: string, now: Date) {
    const l = await findListing(this.db, listingId);
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
    const l = await findListing(this.db, listingId);
    if (!l || l.status !== 'open') return { pushed: false };
    const price = currentUnitPrice(l, now);
    await this.events.emit([listingNoticeEvent(l, price)]).catch(() => {});
    // watches whose maximum this step crossed are told (issue 14): one job per listing and price
    await queueWatchMatch(this.db, { departureId: l.departure_id, listingId, trigger: 'price' }, `watches.match-price-${listingId}-${price ?? 0}`).catch(() => {});
    kickOutbox(this.db, this.queues);
    await this.schedulePriceStep(listingId, now);
    return { pushed: true };
  }

  async getListing(p: Principal, id: string, now = new Date()) {
    const l = await findListing(this.db, id);
    if (!l) throw notFound('listing');
    return this.withAuction(p, l, now);
  }

  /** A listing as `p` may see it; auctions add their live state (sealed: never others' prices). */
  private async withAuction(p: Principal, l: ListingRow, now: Date) {
    const base = toListing(l, now);
    if (l.format !== 'ascending' && l.format !== 'sealed') return base;
    return { ...base, ...(await this.auctions.view(p, l)) };
  }

  /** Cancels a listing: it stops selling, its active holds are released and their holders told. */
  async cancelListing(p: Principal, id: string, now = new Date()) {
    const l = await listingWithOperator(this.db, id);
    if (!l) throw notFound('listing');
    policy.requireOperatorOf(p, l.operator_org_id);
    if (l.status !== 'open') throw conflict('listing_closed', `this listing is already ${l.status}`);
    const updated = await inTransaction(this.db, async (tx) => {
      await this.refuseClosedOrBidAuction(tx, id);
      const row = await markListingCancelled(tx, id, now);
      if (!row) throw conflict('listing_closed', 'this listing is no longer open');
      await audit(tx, p, 'listing.cancel', { type: 'listing', id });
      return row;
    });
    await this.cache.invalidate(l.corridor_id, l.departure_id);
    await this.holds.endAllOfListing(id, p, now);
    await this.offers?.withdrawAllOfListing(id, now); // its open offers' lots go back (to a listing that no longer sells)
    await this.events.emit([listingNoticeEvent(updated)]).catch(() => {});
    return toListing(updated, now);
  }

  /** An auction can be cancelled only before its close and while it has no bid (locks the listing). */
  private async refuseClosedOrBidAuction(tx: Tx, id: string) {
    const cur = await lockListingForCancel(tx, id);
    if (!cur || (cur.format !== 'ascending' && cur.format !== 'sealed')) return;
    // One clock decides, as for bids and the close: the database's, read under the listing's row lock.
    const dbNow = await databaseNow(tx);
    const closeAt = [cur.closes_at, cur.max_close_at].filter((x): x is Date => !!x).reduce((a, b) => (a < b ? a : b), new Date(8.64e15));
    if (closeAt <= dbNow) throw conflict('auction_closed', 'this auction has reached its close; it can no longer be cancelled');
    if (await listingHasBids(tx, id)) throw conflict('auction_has_bids', 'this auction has bids; it can no longer be cancelled');
  }
}
