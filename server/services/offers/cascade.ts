import { audit } from '../../adapters/db/audit.ts';
import type { Tx } from '../../adapters/db/db.ts';
import { releaseLoad, type DepartureLoad } from '../../adapters/db/departures-repo.ts';
import { currentUnitPrice, returnTeuToListing } from '../../adapters/db/listings-repo.ts';
import {
  chainHistory, claimShipmentForOffer, endChain, insertChain, insertOffer, listingForShare, moveBookedToHeld, takeListedForOffer, toOffer, type ChainRow,
  type OfferRow,
} from '../../adapters/db/offers-repo.ts';
import { enqueueInTx } from '../../adapters/db/outbox.ts';
import type { OfferReason } from '../../adapters/db/schema.ts';
import { candidateShipments, candidateWatches, departureForWatches, factsOf, queueWatchMatch } from '../../adapters/db/watches-repo.ts';
import type { LiveEvent } from '../../adapters/realtime/events.ts';
import { offerNewEvent } from '../../adapters/realtime/offer-events.ts';
import { canStillOffer, offerExpiresAt, offerOrder, shipmentCriteria, type DepartureFacts, type Lot, type WatchCriteria } from '../../core/watches.ts';
import { notOpenYet } from '../../core/capacity.ts';
import { tellWebhooks } from '../webhook-events.ts';

/** Capacity just freed on a departure, not yet given back: what may be offered first. */
export interface Freed {
  reason: OfferReason;
  /** The hold, booking or auction listing that freed it (one chain per freed thing). */
  sourceId: string;
  departureId: string;
  /** The open fixed or falling listing the lot is sold through (an offer's hold is placed on it). */
  listingId: string;
  teu: number;
  tonnes: number;
  /** Who freed it (never offered it back); null for an auction's unsold TEU. */
  freedByOrgId: string | null;
}

/** First refusal for a forwarder whose booking a derating moved off its barge: a lot of a rail alternative's listing. */
export interface Relocation {
  movedBookingId: string;
  orgId: string;
  departureId: string;
  listingId: string;
  teu: number;
  tonnes: number;
}

/** Why an offeree is offered: its watch, its pooled shipment, or its moved booking (exactly one). */
type Why = { watchId: string } | { shipmentId: string } | { movedBookingId: string };

function whyOf(c: WatchCriteria): Why {
  return c.kind === 'shipment' ? { shipmentId: c.id } : { watchId: c.id };
}

/**
 * Where the freed TEU are now: still counted as held (an expired hold), as booked (a cancelled or no-show booking),
 * or in a listing's remaining TEU (an auction's unsold TEU just re-listed).
 */
export type FreedFrom = 'held' | 'booked' | 'listing';

/** What a step of a cascade leaves for after the commit: live events, and the new load when capacity went back. */
export interface CascadeStep {
  events: LiveEvent[];
  offer: OfferRow | null;
  /** The lot went back on the open board: the departure's new load and the listing's state (cache, live events). */
  returned: { dep: DepartureLoad; l: { id: string; status: string; remaining_teu: number } } | null;
  /** The lot was taken off a listing for the offer: the departure's new load (its free capacity changed). */
  taken?: DepartureLoad;
  /** …and that listing's state (a relocation: cache and live views are told after the commit). */
  takenListing?: { id: string; status: string; remaining_teu: number };
}

/** `watches.match` for capacity back on the board of a departure (job id from its `seq`: once per change). */
export function watchesOnFreed(tx: Tx, dep: { id: string; seq: number }): Promise<void> {
  return queueWatchMatch(tx, { departureId: dep.id, trigger: 'freed' }, `watches.match-${dep.id}-seq-${Number(dep.seq)}`);
}

/**
 * The cascade of re-offers (issue 14, part 2), inside the callers' transactions. Every caller has locked the
 * departure (lock order of every capacity path: departure, then listing / offer), so one departure's chains move one
 * step at a time. While a chain offers, its lot is counted in the departure's held TEU and tonnes and in no listing's
 * remaining TEU — reserved for the offeree and invisible to everyone else; the capacity guards stay as they are.
 */
export class OfferCascade {
  constructor(readonly opts: { windowMs: number }) {}

