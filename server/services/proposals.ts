import { createHash } from 'node:crypto';
import type { Db } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import type { IdemKey } from '../adapters/db/idempotency.ts';
import {
  cancelEmptyDeparture, claimProposal, decideProposal, findProposal, lockProposal, lockShipmentForProposal, markShipmentBooked, proposalsOf,
  returnShipmentToPool, type ProposalRow,
} from '../adapters/db/optimisations-repo.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import { rooms, type EventSink } from '../adapters/realtime/events.ts';
import { AppError, conflict, notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import type { Itinerary } from '../domain/schemas/itineraries.ts';
import type { MovedBooking } from '../domain/schemas/optimisations.ts';
import type { ItinerariesService } from './itineraries.ts';
import type { MergesService } from './merges.ts';

/**
 * Proposals of the optimiser's plans (issue 13): listed to the forwarders and operators concerned, accepted or
 * declined by them.
 *
 * Accepting a shipment's proposal books its itinerary through the normal path — ItinerariesService.create (every
 * leg held in one transaction, under the same capacity guard as any hold) then confirm — with idempotency keys
 * derived from the proposal, so a retried or doubled accept books once. When the legs can no longer be held
 * (capacity sold meanwhile, a listing closed, a price above the shipment's maximum), nothing is booked and the
 * proposal becomes `stale`: 409 proposal_stale, never an overbooking. Accepting a departure's proposal (cancel
 * an empty departure) cancels it and its open listings in one transaction, only while nobody is on it.
 */

export interface ProposalView {
  id: string;
  optimisationId: string;
  kind: 'shipment' | 'departure';
  status: ProposalRow['status'];
  shipmentId: string | null;
  departureId: string | null;
  action: 'cancel' | 'merge' | null;
  legs: { departureId: string; listingId: string; unitPriceCents: number | null }[];
  teu: number | null;
  tonnes: number | null;
  priceCents: number | null;
  standaloneCents: number | null;
  shareCents: number | null;
  /** standalone − price + share. */
  savingCents: number | null;
  co2eKg: number | null;
  roadCo2eKg: number | null;
  capacityTeu: number | null;
  minLoadTeu: number | null;
  loadBeforeTeu: number | null;
  loadAfterTeu: number | null;
  mergeIntoDepartureId: string | null;
  operatingSavingCents: number | null;
  targetLoadBeforeTeu: number | null;
  targetLoadAfterTeu: number | null;
  movedBookings: MovedBooking[];
  itineraryId: string | null;
  reason: string | null;
  createdAt: string;
  decidedAt: string | null;
}

/** The public shape of a proposal; `moved`: a merge's bookings with their answers (MergesService.movedOf). */
export function proposalView(r: ProposalRow, moved: MovedBooking[] = []): ProposalView {
  const saving = r.standalone_cents !== null && r.price_cents !== null ? r.standalone_cents - r.price_cents + (r.share_cents ?? 0) : null;
  return {
    id: r.id, optimisationId: r.optimisation_id, kind: r.kind, status: r.status, shipmentId: r.shipment_id, departureId: r.departure_id, action: r.action,
    legs: (r.legs ?? []) as ProposalView['legs'], teu: r.teu, tonnes: r.tonnes, priceCents: r.price_cents, standaloneCents: r.standalone_cents,
    shareCents: r.share_cents, savingCents: saving, co2eKg: r.co2e_kg, roadCo2eKg: r.road_co2e_kg, capacityTeu: r.capacity_teu, minLoadTeu: r.min_load_teu,
    loadBeforeTeu: r.load_before_teu, loadAfterTeu: r.load_after_teu, mergeIntoDepartureId: r.merge_into_departure_id, operatingSavingCents: r.saving_cents,
    targetLoadBeforeTeu: r.target_load_before_teu, targetLoadAfterTeu: r.target_load_after_teu, movedBookings: moved, itineraryId: r.itinerary_id, reason: r.reason, createdAt: r.created_at.toISOString(),
    decidedAt: r.decided_at ? r.decided_at.toISOString() : null,
  };
}

/** A merge as a forwarder asked about it sees it: its own bookings (and their size) only. */
function forwardersPartOfMerge(v: ProposalView): ProposalView {
  return {
    ...v, teu: v.movedBookings.reduce((s, b) => s + b.teu, 0), tonnes: v.movedBookings.reduce((s, b) => s + b.tonnes, 0), capacityTeu: null, minLoadTeu: null,
    loadBeforeTeu: null, loadAfterTeu: null, operatingSavingCents: null, targetLoadBeforeTeu: null, targetLoadAfterTeu: null,
  };
}

const ROUTE = 'POST /api/proposals/:id/accept';
/**
 * The idempotency key of an accept's hold or confirm. It contains line feeds, which no HTTP header can carry, so a
 * client's own Idempotency-Key can never take it first.
 */
const idemOf = (p: Principal, proposalId: string, step: 'hold' | 'confirm'): IdemKey => {
  const key = `proposal\n${step}\n${proposalId}`;
  return { orgId: p.orgId, key, route: `${ROUTE} ${step}`, requestHash: createHash('sha256').update(key).digest('hex') };
};

export class ProposalsService {
  constructor(
    private readonly db: Db,
    private readonly itineraries: ItinerariesService,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
    private readonly merges: MergesService,
  ) {}

  /** Views of proposal rows, merges with their moved bookings (a forwarder: its own only). */
  async views(rows: ProposalRow[], forwarderOrgId?: string): Promise<ProposalView[]> {
    const moved = await this.merges.movedOf(rows, forwarderOrgId);
    return rows.map((r) => {
      const v = proposalView(r, moved.get(r.id) ?? []);
      // a forwarder asked about a merge sees its own bookings, never the operator's costs or others' volumes
      return forwarderOrgId && r.action === 'merge' ? forwardersPartOfMerge(v) : v;
    });
  }

  /** GET /api/proposals — a forwarder's shipment proposals, an operator's departure proposals; schedulers see all. */
  async list(p: Principal, limit = 200): Promise<ProposalView[]> {
    policy.requireOrgKind(p, 'forwarder', 'operator', 'scheduler', 'platform');
    if (p.orgKind === 'forwarder') {
      // its shipments' proposals, and the merges that would move its bookings
      const [own, asked] = await Promise.all([proposalsOf(this.db, { forwarderOrgId: p.orgId }, limit), this.merges.asking(p.orgId, limit)]);
      const rows = [...own, ...asked].sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || (a.id < b.id ? -1 : 1)).slice(0, limit);
      return this.views(rows, p.orgId);
    }
    return this.views(await proposalsOf(this.db, p.orgKind === 'operator' ? { operatorOrgId: p.orgId } : {}, limit));
  }

  /**
   * The proposal if `p` is the organisation it is addressed to, or a forwarder a merge asks about its bookings (404
   * otherwise: ids do not leak).
   */
  private async mine(p: Principal, id: string): Promise<ProposalRow> {
    policy.requireOrgKind(p, 'forwarder', 'operator');
    const r = await findProposal(this.db, id);
    if (!r) throw notFound('proposal');
    if ((r.forwarder_org_id ?? r.operator_org_id) === p.orgId) return r;
    if (p.orgKind === 'forwarder' && r.action === 'merge' && (await this.merges.concerns(r.id, p.orgId))) return r;
    throw notFound('proposal');
  }

  /** A forwarder's answer to a merge, or the operator's decision on it. */
  private async merge(p: Principal, r: ProposalRow, accept: boolean, now: Date): Promise<ProposalView> {
    const row =
      p.orgKind === 'forwarder'
        ? await this.merges.answer(p, r, accept, now)
        : accept
          ? await this.merges.operatorAccept(p, r, now)
          : await this.merges.operatorDecline(p, r, now);
    return (await this.views([row], p.orgKind === 'forwarder' ? p.orgId : undefined))[0]!;
  }

  private closed(r: ProposalRow): AppError {
    return r.status === 'stale'
      ? conflict('proposal_stale', 'capacity or prices changed since the plan: this proposal can no longer be booked', { status: r.status })
      : conflict('proposal_closed', `this proposal is ${r.status}`, { status: r.status });
  }

  /** Marks an open or claimed proposal stale (its shipment back to the pool) and answers 409 proposal_stale. */
  private async stale(r: ProposalRow, reason: string, now: Date): Promise<AppError> {
    await inTransaction(this.db, async (tx) => {
      if (r.shipment_id) await lockShipmentForProposal(tx, r.shipment_id); // lock order: shipment, then proposal
      const staled = await decideProposal(tx, r.id, { status: 'stale', by: null, now, reason, from: ['open', 'accepting'] });
      if (staled && r.shipment_id) await returnShipmentToPool(tx, r.shipment_id, now);
    });
    return conflict('proposal_stale', `this proposal can no longer be booked: ${reason}`, { reason });
  }

  /** POST /api/proposals/:id/accept */
  async accept(p: Principal, id: string, now = new Date()): Promise<ProposalView> {
    const r = await this.mine(p, id);
    if (r.action === 'merge') return this.merge(p, r, true, now);
    if (r.status === 'accepted') return proposalView(r); // a repeated accept: the same answer
    if (r.status !== 'open' && r.status !== 'accepting') throw this.closed(r);
    return r.kind === 'shipment' ? this.acceptShipment(p, r, now) : this.acceptDeparture(p, r, now);
  }

  /**
   * 1. Claim: under the shipment's and the proposal's row locks (in that order, as every writer of both takes
   *    them), an open proposal of a proposed shipment becomes `accepting` — from then on a decline, a change or
   *    withdrawal of the shipment and the optimiser's next plan leave both alone (a claimed one is re-entered
   *    by a repeated accept, which completes it).
   * 2. Book: hold and confirm the legs through the itineraries service, with idempotency keys of the proposal.
   * 3. Decide: accepted + the shipment booked; or, when the booking was refused, stale + the shipment pooled.
   */
  private async acceptShipment(p: Principal, r0: ProposalRow, now: Date): Promise<ProposalView> {
    const claim = await inTransaction(this.db, async (tx) => {
      const ship = await lockShipmentForProposal(tx, r0.shipment_id!);
      const r = await lockProposal(tx, r0.id);
      if (!r) return { kind: 'closed' as const, r: r0 };
      if (r.status === 'accepted' || (r.status !== 'open' && r.status !== 'accepting')) return { kind: 'closed' as const, r };
      if (r.status === 'open') {
        if (!ship || ship.status !== 'proposed') return { kind: 'stale' as const, r, reason: `the shipment is ${ship?.status ?? 'gone'}` };
        await claimProposal(tx, r.id);
      }
      return { kind: 'claimed' as const, r, maxTotalCents: ship?.max_total_cents ?? 0 };
    });
    if (claim.kind === 'closed') {
      if (claim.r.status === 'accepted') return proposalView(claim.r);
      throw this.closed(claim.r);
    }
    if (claim.kind === 'stale') throw await this.stale(claim.r, claim.reason, now);
    const r = claim.r;
    const ship = { max_total_cents: claim.maxTotalCents };
    const legs = (r.legs ?? []) as { listingId: string }[];
    let it: Itinerary;
    try {
      it = await this.itineraries.create(p, { legs: legs.map((l) => ({ listingId: l.listingId })), teu: r.teu!, tonnes: r.tonnes! }, idemOf(p, r.id, 'hold'), now);
    } catch (err) {
      if (err instanceof AppError && err.status < 500) throw await this.stale(r, err.message, now);
      throw err;
    }
    if (it.status === 'held' && it.totalCents > ship.max_total_cents) {
      await this.itineraries.remove(p, it.id, 'held', now).catch(() => null);
      throw await this.stale(r, `the price is now ${it.totalCents} cents, above the shipment's maximum of ${ship.max_total_cents}`, now);
    }
    if (it.status === 'held') {
      try {
        it = await this.itineraries.confirm(p, it.id, {}, idemOf(p, r.id, 'confirm'), now);
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        await this.itineraries.remove(p, it.id, 'held', now).catch(() => null);
        throw await this.stale(r, err.message, now);
      }
    }
    const itineraryId = it.id;
    const done = await inTransaction(this.db, async (tx) => {
      await lockShipmentForProposal(tx, r.shipment_id!);
      const decided = await decideProposal(tx, r.id, { status: 'accepted', by: p.userId, now, itineraryId, from: ['accepting'] });
      if (decided) {
        await markShipmentBooked(tx, r.shipment_id!, itineraryId, now);
        await audit(tx, p, 'proposal.accept', { type: 'proposal', id: r.id }, { shipmentId: r.shipment_id, itineraryId });
      }
      return findProposal(tx, r.id);
    });
    return proposalView(done!);
  }

  private async acceptDeparture(p: Principal, r: ProposalRow, now: Date): Promise<ProposalView> {
    if (r.action !== 'cancel') throw conflict('proposal_closed', 'only cancellations can be accepted');
    const out = await inTransaction(this.db, async (tx) => {
      const cancelled = await cancelEmptyDeparture(tx, r.departure_id!);
      if (!cancelled) return null;
      if (!(await decideProposal(tx, r.id, { status: 'accepted', by: p.userId, now }))) return null;
      await audit(tx, p, 'proposal.accept', { type: 'proposal', id: r.id }, { departureId: r.departure_id, action: 'cancel' });
      return { corridorId: cancelled.corridorId, row: await findProposal(tx, r.id) };
    });
    if (!out) {
      const again = await findProposal(this.db, r.id);
      if (again && again.status !== 'open') throw this.closed(again);
      throw await this.stale(r, 'the departure has bookings or holds now, or is no longer scheduled', now);
    }
    await this.cache.invalidate(out.corridorId, r.departure_id!).catch(() => {});
    await this.events
      .emit([{ rooms: [rooms.departure(r.departure_id!), rooms.corridor(out.corridorId)], event: 'departure:cancelled', payload: { departureId: r.departure_id } }])
      .catch(() => {});
    return proposalView(out.row!);
  }

  /** POST /api/proposals/:id/decline — a shipment goes back to the pool (the next plan may propose another itinerary). */
  async decline(p: Principal, id: string, now = new Date()): Promise<ProposalView> {
    const r = await this.mine(p, id);
    if (r.action === 'merge') return this.merge(p, r, false, now);
    if (r.status === 'declined') return proposalView(r);
    if (r.status !== 'open') throw this.closed(r);
    const row = await inTransaction(this.db, async (tx) => {
      if (r.shipment_id) await lockShipmentForProposal(tx, r.shipment_id); // lock order: shipment, then proposal
      if (await decideProposal(tx, r.id, { status: 'declined', by: p.userId, now })) {
        if (r.shipment_id) await returnShipmentToPool(tx, r.shipment_id, now);
        await audit(tx, p, 'proposal.decline', { type: 'proposal', id: r.id }, {});
      }
      return findProposal(tx, r.id);
    });
    if (row!.status !== 'declined') throw this.closed(row!);
    return proposalView(row!);
  }
}
