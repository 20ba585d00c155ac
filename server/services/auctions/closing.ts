import { audit } from '../../adapters/db/audit.ts';
import { bookAward, dueAuctionIds, lockDepartureForAward, lockListing, markAuctionClosed } from '../../adapters/db/auctions-repo.ts';
import { bidsOfListing, markBidWon, markOtherBidsLost } from '../../adapters/db/bids-repo.ts';
import { insertBooking, toBooking, type BookingRow } from '../../adapters/db/bookings-repo.ts';
import { inTransaction, type Db, type Tx } from '../../adapters/db/db.ts';
import { databaseNow, insertListing, openListedTeu, type ListingRow } from '../../adapters/db/listings-repo.ts';
import { enqueueInTx, kickOutbox } from '../../adapters/db/outbox.ts';
import type { Queues } from '../../adapters/queue/jobs.ts';
import { auctionResultEvent, listingClosedEvent } from '../../adapters/realtime/auction-events.ts';
import { availabilityEvent, bookingConfirmedEvent, type EventSink, type LiveEvent } from '../../adapters/realtime/events.ts';
import type { AvailabilityCache } from '../../adapters/redis/availability.ts';
import type { DepartureLoad } from '../../adapters/db/departures-repo.ts';
import { effectiveCloseAt, type ClearingResult } from '../../core/auction.ts';
import { clearWithGroups, type GroupedClearing } from '../../core/bid-groups.ts';
import { allotAwardTonnes, awardableTeu, unpromisedTeu } from '../../core/capacity.ts';
import { totalCents } from '../../core/pricing.ts';
import { conflict } from '../../domain/errors.ts';
import { emissionsFor } from '../bookings.ts';
import { eachIsolated, RecentFailures, type SweepLog } from '../sweep.ts';
import { auctionConfig, toAuctionBid, type AuctionOptions } from './book.ts';
import { auctionClosedEvent, auctionEvents, bookingEvents, tellWebhooks } from '../webhook-events.ts';
import { covers, groupInputs, lockGroupsForClose, settleGroups } from './group-close.ts';
import { queueWatchMatch } from '../../adapters/db/watches-repo.ts';
import type { CascadeStep } from '../offers/cascade.ts';

type AwardDeparture = Awaited<ReturnType<typeof lockDepartureForAward>>;

/** What a close committed: for its live events and its answer. */
interface Closed {
  done: true;
  l: ListingRow;
  result: ClearingResult;
  bookings: BookingRow[];
  depAfter: DepartureLoad;
  bidders: string[];
  relisted: string | null;
  shortfallTeu: number;
  /** Bid groups decided here: their forwarders told, the listings that lost a withdrawn bid re-ranked. */
  groupEvents: LiveEvent[];
  /** The unsold TEU offered first to a matching watch (issue 14): its `offer:new`. */
  offerEvents: LiveEvent[];
}

/**
 * Closing auctions: the close job and the sweep that catches missed ones. Clearing is the pure core's; the
 * winners' bookings, their settlement jobs (outbox), the losers' status and the unsold TEU (returned or
 * re-listed) commit in one transaction with the close.
 */
export class AuctionClosing {
  private readonly sweepFailures = new RecentFailures();

  constructor(
    private readonly db: Db,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
    private readonly queues: Queues | null,
    private readonly opts: AuctionOptions,
  ) {}

  /**
   * The close job: safe to run any number of times, early (it then schedules the next one at the close as it stands,
   * see closeIn) or late. Clears with the pure core, turns winners into bookings (settlement goes to the outbox
   * in the same transaction), marks losers, and returns or re-lists unsold TEU.
   */
  async close(listingId: string) {
    let out = await inTransaction(this.db, (tx) => this.closeIn(tx, listingId));
    // a group bid arrived between the close's first read and its locks: start again (./group-close.ts)
    for (let i = 0; i < 5 && !out.done && out.reason === 'groups_changed'; i++) out = await inTransaction(this.db, (tx) => this.closeIn(tx, listingId));
    if (!out.done) {
      if (out.reason === 'not_yet') kickOutbox(this.db, this.queues); // the follow-up close job
      return out;
    }
    kickOutbox(this.db, this.queues);
    await this.cache.invalidate(out.depAfter.corridor_id, out.depAfter.id);
    await this.events.emit(closeEvents(out)).catch(() => {});
    return {
      done: true,
      awardedTeu: out.result.awardedTeu,
      clearingPriceCents: out.result.clearingPriceCents,
      bookings: out.bookings.map((b) => b.id),
      relisted: out.relisted,
      shortfallTeu: out.shortfallTeu,
    };
  }