  /**
   * Offers freed capacity to the first in line: reserves it (from where it is), opens a chain and its first offer
   * (expiry job through the outbox, `offer.created` webhook). Null when nobody is offered (no matching watch, no
   * open fixed / falling listing, past the cut-off): the caller gives the capacity back as before.
   */
  async start(tx: Tx, f: Freed, from: FreedFrom, now: Date): Promise<CascadeStep | null> {
    if (f.teu < 1 || f.tonnes < f.teu) return null;
    const ctx = await this.context(tx, f.departureId, f.listingId, now);
    if (!ctx) return null;
    const lot: Lot = { teu: f.teu, tonnes: f.tonnes, unitPriceCents: ctx.price };
    const first = await this.pick(tx, offerOrder(await this.candidates(tx, ctx.facts, now), ctx.facts, lot, new Set(f.freedByOrgId ? [f.freedByOrgId] : [])));
    if (!first) return null;
    let taken: DepartureLoad | undefined;
    if (from === 'booked') await moveBookedToHeld(tx, f.departureId, f.teu, f.tonnes, now);
    else if (from === 'listing') {
      const t = await takeListedForOffer(tx, f.listingId, f.departureId, f.teu, f.tonnes, now);
      if (!t) return null;
      taken = t.dep;
    }
    const chain = await insertChain(tx, {
      departure_id: f.departureId, listing_id: f.listingId, teu: f.teu, tonnes: f.tonnes, unit_price_cents: ctx.price, reason: f.reason,
      source_id: f.sourceId, freed_by_org_id: f.freedByOrgId, created_at: now,
    });
    await audit(tx, null, 'offer.chain', { type: 'departure', id: f.departureId }, { chainId: chain.id, reason: f.reason, teu: f.teu, sourceId: f.sourceId });
    const offer = await this.open(tx, chain, 1, whyOf(first), first.orgId, ctx.cutoffAt, now);
    return { events: [offerNewEvent(offer.org_id, toOffer(offer))], offer, returned: null, ...(taken ? { taken } : {}) };
  }

  /**
   * First refusal on a rail alternative for a forwarder whose booking a derating moved (issue 14, part 3): the lot is
   * taken off the rail listing (reserved, invisible to others) and offered to that forwarder alone, at the listing's
   * price now; when the offer ends unaccepted the lot goes straight back on the open board. Null when the departure or
   * listing no longer sells, or cannot give the TEU and tonnes (nothing changed then); one chain per moved booking.
   */
  async relocate(tx: Tx, r: Relocation, now: Date): Promise<CascadeStep | null> {
    if (r.teu < 1 || r.tonnes < r.teu) return null;
    const ctx = await this.context(tx, r.departureId, r.listingId, now);
    if (!ctx) return null;
    const t = await takeListedForOffer(tx, r.listingId, r.departureId, r.teu, r.tonnes, now);
    if (!t) return null;
    const chain = await insertChain(tx, {
      departure_id: r.departureId, listing_id: r.listingId, teu: r.teu, tonnes: r.tonnes, unit_price_cents: ctx.price, reason: 'derating',
      source_id: r.movedBookingId, freed_by_org_id: null, only_org_id: r.orgId, created_at: now,
    });
    await audit(tx, null, 'offer.chain', { type: 'departure', id: r.departureId }, { chainId: chain.id, reason: 'derating', teu: r.teu, sourceId: r.movedBookingId, only: r.orgId });
    const offer = await this.open(tx, chain, 1, { movedBookingId: r.movedBookingId }, r.orgId, ctx.cutoffAt, now);
    return { events: [offerNewEvent(offer.org_id, toOffer(offer))], offer, returned: null, taken: t.dep, takenListing: t.l };
  }

  /**
   * The first in the order that can be offered now: a watch always; a pooled shipment only when this transaction
   * claims it (no other lot is being offered to it: one lot at a time per shipment).
   */
  private async pick(tx: Tx, order: WatchCriteria[]): Promise<WatchCriteria | undefined> {
    for (const c of order) if (c.kind !== 'shipment' || (await claimShipmentForOffer(tx, c.id))) return c;
    return undefined;
  }

  /** Watches and pooled shipments that may be offered capacity of this departure. */
  private async candidates(tx: Tx, facts: DepartureFacts, now: Date): Promise<WatchCriteria[]> {
    const [watches, shipments] = await Promise.all([candidateWatches(tx, facts), candidateShipments(tx, facts, now)]);
    return [...watches, ...shipments.map(shipmentCriteria)];
  }

