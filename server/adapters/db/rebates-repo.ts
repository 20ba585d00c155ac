import { sql } from 'kysely';
import type { Db } from './db.ts';

/**
 * Pool shares paid out (issue 13): the accepted shipment proposals whose share of the pool's saving is due, and the
 * bookings of their itineraries. The transfer itself is posted through ledger-repo (postTransactions) and the credit
 * notes through invoices-repo; the ledger key `proposal:<id>:rebate` makes each one at most once.
 */

export const rebateKey = (proposalId: string) => `proposal:${proposalId}:rebate`;
const rebateKeyOfP = sql<string>`'proposal:' || p.id::text || ':rebate'`;

/** The itinerary's status (a share is paid only for a confirmed one). */
export async function itineraryStatus(tx: Db, id: string): Promise<string | undefined> {
  return (await tx.selectFrom('itineraries').select('status').where('id', '=', id).executeTakeFirst())?.status;
}

/** The first leg's cut-off of each itinerary (when its pool share falls due). */
const firstCutoff = sql<Date>`(select min(d.cutoff_at) from bookings b join departures d on d.id = b.departure_id where b.itinerary_id = p.itinerary_id)`;

/** Accepted proposals with a share, due (first leg's cut-off passed), not paid yet — oldest first. */
export async function dueRebates(db: Db, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('proposals as p')
    .select('p.id')
    .where('p.kind', '=', 'shipment')
    .where('p.status', '=', 'accepted')
    .where('p.share_cents', '>', 0)
    .where('p.itinerary_id', 'is not', null)
    .where(firstCutoff, '<=', now)
    // a share forfeited (its itinerary cancelled, or a leg) is never due: it must not hold a place in every sweep
    .where((eb) => eb.exists(eb.selectFrom('itineraries as i').select('i.id').whereRef('i.id', '=', 'p.itinerary_id').where('i.status', '=', 'confirmed')))
    .where((eb) => eb.not(eb.exists(eb.selectFrom('bookings as b').select('b.id').whereRef('b.itinerary_id', '=', 'p.itinerary_id').where('b.status', '=', 'cancelled'))))
    .where((eb) => eb.not(eb.exists(eb.selectFrom('ledger_transactions as t').select('t.id').where('t.idempotency_key', '=', rebateKeyOfP))))
    .orderBy('p.decided_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/** The proposal, locked (one payer at a time), with what a payout needs. */
export function lockRebateProposal(tx: Db, id: string) {
  return tx
    .selectFrom('proposals')
    .select(['id', 'status', 'kind', 'share_cents', 'forwarder_org_id', 'itinerary_id'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/** The legs of an itinerary as bookings, in leg order, with their operator and cut-off. */
export function itineraryBookings(tx: Db, itineraryId: string) {
  return tx
    .selectFrom('bookings as b')
    .innerJoin('departures as d', 'd.id', 'b.departure_id')
    .innerJoin('organisations as op', 'op.id', 'd.operator_org_id')
    .select(['b.id', 'b.status', 'b.teu', 'b.unit_price_cents', 'b.total_cents', 'd.operator_org_id', 'op.slug as operator_slug', 'd.cutoff_at'])
    .where('b.itinerary_id', '=', itineraryId)
    .orderBy('b.leg_index')
    .execute();
}

/** Every pool-share transfer with its amount and the proposal's share (for the ledger verifier). */
export function rebatePostings(db: Db) {
  return db
    .selectFrom('ledger_transactions as t')
    .innerJoin('ledger_entries as e', 'e.transaction_id', 't.id')
    .leftJoin('proposals as p', (j) => j.on(rebateKeyOfP, '=', sql.ref('t.idempotency_key')))
    .select([
      't.id', 't.idempotency_key as key', 'p.id as proposal_id', 'p.status', 'p.share_cents',
      sql<number>`sum(e.amount_cents) filter (where e.direction = 'debit')::bigint`.as('amount'),
    ])
    .where('t.kind', '=', 'pool_rebate')
    .groupBy(['t.id', 't.idempotency_key', 'p.id', 'p.status', 'p.share_cents'])
    .execute();
}