  private async closeIn(tx: Tx, listingId: string): Promise<Closed | { done: false; reason: string }> {
    const locks = await lockGroupsForClose(tx, listingId); // lock order: its bid groups, then listings, then the departure
    const l = await lockListing(tx, listingId);
    if (!l || (l.format !== 'ascending' && l.format !== 'sealed')) return { done: false, reason: 'not_an_auction' };
    if (l.status !== 'open') return { done: false, reason: 'already_closed' };
    const now = await databaseNow(tx);
    const config = auctionConfig(l, this.opts);
    const closeAt = effectiveCloseAt(config);
    if (now < closeAt) {
      // Early — the soft close moved the close since this job was scheduled: the next job at the close as it stands
      // now (bids no longer schedule one per extension; the close job follows the close instead). Its id names this run
      // too: were it early again, its own follow-up could never be the job that is running (BullMQ ignores a known id).
      const nextId = `auction.close-${listingId}-${closeAt.getTime()}-next-${now.getTime()}`;
      await enqueueInTx(tx, 'auction.close', { listingId }, nextId, closeAt);
      return { done: false, reason: 'not_yet' };
    }
    const rows = await bidsOfListing(tx, listingId);
    if (!covers(locks, rows)) return { done: false, reason: 'groups_changed' };
    const { excluded, groupOf } = groupInputs(locks, rows);
    const bids = rows.map(toAuctionBid);
    const dep = await lockDepartureForAward(tx, l.departure_id);
    // An award the departure cannot honour in full (capacity promised twice before listings_promise_guard,
    // or taken since) is never retried forever: the published clearing rule runs on the TEU that fit — in
    // rank order, all-or-nothing bids that do not fit skipped — and every other bid loses (and is told).
    const avail = {
      capacityTeu: dep.capacity_teu, capacityTonnes: dep.capacity_tonnes, heldTeu: dep.held_teu, heldTonnes: dep.held_tonnes,
      bookedTeu: dep.booked_teu, bookedTonnes: dep.booked_tonnes,
    };
    // the lot as it stands: a derating may have taken TEU off an open auction (remaining below its size)
    const lotTeu = Math.min(l.teu, l.remaining_teu);
    const fitTeu = awardableTeu(lotTeu, avail);
    const shortfallTeu = lotTeu - fitTeu;
    const { result, won }: GroupedClearing =
      fitTeu > 0
        ? clearWithGroups({ ...config, teu: fitTeu }, bids, excluded, groupOf)
        : { result: { winners: [], clearingPriceCents: null, awardedTeu: 0, unallocatedTeu: 0 }, won: [] };
    const award = await this.award(tx, l, dep, result, now);
    await markOtherBidsLost(tx, l.id, result.winners.map((w) => w.bidId));
    const groupEvents = await settleGroups(tx, this.opts, locks, l.id, won, now);
    const depAfter = await bookAward(tx, dep.id, award.teu, award.tonnes, now);
    if (!depAfter) throw conflict('insufficient_capacity', 'the departure cannot take the awarded TEU');
    const relist = await this.relistUnsold(tx, l, depAfter, result, now);
    const relisted = relist?.id ?? null;
    await markAuctionClosed(tx, l.id, { now, awardedTeu: result.awardedTeu, clearingPriceCents: result.clearingPriceCents, remainingTeu: relisted ? 0 : result.unallocatedTeu });
    await audit(tx, null, 'auction.close', { type: 'listing', id: l.id }, {
      awardedTeu: result.awardedTeu, clearingPriceCents: result.clearingPriceCents, winners: result.winners.length, relisted, shortfallTeu,
    });
    const bidders = [...new Set(bids.map((b) => b.bidderId))];
    await tellWebhooks(tx, [
      ...auctionEvents({ listingId: l.id, departureId: l.departure_id, clearingPriceCents: result.clearingPriceCents }, bidders, award.bookings),
      auctionClosedEvent(depAfter.operator_org_id, {
        listingId: l.id, departureId: l.departure_id, format: l.format, clearingPriceCents: result.clearingPriceCents, awardedTeu: result.awardedTeu,
        unallocatedTeu: result.unallocatedTeu, relistedListingId: relisted, bidders: bidders.length,
      }, award.bookings),
      ...bookingEvents('booking.confirmed', award.bookings.map((b) => ({ booking: toBooking(b), operatorOrgId: depAfter.operator_org_id }))),
    ]);
    return {
      done: true, l, result, bookings: award.bookings, depAfter: relist?.step?.taken ?? depAfter, bidders, relisted, shortfallTeu, groupEvents,
      offerEvents: relist?.step?.events ?? [],
    };
  }