  /**
   * The chain's open offer just ended (declined, expired or withdrawn): the next in line gets it, or — nobody left,
   * the listing no longer sells, past the cut-off — the lot goes back on the open board (held → the listing's
   * remaining TEU; watches told).
   */
  async next(tx: Tx, chain: ChainRow, now: Date): Promise<CascadeStep> {
    // a chain reserved for one organisation (first refusal of a moved booking) is offered to nobody else
    const ctx = chain.only_org_id ? null : await this.context(tx, chain.departure_id, chain.listing_id, now);
    if (ctx) {
      const history = await chainHistory(tx, chain.id);
      const exclude = new Set([...history.orgs, ...(chain.freed_by_org_id ? [chain.freed_by_org_id] : [])]);
      const lot: Lot = { teu: chain.teu, tonnes: chain.tonnes, unitPriceCents: chain.unit_price_cents };
      const w = await this.pick(tx, offerOrder(await this.candidates(tx, ctx.facts, now), ctx.facts, lot, exclude));
      if (w) {
        const offer = await this.open(tx, chain, history.lastRound + 1, whyOf(w), w.orgId, ctx.cutoffAt, now);
        return { events: [offerNewEvent(offer.org_id, toOffer(offer))], offer, returned: null };
      }
    }
    return { events: [], offer: null, returned: await this.giveBack(tx, chain, now) };
  }

  /** Ends a chain with its lot back on the open board (its open offer already ended). */
  async giveBack(tx: Tx, chain: ChainRow, now: Date): Promise<NonNullable<CascadeStep['returned']>> {
    await endChain(tx, chain.id, 'returned', now);
    const l = await returnTeuToListing(tx, chain.listing_id, chain.teu, now);
    const dep = await releaseLoad(tx, 'held', chain.departure_id, chain.teu, chain.tonnes, now);
    await audit(tx, null, 'offer.return', { type: 'departure', id: chain.departure_id }, { chainId: chain.id, teu: chain.teu });
    await watchesOnFreed(tx, dep);
    return { dep, l };
  }

  private async open(tx: Tx, chain: ChainRow, round: number, why: Why, orgId: string, cutoffAt: Date, now: Date): Promise<OfferRow> {
    const offer = await insertOffer(tx, {
      chain_id: chain.id, round, departure_id: chain.departure_id, listing_id: chain.listing_id, org_id: orgId, teu: chain.teu,
      watch_id: 'watchId' in why ? why.watchId : null, shipment_id: 'shipmentId' in why ? why.shipmentId : null,
      moved_booking_id: 'movedBookingId' in why ? why.movedBookingId : null,
      tonnes: chain.tonnes, unit_price_cents: chain.unit_price_cents, reason: chain.reason, expires_at: offerExpiresAt(now, this.opts.windowMs, cutoffAt),
      created_at: now,
    });
    await enqueueInTx(tx, 'offer.expire', { offerId: offer.id }, `offer.expire-${offer.id}`, offer.expires_at);
    await tellWebhooks(tx, [{ orgId, type: 'offer.created', objectKey: `offer:${offer.id}`, data: toOffer(offer) }]);
    await audit(tx, null, 'offer.create', { type: 'offer', id: offer.id }, { chainId: chain.id, round, orgId, teu: chain.teu });
    return offer;
  }

  /** The departure and listing still sell (scheduled, before the cut-off, an open fixed / falling listing): their facts. */
  private async context(tx: Tx, departureId: string, listingId: string, now: Date) {
    const d = await departureForWatches(tx, departureId);
    if (!d || d.status !== 'scheduled' || !canStillOffer(now, d.cutoff_at)) return null;
    // share-locked (lock order: departure, then listing): a cancellation of the listing waits for this step, or this
    // step sees it cancelled. A lot whose listing is of another departure (a booking moved by a merge) is not offered.
    const l = await listingForShare(tx, listingId);
    if (!l || l.departure_id !== departureId || l.status !== 'open' || (l.format !== 'fixed' && l.format !== 'falling')) return null;
    if (notOpenYet(l.opens_at, now)) return null; // a sale not open yet is offered to nobody (a hold would be refused)
    const price = currentUnitPrice(l, now);
    if (price === undefined) return null;
    return { facts: factsOf(d), cutoffAt: d.cutoff_at, price };
  }
}
