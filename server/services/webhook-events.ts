import type { Db, Tx } from '../adapters/db/db.ts';
import { recordWebhookEvents, type WebhookEventInput } from '../adapters/db/webhook-events-repo.ts';
import type { WebhookEventType } from '../core/webhooks.ts';
import type { Booking } from '../domain/schemas/trade.ts';

/**
 * What the services call inside their transactions to tell webhooks (issue 15): one statement per transaction,
 * writing nothing when no organisation concerned has an enabled endpoint for the type. Payloads are documented in
 * README "Webhooks"; each organisation gets its own event (its own id).
 */
export function tellWebhooks(tx: Db | Tx, events: WebhookEventInput[]): Promise<void> {
  return recordWebhookEvents(tx, events);
}

/** `booking.confirmed` / `booking.cancelled`: the Booking (API shape) to its forwarder and to the departure's operator. */
export function bookingEvents(type: 'booking.confirmed' | 'booking.cancelled', bookings: { booking: Booking; operatorOrgId: string | null }[]): WebhookEventInput[] {
  return bookings.flatMap(({ booking, operatorOrgId }) => {
    const orgs = [booking.forwarderOrgId, ...(operatorOrgId && operatorOrgId !== booking.forwarderOrgId ? [operatorOrgId] : [])];
    return orgs.map((orgId) => ({ orgId, type, objectKey: `booking:${booking.id}`, data: booking }));
  });
}

/** `hold.expired`: to the holder's organisation. */
export function holdExpiredEvents(holds: { id: string; org_id: string; listing_id: string; departure_id: string; teu: number; tonnes: number; itinerary_id?: string | null }[]): WebhookEventInput[] {
  return holds.map((h) => ({
    orgId: h.org_id,
    type: 'hold.expired' satisfies WebhookEventType,
    objectKey: `hold:${h.id}`,
    data: { holdId: h.id, listingId: h.listing_id, departureId: h.departure_id, teu: h.teu, tonnes: h.tonnes, itineraryId: h.itinerary_id ?? null },
  }));
}

/** A booking an auction's close made for a winner (the rows it inserted). */
type AuctionWin = { id: string; forwarder_org_id: string; teu: number; unit_price_cents: number; total_cents: number; bid_id?: string | null };

/**
 * `auction.won` to each winner's organisation (one per booking it won) and `auction.lost` to every other bidder's,
 * with the listing, its departure and the clearing price.
 */
export function auctionEvents(
  a: { listingId: string; departureId: string; clearingPriceCents: number | null },
  bidderOrgIds: string[],
  won: AuctionWin[],
): WebhookEventInput[] {
  const winners = new Set(won.map((b) => b.forwarder_org_id));
  const base = { listingId: a.listingId, departureId: a.departureId, clearingPriceCents: a.clearingPriceCents };
  return [
    ...won.map((b) => ({
      orgId: b.forwarder_org_id,
      type: 'auction.won',
      objectKey: `auction:${a.listingId}:${b.forwarder_org_id}`,
      data: { ...base, bookingId: b.id, bidId: b.bid_id ?? null, teu: b.teu, unitPriceCents: b.unit_price_cents, totalCents: b.total_cents },
    })),
    ...bidderOrgIds.filter((o) => !winners.has(o)).map((orgId) => ({ orgId, type: 'auction.lost', objectKey: `auction:${a.listingId}:${orgId}`, data: base })),
  ];
}

/**
 * `auction.closed` to the listing's operator: what its auction came to — each winner's booking, the TEU awarded and
 * left, the clearing price, how many organisations bid, and the fixed-price listing of what was re-listed, if any.
 */
export function auctionClosedEvent(
  operatorOrgId: string,
  a: { listingId: string; departureId: string; format: string; clearingPriceCents: number | null; awardedTeu: number; unallocatedTeu: number; relistedListingId: string | null; bidders: number },
  won: AuctionWin[],
): WebhookEventInput {
  return {
    orgId: operatorOrgId, type: 'auction.closed', objectKey: `auction:${a.listingId}:closed`,
    data: { ...a, winners: won.map((b) => ({ bookingId: b.id, forwarderOrgId: b.forwarder_org_id, teu: b.teu, unitPriceCents: b.unit_price_cents, totalCents: b.total_cents })) },
  };
}

/** `invoice.issued`: to the recipient (forwarder) and the issuer (operator). */
export function invoiceEvents(
  invoices: { id: string; number: string; issuerOrgId: string; recipientOrgId: string; bookingId: string; netCents: number; vatCents: number; issuedAt: Date }[],
): WebhookEventInput[] {
  return invoices.flatMap((i) => {
    const data = {
      id: i.id, number: i.number, kind: 'invoice', issuerOrgId: i.issuerOrgId, recipientOrgId: i.recipientOrgId, bookingId: i.bookingId,
      totalCents: i.netCents + i.vatCents, vatCents: i.vatCents, issuedAt: i.issuedAt.toISOString(),
    };
    return [i.recipientOrgId, i.issuerOrgId].map((orgId) => ({ orgId, type: 'invoice.issued', objectKey: `invoice:${i.id}`, data }));
  });
}
