import type { Tx } from '../../adapters/db/db.ts';
import { beingAccepted, closeProposalOf } from '../../adapters/db/optimisations-repo.ts';
import { findShipment, takeOutOfPool } from '../../adapters/db/shipments-repo.ts';
import { departureForWatches, factsOf } from '../../adapters/db/watches-repo.ts';
import { matchesWatch, shipmentCriteria } from '../../core/watches.ts';
import { conflict } from '../../domain/errors.ts';

/**
 * What accepting an offer made for a pooled shipment does to the shipment (issue 14), in the accept's transaction,
 * the shipment's row locked first (lock order: shipment, departure, offer — as the optimiser's plan and a proposal's
 * accept): it leaves the pool when the accepted hold carries it — same ends, mode, times, all its TEU and tonnes,
 * within its maximum — so the optimiser never places it twice; an open proposal of it is superseded. A shipment
 * changed since the offer so that the hold no longer carries it stays as it is (the hold is a plain one). Refused:
 * a shipment booked or withdrawn meanwhile (409 `shipment_not_pooled`), or whose proposal is being accepted right
 * now (409 `shipment_being_booked`): the offer stays open, to decline or let run out.
 */
export async function shipmentOnAccept(
  tx: Tx,
  shipmentId: string,
  offer: { departure_id: string; unit_price_cents: number },
  q: { teu: number; tonnes: number },
  now: Date,
): Promise<'left_pool' | 'not_carried'> {
  const s = await findShipment(tx, shipmentId);
  if (!s || s.status === 'booked' || s.status === 'withdrawn') {
    throw conflict('shipment_not_pooled', `the shipment this offer was made for is ${s?.status ?? 'gone'}; decline the offer or let it run out`);
  }
  if (s.status === 'proposed' && (await beingAccepted(tx, shipmentId))) {
    throw conflict('shipment_being_booked', 'the shipment this offer was made for is being booked through its proposal right now');
  }
  const d = await departureForWatches(tx, offer.departure_id);
  const carried =
    !!d &&
    matchesWatch(
      shipmentCriteria({
        id: s.id, orgId: s.forwarder_org_id, from: s.from_code, to: s.to_code, modes: s.modes, teu: s.teu, tonnes: s.tonnes, readyAt: s.ready_at,
        deliverBy: s.deliver_by, maxTotalCents: Number(s.max_total_cents), createdAt: s.created_at,
      }),
      factsOf(d),
      { teu: q.teu, tonnes: q.tonnes, unitPriceCents: offer.unit_price_cents },
    );
  if (!carried) return 'not_carried';
  if (s.status === 'proposed') await closeProposalOf(tx, shipmentId, 'superseded', now, 'the shipment took an offer of freed capacity');
  await takeOutOfPool(tx, shipmentId, now);
  return 'left_pool';
}
