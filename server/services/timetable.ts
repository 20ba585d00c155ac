import type { Db } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { activeWeeklyServices, insertListings, insertServiceDepartures } from '../adapters/db/timetable-repo.ts';
import { expandTimetable, type WeeklyService } from '../core/timetable.ts';

/**
 * Rolls the departure window forward: every active weekly service gets its departures for the next
 * `days` days. Idempotent — (service, departure time) is unique, so a second run inserts nothing and a
 * departure that exists keeps its holds and bookings. A fixed-price listing is opened on each new
 * departure for the service's listed TEU.
 */
export async function rollDepartures(db: Db, now: Date, days: number): Promise<{ created: number; listings: number }> {
  const rows = await activeWeeklyServices(db);
  const byCode = new Map(rows.map((r) => [r.code, r]));
  const services: WeeklyService[] = rows.map((r) => ({
    code: r.code,
    operatorSlug: r.operator_slug,
    corridorCode: r.corridor_code,
    assetName: r.asset_name,
    weekdays: r.weekdays.map(Number),
    departTimeUtc: r.depart_time_utc,
    transitMinutes: r.transit_minutes,
    cutoffMinutesBefore: r.cutoff_minutes_before,
    capacityTeu: r.capacity_teu,
    capacityTonnes: r.capacity_tonnes,
    listedTeu: r.listed_teu,
    unitPriceCents: r.unit_price_cents,
  }));
  const planned = expandTimetable(services, now, days);
  let created = 0;
  let listings = 0;
  // Batches keep each transaction short; each batch is all-or-nothing.
  for (let i = 0; i < planned.length; i += 200) {
    const batch = planned.slice(i, i + 200);
    await db.transaction().execute(async (tx) => {
      const inserted = await insertServiceDepartures(
        tx,
        batch.map((p) => {
          const s = byCode.get(p.serviceCode)!;
          return {
            corridor_id: s.corridor_id,
            operator_org_id: s.operator_org_id,
            service_id: s.id,
            asset_name: p.assetName,
            departs_at: p.departsAt,
            arrives_at: p.arrivesAt,
            cutoff_at: p.cutoffAt,
            capacity_teu: p.capacityTeu,
            capacity_tonnes: p.capacityTonnes,
          };
        }),
      );
      created += inserted.length;
      const toList = inserted
        .map((d) => ({ d, s: rows.find((r) => r.id === d.service_id)! }))
        .filter(({ s }) => s.listed_teu > 0);
      if (toList.length > 0) {
        await insertListings(
          tx,
          toList.map(({ d, s }) => ({
            departure_id: d.id,
            format: 'fixed' as const,
            teu: Math.min(s.listed_teu, s.capacity_teu),
            remaining_teu: Math.min(s.listed_teu, s.capacity_teu),
            unit_price_cents: s.unit_price_cents,
          })),
        );
        listings += toList.length;
      }
      if (inserted.length > 0) {
        await audit(tx, null, 'timetable.roll', { type: 'departures' }, { created: inserted.length, window: { from: now.toISOString(), days } });
      }
    });
  }
  return { created, listings };
}
