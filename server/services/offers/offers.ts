import { audit } from '../../adapters/db/audit.ts';
import { inTransaction, type Db } from '../../adapters/db/db.ts';
import { departureForListing, lockDeparture, releaseLoad } from '../../adapters/db/departures-repo.ts';
import { placeHoldsMulti } from '../../adapters/db/holds-repo.ts';
import { returnTeuToListing } from '../../adapters/db/listings-repo.ts';
import { findShipment, lockShipmentOfOrg } from '../../adapters/db/shipments-repo.ts';
import {
  chainsOfDeparture, dueOpenOffers, endChain, endOpenOffer, findChain, findOffer, lockOffer, openOfferIdsOfListing, openOfferIdsOfShipment, openOffersOfOrg,
  setOfferHold, toOffer, type OfferRow,
} from '../../adapters/db/offers-repo.ts';
import { enqueueInTx, kickOutbox } from '../../adapters/db/outbox.ts';
import type { Queues } from '../../adapters/queue/jobs.ts';
import { availabilityEvent, listingUpdateEvent, type EventSink, type LiveEvent } from '../../adapters/realtime/events.ts';
import { offerExpiredEvent } from '../../adapters/realtime/offer-events.ts';
import type { AvailabilityCache } from '../../adapters/redis/availability.ts';
import { holdExpiresAt } from '../../core/capacity.ts';
import { totalCents } from '../../core/pricing.ts';
import { acceptedQuantity } from '../../core/watches.ts';
import { badRequest, conflict, notFound } from '../../domain/errors.ts';
import { policy, type Principal } from '../../domain/principal.ts';
import type { Booking, Hold } from '../../domain/schemas/trade.ts';
import type { AcceptOfferBody, DepartureOffers, Offer } from '../../domain/schemas/watches.ts';
import { committedLoad } from '../capacity-sync.ts';
import { holdRefusal } from '../hold-batch.ts';
import { eachIsolated, RecentFailures, type SweepLog } from '../sweep.ts';
import { watchesOnFreed, type CascadeStep, type OfferCascade } from './cascade.ts';
import { noShow } from './no-show.ts';
import { shipmentOnAccept } from './pooled.ts';
import { relocate } from './relocation.ts';

interface OffersOptions {
  holdTtlMs: number;
  holdMaxSharePct: number;
}

/**
 * Offers of freed capacity (issue 14, part 2): the offeree accepts (a hold at the offered price, through the hold
 * statement and its guards) or declines; an offer runs out by its job or the sweep; the next in line is offered in
 * the same transaction. Every transition locks the departure, then the offer row, and moves the offer out of `open`
 * exactly once — so an accept racing the timeout has exactly one outcome.
 */
export class OffersService {
  private readonly sweepFailures = new RecentFailures(5_000, 60_000);

  constructor(
    private readonly db: Db,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
    private readonly queues: Queues | null,
    readonly cascade: OfferCascade,
    private readonly opts: OffersOptions,
  ) {}

  /** GET /api/offers — my organisation's open offers. */
  async list(p: Principal, now = new Date()): Promise<Offer[]> {
    policy.requireOrgKind(p, 'forwarder');
    return openOffersOfOrg(this.db, p.orgId, now);
  }

  private async own(p: Principal, id: string): Promise<OfferRow> {
    policy.requireOrgKind(p, 'forwarder');
    const o = await findOffer(this.db, id);
    if (!o || o.org_id !== p.orgId) throw notFound('offer');
    return o;
  }

