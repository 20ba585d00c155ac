import type { Db, Tx } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import type { DepartureLoad } from '../adapters/db/departures-repo.ts';
import {
  answerConsents, bookingsNamed, consentsOf, decideMerge, insertConsents, lockActiveBookingsOn, lockConsents, lockMergeDepartures, lockOpenListings, mergesAskingForwarder,
  moveBookings, shrinkListing, startConsent, type ConsentRow,
} from '../adapters/db/merges-repo.ts';
import { cancelEmptyDeparture, findProposal, lockProposal, type ProposalRow } from '../adapters/db/optimisations-repo.ts';
import type { AvailabilityCache } from '../adapters/redis/availability.ts';
import { availabilityEvent, listingUpdateEvent, rooms, type EventSink, type LiveEvent } from '../adapters/realtime/events.ts';
import { listingCuts } from '../core/capacity.ts';
import { conflict } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import type { MovedBooking } from '../domain/schemas/optimisations.ts';

/**
 * Merges of under-used departures (issue 13). The optimiser proposes to an operator to merge a departure that runs
 * below its minimum load only because of confirmed bookings into a later one of the same corridor
 * (server/core/pooling/merges.ts). Its bookings move only with their forwarders' consent:
 *
 *  1. the operator accepts → `consenting`: one consent per moved booking is asked of its forwarder (nothing moves
 *     yet; the departure keeps selling, and anything that lands on it meanwhile makes the merge stale);
 *  2. each forwarder accepts or declines for its own bookings (POST /api/proposals/:id/accept | decline);
 *  3. one decline → `declined`: nothing moves, the departure runs; the last consent → in that same transaction
 *     every booking moves to the target (same price, same invoice: the operator is the same) and the emptied
 *     departure is cancelled with its open listings → `accepted`. When the merge no longer fits (a booking
 *     cancelled or added, a hold on the source, the target full, either departure past its cut-off) it becomes
 *     `stale` (409 proposal_stale) and nothing moves.
 *
 * The target's guard (held + booked ≤ capacity, a database constraint) is the last word; before it, the move
 * checks room and takes what it needs from the target's open fixed or falling listings, so that what the
 * departure promises (held + booked + listed) never exceeds its capacity.
 */

class MergeStale extends Error {}

/**
 * The bookings each merge proposal moves, with their forwarders' answers (null before the operator accepted), by
 * proposal id; `forwarderOrgId`: that forwarder's own bookings only.
 */
export async function movedBookingsOf(db: Db, rows: ProposalRow[], forwarderOrgId?: string): Promise<Map<string, MovedBooking[]>> {
  const merges = rows.filter((r) => r.action === 'merge');
  const out = new Map<string, MovedBooking[]>();
  if (merges.length === 0) return out;
  const [consents, bookings] = await Promise.all([
    consentsOf(db, merges.map((r) => r.id)),
    bookingsNamed(db, [...new Set(merges.flatMap((r) => r.moved_bookings))]),
  ]);
  const answer = new Map(consents.map((c) => [`${c.proposal_id}|${c.booking_id}`, c]));
  const booking = new Map(bookings.map((b) => [b.id, b]));
  for (const r of merges) {
    const list: MovedBooking[] = [];
    for (const id of r.moved_bookings) {
      const c = answer.get(`${r.id}|${id}`);
      const b = booking.get(id);
      const org = c?.forwarder_org_id ?? b?.forwarder_org_id;
      if (forwarderOrgId && org !== forwarderOrgId) continue;
      list.push({ bookingId: id, teu: c?.teu ?? b?.teu ?? 0, tonnes: c?.tonnes ?? b?.tonnes ?? 0, consent: c?.status ?? null });
    }
    out.set(r.id, list);
  }
  return out;
}


export class MergesService {
  constructor(
    private readonly db: Db,
    private readonly cache: AvailabilityCache,
    private readonly events: EventSink,
  ) {}

  movedOf(rows: ProposalRow[], forwarderOrgId?: string): Promise<Map<string, MovedBooking[]>> {
    return movedBookingsOf(this.db, rows, forwarderOrgId);
  }

  /** Merge proposals a forwarder is asked about. */
  asking(forwarderOrgId: string, limit: number): Promise<ProposalRow[]> {
    return mergesAskingForwarder(this.db, forwarderOrgId, limit);
  }

  /** Does this forwarder have a say in this merge? */
  async concerns(proposalId: string, forwarderOrgId: string): Promise<boolean> {
    return (await consentsOf(this.db, [proposalId], forwarderOrgId)).length > 0;
  }

