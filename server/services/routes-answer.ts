import { quantityError } from '../core/capacity.ts';
import type { ItineraryPlan, RouteMode, RouteQuery, RoutingParams, TimetableLeg } from '../core/routing.ts';
import { badRequest } from '../domain/errors.ts';
import { DEFAULT_MAX_LEGS, MAX_WINDOW_DAYS, type RouteItinerary, type RouteLeg, type RoutesQuery } from '../domain/schemas/routes.ts';

/**
 * The route search's edges (issue 12): the HTTP query checked beyond its schema and turned into the core's
 * `RouteQuery`, and the core's plans turned into the API's itineraries (API.md "Routes and itineraries").
 */

const DAY_MS = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** Grams to kg, rounded to 0.1 kg. */
export const gramsToKg = (g: number) => Math.round(g / 100) / 10;

/** A date-time the schema accepted but `Date` cannot represent (e.g. a leap second) is still the client's error. */
function instant(v: string, name: string): number {
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw badRequest('invalid_date', `${name} is not a valid date-time`);
  return t;
}

/**
 * The core's query from a validated query string, or 400: `unknown_cluster` (a code that is no cluster of
 * the network), `same_cluster`, `invalid_window` (deliverBy not after readyAt), `window_too_long` (more than
 * MAX_WINDOW_DAYS days), `invalid_quantity` (fewer than 1 t per TEU).
 */
export function toRouteQuery(q: RoutesQuery, known: (code: string) => boolean, now: Date): RouteQuery {
  for (const [name, code] of [['from', q.from], ['to', q.to]] as const) {
    if (!known(code)) throw badRequest('unknown_cluster', `${name}: ${code} is not a cluster of the network`);
  }
  if (q.from === q.to) throw badRequest('same_cluster', 'from and to must be different clusters');
  const readyAt = instant(q.readyAt, 'readyAt');
  const deliverBy = instant(q.deliverBy, 'deliverBy');
  if (!(deliverBy > readyAt)) throw badRequest('invalid_window', 'deliverBy must be after readyAt');
  if (deliverBy - readyAt > MAX_WINDOW_DAYS * DAY_MS) {
    throw badRequest('window_too_long', `the window from readyAt to deliverBy may be at most ${MAX_WINDOW_DAYS} days`);
  }
  const quantity = quantityError(q);
  if (quantity) throw badRequest('invalid_quantity', quantity);
  const modes = [...new Set((q.modes ?? 'rail,barge').split(','))].sort() as RouteMode[];
  return {
    from: q.from,
    to: q.to,
    teu: q.teu,
    tonnes: q.tonnes,
    readyAt,
    deliverBy,
    now: now.getTime(),
    modes,
    maxLegs: q.maxLegs ?? DEFAULT_MAX_LEGS,
    ...(q.maxTotalCents !== undefined ? { maxTotalCents: q.maxTotalCents } : {}),
  };
}

function toLeg(l: TimetableLeg, tonnes: number, params: RoutingParams): RouteLeg {
  const bookable = l.format === 'fixed' || l.format === 'falling';
  return {
    departureId: l.departureId,
    listingId: l.listingId,
    mode: l.mode,
    origin: l.origin,
    destination: l.destination,
    departsAt: iso(l.departsAt),
    arrivesAt: iso(l.arrivesAt),
    cutoffAt: iso(l.cutoffAt),
    distanceKm: l.distanceKm,
    freeTeu: Math.min(l.depFreeTeu, l.listingRemainingTeu),
    unitPriceCents: l.unitPriceCents,
    format: l.format,
    bookable,
    co2eKg: gramsToKg(Math.round(tonnes * l.distanceKm * params.gramsPerTonneKm[l.mode])),
  };
}

/** One plan of the core as the API's itinerary (times ISO, CO2e in kg to 0.1, the road's CO2e beside it). */
export function toItinerary(plan: ItineraryPlan, q: RouteQuery, roadCo2eKg: number, params: RoutingParams): RouteItinerary {
  return {
    key: plan.legs.map((l) => l.listingId).join(','),
    legs: plan.legs.map((l) => toLeg(l, q.tonnes, params)),
    transfers: plan.transfers.map((t) => ({ at: t.at, waitMinutes: t.waitMinutes, handlingCents: t.handlingCents })),
    totalCents: plan.totalCents,
    departsAt: iso(plan.departsAt),
    arrivesAt: iso(plan.arrivesAt),
    co2eKg: gramsToKg(plan.co2eGrams),
    roadCo2eKg,
    bookable: plan.bookable,
  };
}
