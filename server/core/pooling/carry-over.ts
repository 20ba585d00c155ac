/**
 * Which open proposals a new plan only repeats, pure.
 *
 * Every run of the optimiser writes a plan. A forwarder reading a proposal, or an integration holding its id, should
 * not see it closed and re-issued under a new id each time the pool changes somewhere else (a new shipment anywhere
 * triggers a run within 30 s). So a new plan's proposal whose content is exactly an open proposal's (the same
 * shipment or departure, the same legs at the same prices, the same amounts, loads and moved bookings) is that open
 * proposal, carried over with its id and its creation time; only the open proposals the new plan does not repeat
 * are superseded, and only the new plan's other proposals are created (and announced).
 *
 * Content is every field that says what a proposal offers — not its id, plan, status, times or decision. Each open
 * proposal is carried over at most once (two equal new proposals cannot both take it).
 */

/** The fields that say what a proposal offers, as the `proposals` table names them. */
export const PROPOSAL_CONTENT = [
  'kind', 'shipment_id', 'forwarder_org_id', 'departure_id', 'operator_org_id', 'action', 'merge_into_departure_id', 'legs',
  'teu', 'tonnes', 'price_cents', 'standalone_cents', 'share_cents', 'co2e_kg', 'road_co2e_kg', 'capacity_teu', 'min_load_teu',
  'load_before_teu', 'load_after_teu', 'moved_bookings', 'saving_cents', 'target_load_before_teu', 'target_load_after_teu',
] as const;
export type ProposalContent = { [K in (typeof PROPOSAL_CONTENT)[number]]?: unknown };

/** Columns a database may hand back as strings (bigint) or numbers: compared as numbers. */
const NUMERIC = new Set<string>([
  'teu', 'tonnes', 'price_cents', 'standalone_cents', 'share_cents', 'co2e_kg', 'road_co2e_kg', 'capacity_teu', 'min_load_teu',
  'load_before_teu', 'load_after_teu', 'saving_cents', 'target_load_before_teu', 'target_load_after_teu',
]);

/** JSON with object keys sorted at every depth: equal values give equal text whatever order their keys came in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

function field(name: string, v: unknown): unknown {
  // legs and moved bookings default to empty in the table: left out of a new row, they are read back as []
  if (name === 'legs' || name === 'moved_bookings') v ??= [];
  if (v === undefined || v === null) return null;
  if (NUMERIC.has(name)) return Number(v);
  if (name === 'legs') return typeof v === 'string' ? (JSON.parse(v) as unknown) : v; // inserted as JSON text, read back parsed
  if (name === 'moved_bookings' && Array.isArray(v)) return [...(v as string[])].sort();
  return v;
}

/** One text per content: equal exactly when the two proposals offer the same thing. */
export function contentKey(p: ProposalContent): string {
  return canonical(PROPOSAL_CONTENT.map((k) => field(k, p[k])));
}

export interface CarryOver {
  /** Per new proposal (same order): the id of the open proposal it repeats, or null when it is new. */
  carried: (string | null)[];
  /** The open proposals the new plan does not repeat: to be superseded. */
  superseded: string[];
}

export function carryOver(open: readonly (ProposalContent & { id: string })[], fresh: readonly ProposalContent[]): CarryOver {
  const waiting = new Map<string, string[]>();
  for (const o of open) {
    const k = contentKey(o);
    const ids = waiting.get(k) ?? [];
    ids.push(o.id);
    waiting.set(k, ids);
  }
  const carried = fresh.map((f) => waiting.get(contentKey(f))?.shift() ?? null);
  const kept = new Set(carried.filter((id): id is string => id !== null));
  return { carried, superseded: open.map((o) => o.id).filter((id) => !kept.has(id)) };
}
