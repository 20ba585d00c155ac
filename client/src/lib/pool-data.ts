/**
 * The pure part of the pool (issue 13; ../shared/API.md "Pooling and optimisation"): the "Pool a shipment" form
 * and its body, which field an API 400 belongs to, a shipment's current proposal, the figures a proposal and a
 * plan show (saving, CO2e against road, improvement over the greedy baseline), the optimiser's progress bar.
 * No state, no requests: tested in test/unit/client-pool.test.ts.
 */
import type { Mode, OptimisationProgressEvent, Proposal, Shipment } from './types.ts';

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** server/domain/schemas/shipments.ts: a shipment rides whole; larger volumes are several shipments */
export const MAX_SHIPMENT_TEU = 500;
export const MAX_SHIPMENT_TONNES = 20_000;
/** the longest window from ready-at to deliver-by (the route search's) */
export const MAX_WINDOW_DAYS = 21;

// ---- the form ----

/** What the form holds (datetimes as UTC `<input type=datetime-local>` values; the price in whole euros). */
export interface PoolFormValues {
  from: string;
  to: string;
  teu: number | null;
  tonnes: number | null;
  readyAt: string;
  deliverBy: string;
  maxTotalEur: number | null;
  rail: boolean;
  barge: boolean;
  consolidate: boolean;
  reference: string;
}

/** `POST /api/shipments` */
export interface PoolBody {
  from: string;
  to: string;
  teu: number;
  tonnes: number;
  readyAt: string;
  deliverBy: string;
  maxTotalCents: number;
  modes: Mode[];
  consolidate: boolean;
  reference?: string;
}

export type PoolField = 'from' | 'to' | 'teu' | 'tonnes' | 'readyAt' | 'deliverBy' | 'maxTotalEur' | 'modes' | 'reference';
export type PoolErrors = Partial<Record<PoolField, string>>;

/** ISO (or epoch ms) → value of a UTC `<input type=datetime-local>`, to the minute. */
export function toUtcInput(t: string | number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 16);
}

/** Value of a UTC `<input type=datetime-local>` → ISO, or null. */
export function fromUtcInput(v: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v)) return null;
  const d = new Date(v.length === 16 ? v + ':00Z' : v + 'Z');
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Ready at the next full hour, delivered within 6 days, 2 TEU / 24 t, both modes, may be consolidated. */
export function defaultPoolForm(now: number): PoolFormValues {
  const ready = Math.ceil(now / HOUR_MS) * HOUR_MS;
  return {
    from: '', to: '', teu: 2, tonnes: 24, readyAt: toUtcInput(ready), deliverBy: toUtcInput(ready + 6 * DAY_MS), maxTotalEur: null,
    rail: true, barge: true, consolidate: true, reference: '',
  };
}

const CODE_RE = /^[A-Z0-9]{2,8}$/;
const isWhole = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n);

/**
 * Checks what the form can check by itself (the shape of every field); what needs the server's clock or its
 * network (deliver-by in the past, known clusters) comes back as a 400, placed next to its field by `apiFieldError`.
 */
