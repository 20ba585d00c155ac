// The invariants of DESIGN.md checked after a chaos run, against Postgres and against what the clients
// were told: no overbooking, counters true, nothing acknowledged lost, auctions and bookings settled
// exactly once, the ledger balanced, live views converged, and the Redis outage answered and clean.
import { sql } from 'kysely';
import type { Db } from '../../server/adapters/db/db.ts';
import { verifyLedger } from '../../server/services/ledger/verifier.ts';
import type { AckLog, Market, Outage } from './load.ts';
import type { CheckRow } from './report.ts';

type Add = (check: string, checked: number, bad: string[]) => void;

/** Every check row, in the order printed; `divergent` is what converge() found. Also returns the auctions' states (for the summary). */
export async function checkInvariants(db: Db, ack: AckLog, market: Market, outage: Outage, observers: number, divergent: string[]) {
  const checks: CheckRow[] = [];
  const add: Add = (check, checked, bad) => checks.push({ check, checked, violations: bad.length, examples: bad.slice(0, 5) });
  const auctionIds = market.auctions.map((a) => a.listingId);

  await checkCapacity(db, add);
  await checkAcknowledged(db, ack, add);
  const auctionStates = await checkSettlement(db, auctionIds, add);
  await checkLedger(db, checks);
  const divergentObservers = new Set(divergent.map((d) => d.split(/[ :]/)[0]!)).size;
  checks.push({ check: 'connected clients whose availability differs from Postgres', checked: observers, violations: divergentObservers, examples: divergent.slice(0, 5) });
  if (outage.seconds > 0) await checkOutage(db, ack, market, outage, add);
  return { checks, auctionStates };
}

/** Invariant 1, and the departure counters against the rows they count. */
async function checkCapacity(db: Db, add: Add) {
  const over = await sql<{ id: string; used_teu: number; capacity_teu: number; used_t: number; capacity_tonnes: number }>`
    select id, held_teu + booked_teu as used_teu, capacity_teu, held_tonnes + booked_tonnes as used_t, capacity_tonnes
      from departures where held_teu + booked_teu > capacity_teu or held_tonnes + booked_tonnes > capacity_tonnes`.execute(db);
  const nDeps = (await db.selectFrom('departures').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
  add('overbooked departures (held + booked > capacity, TEU or tonnes)', nDeps, over.rows.map((r) => `${r.id}: ${r.used_teu}/${r.capacity_teu} TEU, ${r.used_t}/${r.capacity_tonnes} t`));

  const drift = await sql<{ id: string; held_teu: number; h: number; booked_teu: number; b: number; held_tonnes: number; ht: number; booked_tonnes: number; bt: number }>`
    select d.id, d.held_teu, coalesce(h.teu, 0)::int as h, d.booked_teu, coalesce(b.teu, 0)::int as b,
           d.held_tonnes, coalesce(h.t, 0)::int as ht, d.booked_tonnes, coalesce(b.t, 0)::int as bt
      from departures d
      left join (select departure_id, sum(teu) as teu, sum(tonnes) as t from (
                   select departure_id, teu, tonnes from holds where status = 'active'
                   union all select departure_id, teu, tonnes from offer_chains where status = 'offering' -- lots reserved for an open offer (issue 14)
                 ) x group by departure_id) h on h.departure_id = d.id
      left join (select departure_id, sum(teu) as teu, sum(tonnes) as t from bookings where status in ('confirmed', 'settled') group by departure_id) b on b.departure_id = d.id
     where d.held_teu <> coalesce(h.teu, 0) or d.booked_teu <> coalesce(b.teu, 0)
        or d.held_tonnes <> coalesce(h.t, 0) or d.booked_tonnes <> coalesce(b.t, 0)`.execute(db);
  add('departure counters ≠ their holds, open offers and bookings', nDeps, drift.rows.map((r) => `${r.id}: held ${r.held_teu}/${r.h} TEU, booked ${r.booked_teu}/${r.b} TEU`));
}

/** Invariant 2: every acknowledged hold, booking, bid, cancellation and release is in Postgres. */
async function checkAcknowledged(db: Db, ack: AckLog, add: Add) {
  const exists = async (table: 'holds' | 'bookings' | 'bids', ids: string[]) => {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += 1000) {
      const part = ids.slice(i, i + 1000);
      if (part.length) for (const r of await db.selectFrom(table).select('id').where('id', 'in', part).execute()) found.add(r.id);
    }
    return found;
  };
  const holdRows = new Map<string, { teu: number; tonnes: number; listing_id: string }>();
  for (let i = 0; i < ack.holds.length; i += 1000) {
    const part = ack.holds.slice(i, i + 1000).map((h) => h.id);
    if (part.length) for (const r of await db.selectFrom('holds').select(['id', 'teu', 'tonnes', 'listing_id']).where('id', 'in', part).execute()) holdRows.set(r.id, r);
  }
  const lostHolds = ack.holds.filter((h) => {
    const r = holdRows.get(h.id);
    return !r || r.teu !== h.teu || r.tonnes !== h.tonnes || r.listing_id !== h.listingId;
  });
  const foundBookings = await exists('bookings', ack.bookings.map((b) => b.id));
  const foundBids = await exists('bids', ack.bids.map((b) => b.id));
  const cancelledIds = ack.cancellations.map((c) => c.bookingId);
  const cancelledRows = cancelledIds.length
    ? await db.selectFrom('bookings').select(['id', 'status']).where('id', 'in', cancelledIds).execute()
    : [];
  const notCancelled = cancelledIds.filter((id) => cancelledRows.find((r) => r.id === id)?.status !== 'cancelled');
  const releasedRows = ack.releases.length ? await db.selectFrom('holds').select(['id', 'status']).where('id', 'in', ack.releases).execute() : [];
  const notReleased = ack.releases.filter((id) => releasedRows.find((r) => r.id === id)?.status !== 'released');
  add(
    'acknowledged but missing in Postgres (holds, bookings, bids, cancellations, releases)',
    ack.holds.length + ack.bookings.length + ack.bids.length + ack.cancellations.length + ack.releases.length,
    [
      ...lostHolds.map((h) => `hold ${h.id}`),
      ...ack.bookings.filter((b) => !foundBookings.has(b.id)).map((b) => `booking ${b.id}`),
      ...ack.bids.filter((b) => !foundBids.has(b.id)).map((b) => `bid ${b.id}`),
      ...notCancelled.map((id) => `cancellation of ${id}`),
      ...notReleased.map((id) => `release of ${id}`),
    ],
  );
}

