import { sql } from 'kysely';
import type { Db } from '../../server/adapters/db/db.ts';

/**
 * Capacity is promised once with offers (DESIGN invariant 8, issue 14): for the departures given (all when none),
 * held TEU / tonnes = active holds + open chains' lots, booked = live bookings, held + booked ≤ capacity, at most one
 * open offer per chain and one per organisation per chain. Returns the violations (empty: consistent).
 */
export async function offerInvariantViolations(db: Db, departureIds?: string[]): Promise<string[]> {
  const only = departureIds?.length ? sql`and d.id = any(${departureIds}::uuid[])` : sql``;
  const r = await sql<{ id: string; held_teu: number; held_tonnes: number; h: number; ht: number; booked_teu: number; b: number; capacity_teu: number }>`
    select d.id, d.held_teu, d.held_tonnes, d.booked_teu, d.capacity_teu,
           coalesce(h.teu, 0)::int + coalesce(c.teu, 0)::int as h, coalesce(h.t, 0)::int + coalesce(c.t, 0)::int as ht, coalesce(b.teu, 0)::int as b
      from departures d
      left join (select departure_id, sum(teu) teu, sum(tonnes) t from holds where status = 'active' group by departure_id) h on h.departure_id = d.id
      left join (select departure_id, sum(teu) teu, sum(tonnes) t from offer_chains where status = 'offering' group by departure_id) c on c.departure_id = d.id
      left join (select departure_id, sum(teu) teu from bookings where status in ('confirmed','settled') group by departure_id) b on b.departure_id = d.id
     where (d.held_teu <> coalesce(h.teu, 0) + coalesce(c.teu, 0) or d.held_tonnes <> coalesce(h.t, 0) + coalesce(c.t, 0)
            or d.booked_teu <> coalesce(b.teu, 0) or d.held_teu + d.booked_teu > d.capacity_teu) ${only}`.execute(db);
  const out = r.rows.map((x) => `departure ${x.id}: held ${x.held_teu} vs holds+offers ${x.h} (t ${x.held_tonnes}/${x.ht}), booked ${x.booked_teu}/${x.b}, capacity ${x.capacity_teu}`);
  const doubled = await sql<{ chain_id: string; n: number }>`
    select chain_id, count(*)::int n from offers where status = 'open' group by chain_id having count(*) > 1
    union all select chain_id, count(*)::int from offers group by chain_id, org_id having count(*) > 1`.execute(db);
  for (const d of doubled.rows) out.push(`chain ${d.chain_id}: offered twice (${d.n})`);
  const openOfferless = await sql<{ id: string }>`
    select c.id from offer_chains c where c.status = 'offering' and not exists (select 1 from offers o where o.chain_id = c.id and o.status = 'open')`.execute(db);
  for (const c of openOfferless.rows) out.push(`chain ${c.id}: offering without an open offer (lost)`);
  return out;
}