export function checkPoolForm(v: PoolFormValues): { ok: true; body: PoolBody } | { ok: false; errors: PoolErrors } {
  const errors: PoolErrors = {};
  if (!CODE_RE.test(v.from)) errors.from = 'Choose where the cargo starts.';
  if (!CODE_RE.test(v.to)) errors.to = 'Choose where the cargo goes.';
  else if (v.to === v.from) errors.to = 'Origin and destination must differ.';
  if (!isWhole(v.teu) || v.teu < 1 || v.teu > MAX_SHIPMENT_TEU) errors.teu = `TEU must be a whole number from 1 to ${MAX_SHIPMENT_TEU}.`;
  if (!isWhole(v.tonnes) || v.tonnes < 1 || v.tonnes > MAX_SHIPMENT_TONNES) errors.tonnes = `Tonnes must be a whole number from 1 to ${MAX_SHIPMENT_TONNES.toLocaleString('en-GB')}.`;
  const readyAt = fromUtcInput(v.readyAt);
  const deliverBy = fromUtcInput(v.deliverBy);
  if (!readyAt) errors.readyAt = 'Enter when the cargo is ready (UTC).';
  if (!deliverBy) errors.deliverBy = 'Enter when it must be delivered (UTC).';
  else if (readyAt && Date.parse(deliverBy) <= Date.parse(readyAt)) errors.deliverBy = 'Deliver-by must be after ready-at.';
  const price = typeof v.maxTotalEur === 'number' ? v.maxTotalEur : null;
  if (price === null || !Number.isFinite(price) || Math.round(price * 100) < 1) errors.maxTotalEur = 'Enter the most you pay in total, in euros.';
  if (!v.rail && !v.barge) errors.modes = 'Allow rail, barge or both.';
  const reference = v.reference.trim();
  if (reference.length > 120) errors.reference = 'At most 120 characters.';
  if (Object.keys(errors).length) return { ok: false, errors };
  const modes: Mode[] = [];
  if (v.rail) modes.push('rail');
  if (v.barge) modes.push('barge');
  const body: PoolBody = {
    from: v.from, to: v.to, teu: v.teu!, tonnes: v.tonnes!, readyAt: readyAt!, deliverBy: deliverBy!, maxTotalCents: Math.round(price! * 100), modes,
    consolidate: v.consolidate,
  };
  if (reference) body.reference = reference;
  return { ok: true, body };
}

/** The body's property → the form's field. */
const BODY_FIELD: Record<string, PoolField> = {
  from: 'from', to: 'to', teu: 'teu', tonnes: 'tonnes', readyAt: 'readyAt', deliverBy: 'deliverBy', maxTotalCents: 'maxTotalEur', modes: 'modes',
  consolidate: 'modes', reference: 'reference',
};

/**
 * The field a 400 of `POST /api/shipments` is about, from its code (the service's checks) or, for a schema
 * refusal (`invalid_input`, "body/teu must be <= 500"), from the property its message names; null when it is
 * about no single field (shown above the button instead).
 */