/** Invariants 3 and 4: every auction closed and settled once, every booking charged exactly once. */
async function checkSettlement(db: Db, auctionIds: string[], add: Add) {
  const auctionBad = await sql<{ id: string; why: string }>`
    select l.id, case
        when l.status <> 'closed' then 'not closed (status ' || l.status || ')'
        when exists (select 1 from bids b where b.listing_id = l.id and b.status = 'won'
                       and (select count(*) from bookings k where k.bid_id = b.id) <> 1) then 'a winning bid without exactly one booking'
        when exists (select 1 from bookings k where k.listing_id = l.id and k.bid_id is not null
                       and (select count(*) from bids b where b.id = k.bid_id and b.status = 'won') <> 1) then 'a booking of a bid that did not win'
        when exists (select 1 from bookings k where k.listing_id = l.id and k.status <> 'cancelled'
                       and (select count(*) from ledger_transactions t where t.booking_id = k.id and t.kind = 'charge') <> 1) then 'a winning booking without exactly one charge'
        when exists (select 1 from bookings k where k.listing_id = l.id and k.status = 'confirmed') then 'a winning booking not settled'
        else null end as why
      from listings l where l.id in (${sql.join(auctionIds)})`.execute(db);
  const doubleCharged = await sql<{ booking_id: string; n: number }>`
    select booking_id, count(*)::int as n from ledger_transactions where kind = 'charge' group by booking_id having count(*) > 1`.execute(db);
  add(
    'closed auctions not settled exactly once (+ any booking charged twice)',
    auctionIds.length,
    [...auctionBad.rows.filter((r) => r.why).map((r) => `${r.id}: ${r.why}`), ...doubleCharged.rows.map((r) => `booking ${r.booking_id}: ${r.n} charges`)],
  );
  const unsettled = await sql<{ id: string; status: string }>`
    select b.id, b.status from bookings b
     where (b.status = 'confirmed' or (b.status <> 'cancelled'
            and (select count(*) from ledger_transactions t where t.booking_id = b.id and t.kind = 'charge') <> 1))`.execute(db);
  const nBookings = (await db.selectFrom('bookings').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
  add('bookings not settled exactly once after the drain', nBookings, unsettled.rows.map((r) => `${r.id} (${r.status})`));
  return auctionBad.rows;
}

/** Invariant 3, money side: verifyLedger's violations. */
async function checkLedger(db: Db, checks: CheckRow[]) {
  const ledger = await verifyLedger(db);
  const ledgerBad = Object.entries(ledger.checks).flatMap(([name, c]) => c.examples.map((e) => `${name}: ${e}`).concat(c.violations > c.examples.length ? [`${name}: +${c.violations - c.examples.length} more`] : []));
  const ledgerViolations = Object.values(ledger.checks).reduce((s, c) => s + c.violations, 0);
  checks.push({ check: 'ledger imbalance (verifyLedger violations)', checked: Object.keys(ledger.checks).length, violations: ledgerViolations, examples: ledgerBad.slice(0, 5) });
}

/** The outage phase: every request answered in time, and no hold committed that no client heard of. */
async function checkOutage(db: Db, ack: AckLog, market: Market, outage: Outage, add: Add) {
  add(`requests during the Redis outage not answered within ${outage.answerMs} ms (success or 503)`, outage.requests, outage.bad);
  // a hold committed while Redis was away must have been acknowledged: nothing a client never heard of
  // (and so might send again) may exist
  const acked = new Set(ack.holds.map((h) => h.id));
  const during = await db
    .selectFrom('holds')
    .select(['id', 'created_at'])
    .where('created_at', '>=', new Date(outage.start))
    .where('created_at', '<', new Date(outage.end))
    .where('listing_id', 'in', market.fixed.map((f) => f.listingId))
    .execute();
  add('holds committed during the Redis outage that no client was told of', during.length, during.filter((h) => !acked.has(h.id)).map((h) => `hold ${h.id}`));
}
