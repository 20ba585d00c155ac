/**
 * Weekly timetables and their expansion into dated departures.
 *
 * Pure: no I/O, time is passed in. All times are UTC; a service's weekdays and
 * departure time are interpreted in UTC (no daylight-saving shifts), so the
 * expansion is fully deterministic.
 */

/** Milliseconds in one minute. */
const MINUTE_MS = 60_000;
/** Milliseconds in one UTC day. */
const DAY_MS = 86_400_000;

/**
 * A weekly recurring departure pattern of one asset on one corridor, as an
 * operator publishes it.
 */
export interface WeeklyService {
  /** Unique service code, e.g. `RCR-DEDUI-ITBLQ-A`. */
  code: string;
  /** Slug of the operating organisation. */
  operatorSlug: string;
  /** Corridor code `${from}-${to}-${mode}`. */
  corridorCode: string;
  /** Train or vessel name shown to users. */
  assetName: string;
  /** ISO weekdays on which the service departs: 1 = Monday … 7 = Sunday. */
  weekdays: number[];
  /** Departure time of day in UTC, `'HH:MM'` (24 h). */
  departTimeUtc: string;
  /** Scheduled transit time from departure to arrival, minutes (> 0). */
  transitMinutes: number;
  /** Cargo cut-off, minutes before departure (> 0). */
  cutoffMinutesBefore: number;
  /** Capacity per departure in TEU. */
  capacityTeu: number;
  /** Weight limit per departure in tonnes. */
  capacityTonnes: number;
  /** TEU of each departure offered on the exchange at a fixed price. */
  listedTeu: number;
  /** Fixed price per TEU for the listed capacity, integer EUR cents. */
  unitPriceCents: number;
}

/** One dated run of a {@link WeeklyService}. */
export interface PlannedDeparture {
  serviceCode: string;
  departsAt: Date;
  arrivesAt: Date;
  cutoffAt: Date;
  capacityTeu: number;
  capacityTonnes: number;
  assetName: string;
}

/**
 * Parses `'HH:MM'` (00:00 … 23:59) into minutes after midnight.
 *
 * @returns minutes after midnight, or `null` when the text is not a valid time.
 */
export function parseTimeOfDay(text: string): number | null {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 60 + Number(m[2]);
}

/**
 * Checks a weekly service for the structural rules the expansion relies on:
 * non-empty code, ISO weekdays 1..7, valid `'HH:MM'`, positive integer transit
 * and cut-off minutes, positive integer capacities, `0 <= listedTeu <= capacityTeu`
 * and a non-negative integer price.
 *
 * @returns `{ ok: true }` or a value-typed failure with code `invalid_service`.
 */
export function validateWeeklyService(
  s: WeeklyService,
): { ok: true } | { ok: false; code: 'invalid_service'; message: string } {
  const fail = (message: string) => ({ ok: false as const, code: 'invalid_service' as const, message });
  const posInt = (n: number) => Number.isSafeInteger(n) && n > 0;
  if (typeof s.code !== 'string' || s.code.length === 0) return fail('code must be a non-empty string');
  if (!Array.isArray(s.weekdays) || s.weekdays.length === 0) return fail(`${s.code}: weekdays must be non-empty`);
  if (!s.weekdays.every((d) => Number.isInteger(d) && d >= 1 && d <= 7)) {
    return fail(`${s.code}: weekdays must be ISO weekdays 1..7`);
  }
  if (parseTimeOfDay(s.departTimeUtc) === null) return fail(`${s.code}: departTimeUtc must be 'HH:MM'`);
  if (!posInt(s.transitMinutes)) return fail(`${s.code}: transitMinutes must be a positive integer`);
  if (!posInt(s.cutoffMinutesBefore)) return fail(`${s.code}: cutoffMinutesBefore must be a positive integer`);
  if (!posInt(s.capacityTeu)) return fail(`${s.code}: capacityTeu must be a positive integer`);
  if (!posInt(s.capacityTonnes)) return fail(`${s.code}: capacityTonnes must be a positive integer`);
  if (!Number.isSafeInteger(s.listedTeu) || s.listedTeu < 0 || s.listedTeu > s.capacityTeu) {
    return fail(`${s.code}: listedTeu must be an integer in 0..capacityTeu`);
  }
  if (!Number.isSafeInteger(s.unitPriceCents) || s.unitPriceCents < 0) {
    return fail(`${s.code}: unitPriceCents must be a non-negative integer`);
  }
  return { ok: true };
}

/** ISO weekday (1 = Monday … 7 = Sunday) of a UTC midnight timestamp. */
function isoWeekdayUtc(ms: number): number {
  const d = new Date(ms).getUTCDay(); // 0 = Sunday
  return d === 0 ? 7 : d;
}

/**
 * Expands weekly services into every departure whose `departsAt` lies in the
 * half-open window `[now, now + days × 24 h)`.
 *
 * - Weekdays and times are UTC. `days` may be fractional; `days <= 0` (or not
 *   finite) gives an empty list.
 * - Services that fail {@link validateWeeklyService} are skipped (validate them
 *   first to report errors); duplicate weekdays in one service count once.
 * - The result is sorted by `departsAt`, then `serviceCode`, and is a pure
 *   function of its inputs: for the same service and departure time, any two
 *   windows that both contain it produce identical departures.
 */
export function expandTimetable(services: WeeklyService[], now: Date, days: number): PlannedDeparture[] {
  const start = now.getTime();
  if (!Number.isFinite(start) || !Number.isFinite(days) || days <= 0) return [];
  const end = start + days * DAY_MS;
  const firstMidnight = Math.floor(start / DAY_MS) * DAY_MS;
  const out: PlannedDeparture[] = [];

  for (const s of services) {
    if (!validateWeeklyService(s).ok) continue;
    const tod = parseTimeOfDay(s.departTimeUtc)!;
    const weekdays = new Set(s.weekdays);
    for (let midnight = firstMidnight; midnight < end; midnight += DAY_MS) {
      if (!weekdays.has(isoWeekdayUtc(midnight))) continue;
      const dep = midnight + tod * MINUTE_MS;
      if (dep < start || dep >= end) continue;
      out.push({
        serviceCode: s.code,
        departsAt: new Date(dep),
        arrivesAt: new Date(dep + s.transitMinutes * MINUTE_MS),
        cutoffAt: new Date(dep - s.cutoffMinutesBefore * MINUTE_MS),
        capacityTeu: s.capacityTeu,
        capacityTonnes: s.capacityTonnes,
        assetName: s.assetName,
      });
    }
  }

  out.sort((a, b) => {
    const dt = a.departsAt.getTime() - b.departsAt.getTime();
    if (dt !== 0) return dt;
    return a.serviceCode < b.serviceCode ? -1 : a.serviceCode > b.serviceCode ? 1 : 0;
  });
  return out;
}