  /** POST /api/offers/:id/accept — a hold at the offered price; 409 `offer_expired` once the window has passed. */
  async accept(p: Principal, id: string, input: AcceptOfferBody, now = new Date()): Promise<Hold> {
    const o = await this.own(p, id);
    // an offer made for a pooled shipment takes the shipment's quantities unless told otherwise
    const shipment = o.shipment_id && input.teu === undefined ? await findShipment(this.db, o.shipment_id) : undefined;
    const q = acceptedQuantity(o, shipment && shipment.teu <= o.teu && shipment.tonnes <= o.tonnes ? { teu: shipment.teu, tonnes: shipment.tonnes, ...input } : input);
    if (!q.ok) throw badRequest(q.code, q.message);
    const r = await inTransaction(this.db, async (tx) => {
      // lock order: the shipment an offer was made for (as the optimiser's plan and a proposal's accept), the
      // departure, the offer
      if (o.shipment_id && !(await lockShipmentOfOrg(tx, o.shipment_id, p.orgId))) throw notFound('offer');
      await lockDeparture(tx, o.departure_id);
      const cur = await lockOffer(tx, id);
      if (!cur || cur.status === 'expired' || (cur.status === 'open' && cur.expires_at <= now)) {
        throw conflict('offer_expired', 'this offer has expired; the capacity went to the next in line');
      }
      if (cur.status !== 'open') throw conflict('offer_not_open', `this offer is ${cur.status}`);
      // the shipment leaves the pool when this hold carries it (./pooled.ts); refusals roll everything back
      const pool = cur.shipment_id ? await shipmentOnAccept(tx, cur.shipment_id, cur, q, now) : null;
      await endOpenOffer(tx, id, 'accepted', now);
      await endChain(tx, cur.chain_id, 'accepted', now);
      // the reservation goes back to the listing and a hold takes what is accepted, through cx_place_holds_multi
      // (capacity, cut-off, listing open, held share): the same guard as every hold. A refusal rolls all of it back.
      await returnTeuToListing(tx, cur.listing_id, cur.teu, now);
      await releaseLoad(tx, 'held', cur.departure_id, cur.teu, cur.tonnes, now);
      const [placed] = await placeHoldsMulti(
        tx,
        [{
          departureId: cur.departure_id,
          items: [{
            listingId: cur.listing_id, teu: q.teu, tonnes: q.tonnes, unitPriceCents: cur.unit_price_cents, expiresAt: holdExpiresAt(now, this.opts.holdTtlMs).toISOString(),
            orgId: p.orgId, userId: p.userId ?? '', apiKeyId: p.apiKeyId ?? '',
          }],
        }],
        now,
        this.opts.holdTtlMs,
        this.opts.holdMaxSharePct,
      );
      const res = placed?.results[0];
      if (!placed || !res || res.status !== 'ok' || !res.id) throw holdRefusal(res?.status ?? 'insufficient_capacity', this.opts.holdMaxSharePct);
      await setOfferHold(tx, id, res.id);
      const expiresAt = new Date(res.expiresAt ?? holdExpiresAt(now, this.opts.holdTtlMs));
      await enqueueInTx(tx, 'hold.expire', { holdId: res.id }, `hold.expire-${res.id}`, expiresAt);
      await audit(tx, p, 'offer.accept', { type: 'offer', id }, { holdId: res.id, teu: q.teu, tonnes: q.tonnes, offeredTeu: cur.teu, ...(cur.shipment_id ? { shipmentId: cur.shipment_id, pool } : {}) });
      if (q.teu < cur.teu) await watchesOnFreed(tx, placed.departure); // the rest is back on the open board
      const hold: Hold = {
        id: res.id, listingId: cur.listing_id, departureId: cur.departure_id, teu: q.teu, tonnes: q.tonnes, unitPriceCents: cur.unit_price_cents,
        totalCents: totalCents(cur.unit_price_cents, q.teu), status: 'active', expiresAt: expiresAt.toISOString(), createdAt: now.toISOString(),
      };
      return { hold, dep: placed.departure, l: { id: cur.listing_id, status: 'open', remaining_teu: res.listingRemaining ?? 0 } };
    });
    void this.queues?.remove('offer.expire', `offer.expire-${id}`).catch(() => {});
    kickOutbox(this.db, this.queues);
    await this.cache.settle(r.dep.corridor_id, r.dep.id, null, committedLoad(r.dep, r.l)).catch(() => {});
    await this.emit([availabilityEvent(r.dep), listingUpdateEvent(r.l)]);
    return r.hold;
  }

  /** POST /api/offers/:id/decline — the next in line is offered at once. Declining twice is fine. */
  async decline(p: Principal, id: string, now = new Date()): Promise<void> {
    const o = await this.own(p, id);
    if (o.status === 'declined') return;
    const r = await this.end(o, 'declined', now);
    if (!r) {
      const cur = await findOffer(this.db, id);
      if (cur?.status === 'declined') return;
      throw conflict(cur?.status === 'expired' ? 'offer_expired' : 'offer_not_open', `this offer is ${cur?.status ?? 'gone'}`);
    }
  }

  /** The `offer.expire` job: the window ran out. Null when the offer is no longer open; 'not_yet' when it is not due. */
  async expire(offerId: string, now = new Date()): Promise<{ expired: boolean; notYet?: boolean }> {
    const o = await findOffer(this.db, offerId);
    if (!o || o.status !== 'open') return { expired: false };
    if (o.expires_at > now) return { expired: false, notYet: true };
    return { expired: !!(await this.end(o, 'expired', now)) };
  }

  /** Withdraws the open offers of a listing that no longer sells (cancelled): their lots go back. */
  async withdrawAllOfListing(listingId: string, now = new Date()): Promise<number> {
    const open = await openOfferIdsOfListing(this.db, listingId);
    let n = 0;
    for (const { id } of open) {
      const o = await findOffer(this.db, id);
      if (o && (await this.end(o, 'withdrawn', now).catch(() => null))) n++;
    }
    return n;
  }

