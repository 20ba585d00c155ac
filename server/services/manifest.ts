import type { Db } from '../adapters/db/db.ts';
import { departureForListing } from '../adapters/db/departures-repo.ts';
import { activeHoldsOnDeparture, bookingsOnDeparture, openOffersOnDeparture, type ManifestBookingRow } from '../adapters/db/manifest-repo.ts';
import { notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import type { DepartureManifest, ManifestBooking } from '../domain/schemas/manifest.ts';
import type { Cargo } from '../domain/schemas/trade.ts';

/**
 * A departure's manifest for its operator (and the platform): every booking with its customer, load, price, cargo
 * and what ended it, the holds on it now, the room reserved for open re-offers, and the totals. Another operator's
 * departure is 404 (its customers are that operator's business); forwarders and schedulers 403 — a scheduler sees
 * the load, not who pays what.
 */
export class ManifestService {
  constructor(private readonly db: Db) {}

  async ofDeparture(p: Principal, departureId: string, now = new Date()): Promise<DepartureManifest> {
    policy.requireOrgKind(p, 'operator', 'platform');
    const d = await departureForListing(this.db, departureId);
    if (!d || !policy.canSeePrivate(p, [d.operator_org_id])) throw notFound('departure');
    const [rows, holdRows, offerRows] = await Promise.all([
      bookingsOnDeparture(this.db, departureId), activeHoldsOnDeparture(this.db, departureId), openOffersOnDeparture(this.db, departureId),
    ]);
    const bookings = rows.map(manifestBooking);
    const holds = holdRows.map((h) => ({
      id: h.id, forwarderOrgId: h.org_id, forwarderOrgName: h.org_name, listingId: h.listing_id, teu: h.teu, tonnes: h.tonnes,
      unitPriceCents: h.unit_price_cents, expiresAt: h.expires_at.toISOString(), createdAt: h.created_at.toISOString(), itineraryId: h.itinerary_id,
    }));
    const offers = offerRows.map((f) => ({
      id: f.id, forwarderOrgId: f.org_id, forwarderOrgName: f.org_name, listingId: f.listing_id, teu: f.teu, tonnes: f.tonnes, unitPriceCents: f.unit_price_cents,
      reason: f.reason, expiresAt: f.expires_at.toISOString(),
    }));
    const active = bookings.filter((b) => b.status !== 'cancelled');
    const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((s, x) => s + f(x), 0);
    const offeredTeu = sum(offers, (f) => f.teu);
    return {
      departureId, asOf: now.toISOString(), bookings, holds, offers,
      totals: {
        bookedTeu: sum(active, (b) => b.teu), bookedTonnes: sum(active, (b) => b.tonnes), bookedCents: sum(active, (b) => b.totalCents),
        feesCents: sum(bookings.filter((b) => b.status === 'cancelled'), (b) => b.cancellationFeeCents ?? 0),
        heldTeu: sum(holds, (h) => h.teu) + offeredTeu, heldTonnes: sum(holds, (h) => h.tonnes) + sum(offers, (f) => f.tonnes), offeredTeu,
        dangerousGoodsBookings: active.filter((b) => b.cargo?.dangerousGoods === true).length,
      },
    };
  }
}

function manifestBooking(r: ManifestBookingRow): ManifestBooking {
  const cancelledBecause = r.status !== 'cancelled' ? null : r.no_show_at ? 'no_show' : r.cancel_reason === 'derating' ? 'derating' : 'forwarder';
  return {
    id: r.id, forwarderOrgId: r.forwarder_org_id, forwarderOrgName: r.forwarder_org_name, listingId: r.listing_id, format: r.format, teu: r.teu, tonnes: r.tonnes,
    unitPriceCents: r.unit_price_cents, totalCents: r.total_cents, status: r.status, reference: r.reference, cargo: (r.cargo as Cargo | null) ?? null,
    createdAt: r.created_at.toISOString(), cancelledAt: r.cancelled_at?.toISOString() ?? null, cancellationFeeCents: r.cancellation_fee_cents,
    cancelledBecause, itineraryId: r.itinerary_id, movedFromDepartureId: r.moved_from_departure_id,
  };
}
