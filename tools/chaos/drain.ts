// After the load: bounded waits for the workers to drain (holds expired, offer chains ended, auctions closed, outbox empty,
// bookings settled and refunded) and for the observers' live views to match Postgres.
import { sql } from 'kysely';
import type { Db } from '../../server/adapters/db/db.ts';
import { sleep } from '../../scripts/lib/procs.mjs';
import type { Observer } from './observer.ts';

/** Waits (at most ~90 s) until nothing is left for the workers; returns how long it took. */
export async function drain(db: Db, auctionIds: string[], log: (m: string) => void): Promise<number> {
  const q0 = Date.now();
  const pending = async () => {
    const r = await sql<{ holds: number; offering: number; auctions: number; outbox: number; unsettled: number; unrefunded: number }>`
      select
        (select count(*)::int from holds where status = 'active') as holds,
        (select count(*)::int from offer_chains where status = 'offering') as offering,
        (select count(*)::int from listings where format in ('ascending', 'sealed') and status = 'open'
            and id in (${sql.join(auctionIds)})) as auctions,
        (select count(*)::int from outbox where enqueued_at is null) as outbox,
        (select count(*)::int from bookings b
           where (b.status = 'confirmed' or (b.status = 'cancelled' and coalesce(b.cancellation_fee_cents, 0) > 0))
             and not exists (select 1 from ledger_transactions t where t.booking_id = b.id and t.kind = 'charge')) as unsettled,
        (select count(*)::int from bookings b
           where b.status = 'cancelled'
             and exists (select 1 from ledger_transactions t where t.booking_id = b.id and t.kind = 'charge')
             and not exists (select 1 from ledger_transactions t where t.booking_id = b.id and t.kind = 'refund')
             and (select sum(e.amount_cents) from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
                   where t.booking_id = b.id and t.kind = 'charge' and e.direction = 'debit') > coalesce(b.cancellation_fee_cents, 0)) as unrefunded`.execute(db);
    return r.rows[0]!;
  };
  let last = await pending();
  for (let i = 0; i < 450; i++) {
    last = await pending();
    if (last.holds + last.offering + last.auctions + last.outbox + last.unsettled + last.unrefunded === 0) break;
    if (i % 25 === 0) log(`draining: ${JSON.stringify(last)}`);
    await sleep(200);
  }
  const quiesceMs = Date.now() - q0;
  log(`quiet after ${(quiesceMs / 1000).toFixed(1)} s: ${JSON.stringify(last)}`);
  return quiesceMs;
}

/**
 * Waits (at most ~20 s) until every observer is connected and sees each departure with the seq and free
 * capacity Postgres has; returns how long it took and what still differed then (one line per departure).
 */
export async function converge(db: Db, observers: Observer[], departureIds: string[], log: (m: string) => void) {
  const c0 = Date.now();
  const truth = async () => {
    const rows = await db
      .selectFrom('departures')
      .select(['id', 'seq', 'capacity_teu', 'capacity_tonnes', 'held_teu', 'held_tonnes', 'booked_teu', 'booked_tonnes'])
      .where('id', 'in', departureIds)
      .execute();
    return new Map(rows.map((d) => [d.id, { seq: Number(d.seq), freeTeu: d.capacity_teu - d.held_teu - d.booked_teu, freeTonnes: d.capacity_tonnes - d.held_tonnes - d.booked_tonnes }]));
  };
  const diverged = async () => {
    const t = await truth();
    const bad: string[] = [];
    for (const ob of observers) {
      if (!ob.connected) {
        bad.push(`${ob.name}: not connected`);
        continue;
      }
      for (const [id, want] of t) {
        const got = ob.view.get(id);
        if (!got || got.seq !== want.seq || got.freeTeu !== want.freeTeu || got.freeTonnes !== want.freeTonnes) {
          bad.push(`${ob.name} ${id.slice(0, 8)}: saw ${got ? `seq ${got.seq} ${got.freeTeu} TEU ${got.freeTonnes} t` : 'nothing'}, db seq ${want.seq} ${want.freeTeu} TEU ${want.freeTonnes} t`);
        }
      }
    }
    return bad;
  };
  let divergent = await diverged();
  for (let i = 0; i < 100 && divergent.length > 0; i++) {
    await sleep(200);
    divergent = await diverged();
  }
  const convergeMs = Date.now() - c0;
  log(`live views: ${divergent.length === 0 ? 'all converged' : `${divergent.length} divergent`} after ${(convergeMs / 1000).toFixed(1)} s`);
  return { convergeMs, divergent };
}