  /**
   * A pooled shipment changed or withdrawn by its forwarder (after that commit): an offer made for it no longer
   * stands — withdrawn, and its lot goes to the next in line.
   */
  async withdrawForShipment(shipmentId: string, now = new Date()): Promise<number> {
    let n = 0;
    for (const { id } of await openOfferIdsOfShipment(this.db, shipmentId)) {
      const o = await findOffer(this.db, id);
      if (o && (await this.end(o, 'withdrawn', now, 'next').catch(() => null))) n++;
    }
    return n;
  }

  /**
   * Ends an open offer (declined, expired, withdrawn) and moves its chain on, in one transaction under the
   * departure's and the offer's locks. Null when it was no longer open (or not yet due, for an expiry).
   */
  private async end(o: OfferRow, how: 'declined' | 'expired' | 'withdrawn', now: Date, then: 'next' | 'give_back' = how === 'withdrawn' ? 'give_back' : 'next') {
    const step = await inTransaction(this.db, async (tx): Promise<{ ended: OfferRow; step: CascadeStep } | null> => {
      await lockDeparture(tx, o.departure_id);
      const cur = await lockOffer(tx, o.id);
      if (!cur || cur.status !== 'open' || (how === 'expired' && cur.expires_at > now)) return null;
      const ended = (await endOpenOffer(tx, o.id, how, now))!;
      await audit(tx, null, `offer.${how === 'declined' ? 'decline' : how === 'expired' ? 'expire' : 'withdraw'}`, { type: 'offer', id: o.id }, { chainId: cur.chain_id });
      const chain = (await findChain(tx, cur.chain_id))!;
      return { ended, step: then === 'give_back' ? { events: [], offer: null, returned: await this.cascade.giveBack(tx, chain, now) } : await this.cascade.next(tx, chain, now) };
    });
    if (!step) return null;
    await this.afterStep(step.step, how === 'declined' ? [] : [offerExpiredEvent(o.org_id, toOffer(o), how === 'expired' ? 'expired' : 'withdrawn')]);
    if (how !== 'expired') void this.queues?.remove('offer.expire', `offer.expire-${o.id}`).catch(() => {});
    return step.ended;
  }

  /** After a committed step: jobs out of the outbox, the cache and live views when the lot went back, the offeree told. */
  async afterStep(step: CascadeStep, extra: LiveEvent[] = []) {
    kickOutbox(this.db, this.queues);
    const events = [...extra, ...step.events];
    for (const x of [step.returned, step.taken && step.takenListing ? { dep: step.taken, l: step.takenListing } : null]) {
      if (!x) continue;
      await this.cache.settle(x.dep.corridor_id, x.dep.id, null, committedLoad(x.dep, x.l)).catch(() => {});
      events.push(availabilityEvent(x.dep), listingUpdateEvent(x.l));
    }
    await this.emit(events);
  }

  /**
   * First refusal on a rail alternative for a booking a derating moved (./relocation.ts): right after the derating
   * commits, and by the `derating.relocate` job. Once per moved booking; null when nothing was offered.
   */
  async relocate(bookingId: string, now = new Date()): Promise<Offer | null> {
    const step = await relocate(this.db, this.cascade, bookingId, now);
    if (!step) return null;
    await this.afterStep(step);
    return step.offer ? toOffer(step.offer) : null;
  }

  /** Expires every open offer past its time (worker start-up and every few seconds), each on its own. */
  async sweep(now = new Date(), log?: SweepLog): Promise<{ expired: number; failed: number }> {
    const due = await dueOpenOffers(this.db, now, this.sweepFailures.excluded());
    const r = await eachIsolated('offer.expire', due, (o) => o.id, async ({ id }) => (await this.expire(id, now)).expired, {
      failures: this.sweepFailures,
      ...(log ? { log } : {}),
    });
    return { expired: r.done, failed: r.failed };
  }

  /** GET /api/departures/:id/offer-chains — the re-offer chains of a departure, for its operator (and the platform). */
  async ofDeparture(p: Principal, departureId: string): Promise<DepartureOffers> {
    policy.requireOrgKind(p, 'operator', 'platform');
    const d = await departureForListing(this.db, departureId);
    if (!d || !policy.canSeePrivate(p, [d.operator_org_id])) throw notFound('departure');
    return { departureId, chains: await chainsOfDeparture(this.db, departureId) };
  }

  /** POST /api/bookings/:id/no-show — see ./no-show.ts. */
  async noShow(p: Principal, bookingId: string, now = new Date()): Promise<Booking> {
    const r = await noShow(this.db, this.cascade, p, bookingId, now);
    if (r.step) await this.afterStep(r.step);
    return r.booking;
  }

  private async emit(events: LiveEvent[]) {
    if (events.length) await this.events.emit(events).catch(() => {});
  }
}

