import type { Selectable } from 'kysely';
import { fallingPrice } from '../../core/pricing.ts';
import type { ListingsTable } from './schema.ts';

export type ListingRow = Selectable<ListingsTable>;

/** The price a buyer pays per TEU right now (fixed: the unit price; falling: the stepped price). */
export function currentUnitPrice(l: ListingRow, now: Date): number | undefined {
  if (l.format === 'fixed') return l.unit_price_cents ?? undefined;
  if (l.format === 'falling' && l.unit_price_cents !== null) {
    return fallingPrice(
      {
        startPriceCents: l.unit_price_cents,
        floorPriceCents: l.floor_price_cents ?? l.unit_price_cents,
        stepCents: l.step_cents ?? 0,
        stepEveryMinutes: l.step_every_minutes ?? 60,
        startsAt: l.opens_at ?? l.created_at,
      },
      now,
    );
  }
  return undefined;
}

/** The public `Listing` shape of API.md. Auction state (leading bids) is added by the auction service. */
export function toListing(l: ListingRow, now: Date) {
  const price = currentUnitPrice(l, now);
  return {
    id: l.id,
    departureId: l.departure_id,
    format: l.format,
    teu: l.teu,
    remainingTeu: l.remaining_teu,
    status: l.status,
    ...(l.unit_price_cents !== null ? { unitPriceCents: l.unit_price_cents } : {}),
    ...(l.reserve_price_cents !== null ? { reservePriceCents: l.reserve_price_cents } : {}),
    ...(l.min_increment_cents !== null ? { minIncrementCents: l.min_increment_cents } : {}),
    ...(l.floor_price_cents !== null ? { floorPriceCents: l.floor_price_cents } : {}),
    ...(price !== undefined ? { currentPriceCents: price } : {}),
    ...(l.opens_at ? { opensAt: l.opens_at.toISOString() } : {}),
    ...(l.closes_at ? { closesAt: l.closes_at.toISOString() } : {}),
    unsoldAction: l.unsold_action,
  };
}