  /** Step 1: the operator accepts an open merge; its forwarders are asked. */
  async operatorAccept(p: Principal, r0: ProposalRow, now: Date): Promise<ProposalRow> {
    const out = await inTransaction(this.db, async (tx) => {
      const r = await lockProposal(tx, r0.id);
      if (!r || r.status !== 'open') return { r: r ?? r0, asked: [] as string[] };
      const bookings = await lockActiveBookingsOn(tx, r.departure_id!);
      const [src] = await lockMergeDepartures(tx, [r.departure_id!]);
      const named = new Set(r.moved_bookings);
      const same = bookings.length === named.size && bookings.every((b) => named.has(b.id));
      if (!src || src.status !== 'scheduled' || src.held_teu > 0 || !same || src.cutoff_at.getTime() <= now.getTime()) {
        await decideMerge(tx, r.id, { status: 'stale', by: null, now, reason: 'the departure carries other bookings or holds now, or no longer sells' });
        return { r: (await findProposal(tx, r.id))!, asked: [] };
      }
      await startConsent(tx, r.id);
      await insertConsents(tx, r.id, bookings.map((b) => ({ bookingId: b.id, forwarderOrgId: b.forwarder_org_id, teu: b.teu, tonnes: b.tonnes })), now);
      await audit(tx, p, 'proposal.merge.accept', { type: 'proposal', id: r.id }, { departureId: r.departure_id, into: r.merge_into_departure_id });
      return { r: (await findProposal(tx, r.id))!, asked: [...new Set(bookings.map((b) => b.forwarder_org_id))] };
    });
    if (out.r.status === 'stale') throw conflict('proposal_stale', `this merge can no longer be made: ${out.r.reason ?? 'the departure changed'}`);
    if (out.r.status === 'accepted') return out.r;
    if (out.r.status !== 'consenting') throw conflict('proposal_closed', `this proposal is ${out.r.status}`, { status: out.r.status });
    await this.events
      .emit(out.asked.map((org) => ({ rooms: [rooms.org(org)], event: 'proposal:new', payload: { proposalId: out.r.id, kind: 'merge' } })))
      .catch(() => {});
    return out.r;
  }

  /** The operator declines an open merge or withdraws one being consented to: nothing moves. */
  async operatorDecline(p: Principal, r0: ProposalRow, now: Date): Promise<ProposalRow> {
    const row = await inTransaction(this.db, async (tx) => {
      const r = await lockProposal(tx, r0.id);
      if (r && (r.status === 'open' || r.status === 'consenting')) {
        await lockConsents(tx, r.id);
        await decideMerge(tx, r.id, { status: 'declined', by: p.userId, now, reason: 'declined by the operator' });
        await answerConsents(tx, r.id, { status: 'void', by: null, now });
        await audit(tx, p, 'proposal.decline', { type: 'proposal', id: r.id }, { action: 'merge' });
      }
      return (await findProposal(tx, r0.id))!;
    });
    await this.notify(row);
    if (row.status !== 'declined') throw conflict('proposal_closed', `this proposal is ${row.status}`, { status: row.status });
    return row;
  }

  /** Steps 2–3: a forwarder answers for its bookings; the last consent moves them all. */
  async answer(p: Principal, r0: ProposalRow, accept: boolean, now: Date): Promise<ProposalRow> {
    let moved: { loads: DepartureLoad[]; listings: { id: string; status: string; remaining_teu: number }[]; corridorId: string } | null = null;
    const row = await inTransaction(this.db, async (tx) => {
      const r = await lockProposal(tx, r0.id);
      if (!r || r.status !== 'consenting') return r ?? r0;
      const consents = await lockConsents(tx, r.id);
      const mine = consents.filter((c) => c.forwarder_org_id === p.orgId);
      if (!mine.some((c) => c.status === 'pending')) return r; // answered already: the same answer
      if (!accept) {
        await answerConsents(tx, r.id, { forwarderOrgId: p.orgId, status: 'declined', by: p.userId, now });
        await answerConsents(tx, r.id, { status: 'void', by: null, now });
        await decideMerge(tx, r.id, { status: 'declined', by: p.userId, now, reason: 'a forwarder declined to move its booking' });
        await audit(tx, p, 'proposal.merge.decline', { type: 'proposal', id: r.id }, {});
        return (await findProposal(tx, r.id))!;
      }
      await answerConsents(tx, r.id, { forwarderOrgId: p.orgId, status: 'accepted', by: p.userId, now });
      await audit(tx, p, 'proposal.merge.consent', { type: 'proposal', id: r.id }, { bookings: mine.map((c) => c.booking_id) });
      if (consents.some((c) => c.forwarder_org_id !== p.orgId && c.status !== 'accepted')) return (await findProposal(tx, r.id))!;
      try {
        moved = await this.move(tx, r, consents, now);
      } catch (err) {
        if (!(err instanceof MergeStale)) throw err;
        await answerConsents(tx, r.id, { status: 'void', by: null, now });
        await decideMerge(tx, r.id, { status: 'stale', by: null, now, reason: err.message });
        return (await findProposal(tx, r.id))!;
      }
      await decideMerge(tx, r.id, { status: 'accepted', by: p.userId, now });
      return (await findProposal(tx, r.id))!;
    });
    if (moved) await this.afterMove(r0, moved);
    await this.notify(row);
    if (row.status === 'stale') throw conflict('proposal_stale', `this merge can no longer be made: ${row.reason ?? 'capacity changed'}`);
    if (row.status !== 'consenting' && row.status !== 'accepted' && !(row.status === 'declined' && !accept)) {
      throw conflict('proposal_closed', `this proposal is ${row.status}`, { status: row.status });
    }
    return row;
  }