  /** The winners become bookings (settlement through the outbox) and their bids `won`. */
  private async award(tx: Tx, l: ListingRow, dep: AwardDeparture, result: ClearingResult, now: Date) {
    // Bids carry TEU only; each booking gets the departure's weight allowance per TEU, at least 1 t per TEU.
    const allotted = allotAwardTonnes(
      result.winners.map((w) => w.teu),
      dep.capacity_tonnes - dep.held_tonnes - dep.booked_tonnes,
      dep.capacity_tonnes / dep.capacity_teu,
    );
    const bookings: BookingRow[] = [];
    let teu = 0;
    let tonnes = 0;
    for (const [i, w] of result.winners.entries()) {
      const t = allotted[i]!;
      const em = await emissionsFor(tx, dep.corridor_id, t);
      const b = await insertBooking(tx, {
        departure_id: dep.id, listing_id: l.id, bid_id: w.bidId, forwarder_org_id: w.bidderId, teu: w.teu, tonnes: t, unit_price_cents: w.unitPriceCents,
        total_cents: totalCents(w.unitPriceCents, w.teu), co2e_kg: em.co2eKg, road_co2e_kg: em.roadCo2eKg, reference: `Auction ${l.id.slice(0, 8)}`, created_at: now,
      });
      bookings.push(b);
      teu += w.teu;
      tonnes += t;
      await markBidWon(tx, w.bidId, w.teu);
      await enqueueInTx(tx, 'booking.settle', { bookingId: b.id }, `booking.settle-${b.id}`);
    }
    return { bookings, teu, tonnes };
  }

  /**
   * Unsold TEU as a fixed listing when the operator chose so, never more than the departure can still promise; then
   * offered first to matching watches (issue 14: reason `unsold`, with the departure's weight allowance per TEU).
   */
  private async relistUnsold(tx: Tx, l: ListingRow, depAfter: DepartureLoad, result: ClearingResult, now: Date): Promise<{ id: string; step: CascadeStep | null } | null> {
    if (l.unsold_action !== 'relist' || result.unallocatedTeu <= 0) return null;
    // What the departure's other open listings offer: this auction is still open here, offering its remaining TEU.
    const otherListed = (await openListedTeu(tx, depAfter.id)) - l.remaining_teu;
    const relistTeu = Math.min(
      result.unallocatedTeu,
      unpromisedTeu({ capacityTeu: depAfter.capacity_teu, bookedTeu: depAfter.booked_teu, heldTeu: depAfter.held_teu, listedTeu: otherListed }),
    );
    if (relistTeu <= 0) return null;
    const r = await insertListing(tx, {
      departure_id: depAfter.id, format: 'fixed', teu: relistTeu, remaining_teu: relistTeu,
      unit_price_cents: Math.max(1, result.clearingPriceCents ?? l.reserve_price_cents ?? 1),
      fee_rule: l.fee_rule === null ? null : JSON.stringify(l.fee_rule), created_by: l.created_by, created_at: now, updated_at: now,
    });
    await queueWatchMatch(tx, { departureId: depAfter.id, listingId: r.id, trigger: 'listing' }, `watches.match-listing-${r.id}`);
    if (!this.opts.offers) return { id: r.id, step: null };
    const tonnes = Math.min(
      depAfter.capacity_tonnes - depAfter.held_tonnes - depAfter.booked_tonnes,
      Math.floor((relistTeu * depAfter.capacity_tonnes) / depAfter.capacity_teu),
    );
    const freed = { reason: 'unsold' as const, sourceId: l.id, departureId: depAfter.id, listingId: r.id, teu: relistTeu, tonnes, freedByOrgId: null };
    return { id: r.id, step: await this.opts.offers.start(tx, freed, 'listing', now) };
  }

  /**
   * Closes every auction past its close time (worker start-up and periodic sweep: catches missed jobs),
   * oldest first, each on its own: one that fails is logged, counted and left out of the next sweeps for a
   * while (back-off), so it can neither stop nor crowd out the other overdue auctions.
   */
  async sweepDue(log?: SweepLog): Promise<{ closed: number; failed: number }> {
    const due = await dueAuctionIds(this.db, this.sweepFailures.excluded());
    const r = await eachIsolated('auction.close', due, (id) => id, async (id) => (await this.close(id)).done, {
      failures: this.sweepFailures,
      ...(log ? { log } : {}),
    });
    return { closed: r.done, failed: r.failed };
  }
}

/** Watchers get the result, every bidder its own outcome, every winner's and the operator's organisation the bookings. */
function closeEvents(out: Closed): LiveEvent[] {
  const events: LiveEvent[] = [
    listingClosedEvent(out.l.id, { clearingPriceCents: out.result.clearingPriceCents, awardedTeu: out.result.awardedTeu, shortfallTeu: out.shortfallTeu }),
    availabilityEvent(out.depAfter),
  ];
  for (const org of out.bidders) events.push(auctionResultEvent(org, out.l.id, out.bookings.filter((b) => b.forwarder_org_id === org), out.shortfallTeu));
  for (const b of out.bookings) events.push(bookingConfirmedEvent(toBooking(b), out.depAfter.operator_org_id));
  return [...events, ...out.groupEvents, ...out.offerEvents];
}