export function apiFieldError(code: string, message: string): PoolField | null {
  switch (code) {
    case 'same_cluster':
      return 'to';
    case 'unknown_cluster':
      return /^\s*to\b/.test(message) ? 'to' : 'from';
    case 'deliver_by_past':
    case 'invalid_window':
    case 'window_too_long':
      return 'deliverBy';
    case 'ready_too_late':
    case 'invalid_date':
      return /deliverBy/.test(message) ? 'deliverBy' : 'readyAt';
    case 'invalid_quantity':
      return 'tonnes';
    case 'invalid_price':
      return 'maxTotalEur';
  }
  const m = /(?:^|[\s/.:'"])(from|to|teu|tonnes|readyAt|deliverBy|maxTotalCents|modes|consolidate|reference)\b/.exec(message.replace(/^body\b/, ''));
  return m?.[1] ? (BODY_FIELD[m[1]] ?? null) : null;
}

/** A 400's message for people: the server's, first letter up, the wire names of the fields in words. */
export function apiErrorText(message: string): string {
  const words: Record<string, string> = {
    maxTotalCents: 'the maximum price', deliverBy: 'deliver-by', readyAt: 'ready-at', teu: 'TEU', tonnes: 'tonnes', from: 'origin', to: 'destination',
  };
  const t = message
    .replace(/^body\s*[/.:]?\s*/i, '')
    .replace(/^\/?(\w+)\s/, (all, k: string) => (words[k] ? `${words[k]} ` : all))
    .replace(/\b(maxTotalCents|deliverBy|readyAt)\b/g, (k) => words[k] ?? k)
    .trim();
  return t ? t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.') : 'The request was not valid.';
}

// ---- shipments and their proposals ----

export type ShipmentStatus = Shipment['status'];
export type ProposalStatus = Proposal['status'];

export const SHIPMENT_STATUS_LABEL: Record<ShipmentStatus, string> = {
  pooled: 'Pooled',
  proposed: 'Proposed',
  booked: 'Booked',
  unplaced: 'Unplaced',
  withdrawn: 'Withdrawn',
};

export const SHIPMENT_STATUS_HINT: Record<ShipmentStatus, string> = {
  pooled: 'Waiting for the next plan of the optimiser.',
  proposed: 'A plan proposes an itinerary: accept or decline it.',
  booked: 'Booked as an itinerary.',
  unplaced: 'The last plan found no itinerary within its window, modes and price. It stays in the pool.',
  withdrawn: 'Taken out of the pool.',
};

/** Statuses from which a shipment may be withdrawn (server: WITHDRAWABLE_STATUSES). */
export function canWithdraw(s: Pick<Shipment, 'status'>): boolean {
  return s.status === 'pooled' || s.status === 'unplaced' || s.status === 'proposed';
}

const byNewest = (a: { createdAt: string }, b: { createdAt: string }) => Date.parse(b.createdAt) - Date.parse(a.createdAt);

/**
 * The proposal a shipment shows: its newest one (the newest plan's), unless that was superseded by a plan that
 * did not propose it again (then it shows none). Ties (one plan) keep the list's order.
 */
export function currentProposal(shipmentId: string, proposals: readonly Proposal[]): Proposal | null {
  const mine = proposals.filter((p) => p.kind === 'shipment' && p.shipmentId === shipmentId);
  if (mine.length === 0) return null;
  const newest = [...mine].sort(byNewest)[0];
  return !newest || newest.status === 'superseded' ? null : newest;
}

/** Newest first; shipments still waiting for a decision (proposed) before the others of the same age. */
export function sortShipments(list: readonly Shipment[]): Shipment[] {
  return [...list].sort((a, b) => Number(b.status === 'proposed') - Number(a.status === 'proposed') || byNewest(a, b));
}

/** CO2e of the proposed itinerary against the road: kg saved and share saved (0..100), or null without road figures. */
export function co2VsRoad(p: Pick<Proposal, 'co2eKg' | 'roadCo2eKg'>): { savedKg: number; pct: number } | null {
  if (p.co2eKg === null || p.roadCo2eKg === null || p.roadCo2eKg <= 0) return null;
  const savedKg = p.roadCo2eKg - p.co2eKg;
  return { savedKg, pct: Math.round((savedKg / p.roadCo2eKg) * 100) };
}

/** The saving of a shipment's proposal: stand-alone − price, plus its share of the pool's saving. */
export function proposalSaving(p: Pick<Proposal, 'priceCents' | 'standaloneCents' | 'shareCents' | 'savingCents'>): {
  savingCents: number;
  pct: number | null;
  direct: number;
  share: number;
} | null {
  if (p.priceCents === null || p.standaloneCents === null) return null;
  const share = p.shareCents ?? 0;
  const direct = p.standaloneCents - p.priceCents;
  const savingCents = p.savingCents ?? direct + share;
  return { savingCents, pct: p.standaloneCents > 0 ? Math.round((savingCents / p.standaloneCents) * 1000) / 10 : null, direct, share };
}

/** What a stale or closed accept means to the forwarder. */
export function refusalText(code: string, message: string, kind: Proposal['kind'] = 'shipment'): string {
  if (code === 'proposal_stale' && kind === 'departure') return `This proposal no longer applies: ${message}`;
  if (code === 'proposal_stale')
    return 'This proposal can no longer be booked: capacity or prices changed since the plan. Nothing was booked; your shipment is back in the pool for the next plan.';
  if (code === 'proposal_closed') return /superseded/.test(message) ? 'A newer plan replaced this proposal: see the new one.' : `This proposal is closed (${message}).`;
  return message;
}

// ---- merges ----

/** The merges a forwarder is asked about (its own bookings named), the ones still waiting for it first. */
export function mergeRequests(proposals: Proposal[]): Proposal[] {
  const waiting = (p: Proposal) => p.status === 'consenting' && p.movedBookings.some((b) => b.consent === 'pending');
  return proposals
    .filter((p) => p.action === 'merge' && p.movedBookings.length > 0 && p.status !== 'superseded')
    .sort((a, b) => Number(waiting(b)) - Number(waiting(a)) || Date.parse(b.createdAt) - Date.parse(a.createdAt));
}

/** Consent progress of a merge as its operator sees it: "1 of 2 bookings agreed". */
export function consentProgress(p: Proposal): string {
  const n = p.movedBookings.length;
  const yes = p.movedBookings.filter((b) => b.consent === 'accepted').length;
  return `${yes} of ${n} booking${n === 1 ? '' : 's'} agreed`;
}

export function mergeAnswerText(p: Proposal, accept: boolean): string {
  if (!accept) return 'Declined: your booking stays on its departure.';
  if (p.status === 'accepted') return 'Agreed: every forwarder agreed, your booking has moved to the new departure (same price).';
  return 'Agreed: your booking moves once every forwarder concerned has agreed.';
}

export function departureDecisionText(p: Proposal, accept: boolean): string {
  if (p.action === 'merge') return accept ? 'Merge accepted: the forwarders of the moved bookings are asked now.' : 'Merge declined: the departure keeps running.';
  return accept ? 'Departure cancelled.' : 'Proposal declined: the departure keeps running.';
}

// ---- the optimiser ----

export type ProgressPhase = OptimisationProgressEvent['phase'];

const PHASE_LABEL: Record<ProgressPhase, string> = {
  loading: 'Loading the pool',
  greedy: 'Greedy baseline',
  bound: 'LP bound',
  solving: 'Solving',
  done: 'Done',
  failed: 'Failed',
};

export function phaseLabel(phase: string): string {
  return PHASE_LABEL[phase as ProgressPhase] ?? phase;
}

/**
 * How far a run is, 0..1, for the progress bar: loading 0–5 %, greedy 5–10 %, then the parts (each part's LP
 * bound then its MIP) share 10–100 %; done (or failed) is 1.
 */
export function progressShare(p: Pick<OptimisationProgressEvent, 'phase' | 'part' | 'parts'> | null): number {
  if (!p) return 0;
  if (p.phase === 'done' || p.phase === 'failed') return 1;
  if (p.phase === 'loading') return 0.02;
  if (p.phase === 'greedy') return 0.08;
  const parts = Math.max(1, p.parts || 1);
  const part = Math.min(Math.max(0, p.part || 0), parts - 1);
  const within = p.phase === 'bound' ? 0.1 : 0.5;
  return Math.min(0.99, 0.1 + (0.9 * (part + within)) / parts);
}

/** "Solving part 2 of 3 · gap 0.42 %" */
export function progressText(p: Pick<OptimisationProgressEvent, 'phase' | 'part' | 'parts' | 'gapPct'> | null): string {
  if (!p) return 'Waiting for a worker…';
  let t = phaseLabel(p.phase);
  if ((p.phase === 'solving' || p.phase === 'bound') && p.parts > 1) t += ` part ${Math.min(p.part + 1, p.parts)} of ${p.parts}`;
  if (p.gapPct !== null && p.gapPct !== undefined && Number.isFinite(p.gapPct)) t += ` · gap ${fmtPct(p.gapPct)}`;
  return t;
}

/** 0.4213 → "0.42 %"; ≥ 10 → "12.3 %"; null → "—" */
export function fmtPct(pct: number | null | undefined): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return '—';
  const a = Math.abs(pct);
  const s = a >= 10 ? pct.toFixed(1) : a >= 0.01 || a === 0 ? pct.toFixed(2) : '<0.01';
  return `${s} %`;
}

/** 0..1 → "63 %"; below 10 % with one decimal ("0.4 %") so that small load factors still show their change */
export function fmtShare(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const pct = x * 100;
  return Math.abs(pct) < 10 && pct !== 0 ? `${pct.toFixed(1)} %` : `${Math.round(pct)} %`;
}

/** "1.24 s", "380 ms" */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** How much cheaper the plan is than the greedy baseline on the same objective, in % of the baseline. */
export function improvementPct(greedyCents: number | null | undefined, objectiveCents: number | null | undefined): number | null {
  if (greedyCents === null || greedyCents === undefined || objectiveCents === null || objectiveCents === undefined || greedyCents <= 0) return null;
  return ((greedyCents - objectiveCents) / greedyCents) * 100;
}

/** Is a run still going (queued or solving)? */
export function isActive(r: { status: string }): boolean {
  return r.status === 'queued' || r.status === 'solving';
}