  /** The move itself, in the caller's transaction, after the proposal and its consents are locked. */
  private async move(tx: Tx, r: ProposalRow, consents: ConsentRow[], now: Date) {
    const src = r.departure_id!;
    const dst = r.merge_into_departure_id!;
    const bookings = await lockActiveBookingsOn(tx, src);
    const named = new Set(consents.map((c) => c.booking_id));
    if (bookings.length !== named.size || !bookings.every((b) => named.has(b.id))) throw new MergeStale('bookings on the departure changed since the operator accepted');
    const deps = new Map((await lockMergeDepartures(tx, [src, dst])).map((d) => [d.id, d]));
    const s = deps.get(src);
    const t = deps.get(dst);
    if (!s || !t || s.status !== 'scheduled' || t.status !== 'scheduled') throw new MergeStale('a departure is no longer scheduled');
    if (s.cutoff_at.getTime() <= now.getTime() || t.cutoff_at.getTime() <= now.getTime()) throw new MergeStale('a departure is past its cut-off');
    const teu = bookings.reduce((x, b) => x + b.teu, 0);
    const tonnes = bookings.reduce((x, b) => x + b.tonnes, 0);
    if (s.held_teu > 0 || s.booked_teu !== teu || s.booked_tonnes !== tonnes) throw new MergeStale('the departure carries holds or other bookings now');
    if (t.capacity_teu - t.held_teu - t.booked_teu < teu || t.capacity_tonnes - t.held_tonnes - t.booked_tonnes < tonnes) {
      throw new MergeStale('the target departure has no room for the moved bookings any more');
    }
    // what the target promises must stay within its capacity: take the excess from its fixed / falling listings
    const listings = await lockOpenListings(tx, dst);
    const { cuts, over } = listingCuts(listings, t.held_teu + t.booked_teu + teu + listings.reduce((x, l) => x + l.remaining_teu, 0) - t.capacity_teu, false);
    if (over > 0) throw new MergeStale('the target departure has promised its room to open auctions');
    // every check passed: from here on, writes only (a failure now is a fault and rolls the whole answer back)
    const shrunk = [];
    for (const c of cuts) shrunk.push(await shrinkListing(tx, c.id, c.by, now));
    const loads = await moveBookings(tx, bookings.map((b) => b.id), src, dst, teu, tonnes, now);
    const cancelled = await cancelEmptyDeparture(tx, src);
    if (!cancelled) throw new Error(`merge ${r.id}: the emptied departure ${src} could not be cancelled`);
    await audit(tx, null, 'departure.merge', { type: 'departure', id: src }, { into: dst, bookings: bookings.map((b) => b.id), teu, tonnes, proposalId: r.id });
    return { loads, listings: shrunk, corridorId: s.corridor_id };
  }

  private async afterMove(r: ProposalRow, m: { loads: DepartureLoad[]; listings: { id: string; status: string; remaining_teu: number }[]; corridorId: string }) {
    for (const d of m.loads) await this.cache.invalidate(d.corridor_id, d.id).catch(() => {});
    const target = m.loads.find((d) => d.id === r.merge_into_departure_id);
    const events: LiveEvent[] = [
      ...(target ? [availabilityEvent(target)] : []),
      ...m.listings.map((l) => listingUpdateEvent(l)),
      { rooms: [rooms.departure(r.departure_id!), rooms.corridor(m.corridorId)], event: 'departure:cancelled', payload: { departureId: r.departure_id, mergedInto: r.merge_into_departure_id } },
    ];
    await this.events.emit(events).catch(() => {});
  }

  /** `proposal:update` to the operator and every forwarder asked. */
  private async notify(r: ProposalRow) {
    const orgs = new Set<string>([r.operator_org_id!, ...(await consentsOf(this.db, [r.id])).map((c) => c.forwarder_org_id)]);
    await this.events
      .emit([...orgs].map((org) => ({ rooms: [rooms.org(org)], event: 'proposal:update', payload: { proposalId: r.id, status: r.status } })))
      .catch(() => {});
  }
}
