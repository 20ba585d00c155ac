import type { Db } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { departureCosts, lockDepartureCosts, setOperatingCosts, type DepartureCostsRow } from '../adapters/db/departures-repo.ts';
import { claimKey, storeAnswer, type IdemKey } from '../adapters/db/idempotency.ts';
import { storedIdemAnswer } from '../adapters/db/itineraries-repo.ts';
import { beingAccepted, closeProposalOf } from '../adapters/db/optimisations-repo.ts';
import {
  clusterIdsByCode, findShipment, insertShipment, lockShipmentOfOrg, shipmentsOfScope, updateShipment, type ShipmentJoined, type ShipmentRow,
} from '../adapters/db/shipments-repo.ts';
import { quantityError } from '../core/capacity.ts';
import type { Mode } from '../domain/enums.ts';
import { AppError, badRequest, conflict, notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import {
  CHANGEABLE_STATUSES, MAX_READY_AHEAD_DAYS, MAX_WINDOW_DAYS, WITHDRAWABLE_STATUSES, type NewShipmentBody, type OperatingCosts, type OperatingCostsBody,
  type Shipment, type ShipmentChangeBody, type ShipmentsQuery, type ShipmentStatus,
} from '../domain/schemas/shipments.ts';

const DAY_MS = 86_400_000;
const ALL_MODES: Mode[] = ['rail', 'barge'];

/** Something in the pool changed: what the optimiser's debounce listens to (wired by whoever runs it). */
export type PoolChange =
  | { kind: 'shipment'; shipmentId: string; orgId: string; status: ShipmentStatus }
  | { kind: 'operating-costs'; departureId: string; operatorOrgId: string };

export interface PoolOptions {
  /** Called after a change to the pool commits (never awaited; its errors are ignored). */
  onPoolChange?: (change: PoolChange) => void;
}

/** The terms of a shipment as the checks see them (a new one, or an existing one with a change applied). */
interface Terms {
  from: string;
  to: string;
  teu: number;
  tonnes: number;
  readyAt: string;
  deliverBy: string;
  maxTotalCents: number;
  modes: Mode[];
}

/** A date-time the schema accepted but `Date` cannot represent is still the client's error. */
function instant(v: string, name: string): Date {
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw badRequest('invalid_date', `${name} is not a valid date-time`);
  return new Date(t);
}

/**
 * The checks beyond the schema, with the route search's codes (400): `same_cluster`, `invalid_date`,
 * `deliver_by_past` (deliverBy not in the future), `invalid_window` (deliverBy not after readyAt), `window_too_long`
 * (more than MAX_WINDOW_DAYS), `ready_too_late` (readyAt more than MAX_READY_AHEAD_DAYS ahead), `invalid_quantity`
 * (fewer than 1 t per TEU), `unknown_cluster`. Returns the instants and the clusters' ids.
 */
async function checkTerms(db: Db, t: Terms, now: Date): Promise<{ readyAt: Date; deliverBy: Date; fromId: string; toId: string }> {
  if (t.from === t.to) throw badRequest('same_cluster', 'from and to must be different clusters');
  const readyAt = instant(t.readyAt, 'readyAt');
  const deliverBy = instant(t.deliverBy, 'deliverBy');
  if (!(deliverBy > now)) throw badRequest('deliver_by_past', 'deliverBy must be in the future');
  if (!(deliverBy > readyAt)) throw badRequest('invalid_window', 'deliverBy must be after readyAt');
  if (deliverBy.getTime() - readyAt.getTime() > MAX_WINDOW_DAYS * DAY_MS) {
    throw badRequest('window_too_long', `the window from readyAt to deliverBy may be at most ${MAX_WINDOW_DAYS} days`);
  }
  if (readyAt.getTime() - now.getTime() > MAX_READY_AHEAD_DAYS * DAY_MS) {
    throw badRequest('ready_too_late', `readyAt may be at most ${MAX_READY_AHEAD_DAYS} days ahead`);
  }
  const quantity = quantityError(t);
  if (quantity) throw badRequest('invalid_quantity', quantity);
  if (!Number.isSafeInteger(t.maxTotalCents) || t.maxTotalCents < 1) throw badRequest('invalid_price', 'maxTotalCents must be a whole number of at least 1');
  const ids = await clusterIdsByCode(db, [t.from, t.to]);
  for (const [name, code] of [['from', t.from], ['to', t.to]] as const) {
    if (!ids.has(code)) throw badRequest('unknown_cluster', `${name}: ${code} is not a cluster of the network`);
  }
  return { readyAt, deliverBy, fromId: ids.get(t.from)!, toId: ids.get(t.to)! };
}

/** The public `Shipment` of a row. */
export function toShipment(r: ShipmentJoined): Shipment {
  return {
    id: r.id,
    from: r.from_code,
    to: r.to_code,
    teu: r.teu,
    tonnes: r.tonnes,
    readyAt: r.ready_at.toISOString(),
    deliverBy: r.deliver_by.toISOString(),
    maxTotalCents: Number(r.max_total_cents),
    modes: ALL_MODES.filter((m) => r.modes.includes(m)),
    consolidate: r.consolidate,
    status: r.status,
    version: r.version,
    reference: r.reference,
    itineraryId: r.itinerary_id,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function stateChanged(row: Pick<ShipmentRow, 'status' | 'version'>, message: string): AppError {
  return conflict('shipment_state_changed', message, { status: row.status, version: row.version });
}

/**
 * The pool (issue 13 item 1): forwarders post shipment requests (cluster to cluster, TEU and tonnes, a window, the
 * most they pay, the modes they allow, whether the cargo may be consolidated with others'), list them, change them
 * until they are in an accepted plan (optimistic: `expectVersion`), and withdraw them until they are booked. The
 * optimiser reads the pool (optimisations-repo openShipments) and moves shipments to proposed / unplaced; accepting
 * a proposal books them. Another organisation's shipment answers 404, as one that does not exist.
 */
export class ShipmentsService {
  constructor(
    private readonly db: Db,
    private readonly opts: PoolOptions = {},
  ) {}

  private told(change: PoolChange) {
    try {
      this.opts.onPoolChange?.(change);
    } catch {
      // a listener's failure never fails the request
    }
  }

  /** POST /api/shipments — `idem`: the request's Idempotency-Key (a retry replays the first answer). */
  async create(p: Principal, input: NewShipmentBody, idem?: IdemKey, now = new Date()): Promise<Shipment> {
    policy.requireOrgKind(p, 'forwarder');
    if (idem) {
      const stored = await this.storedAnswer(idem);
      if (stored) return stored;
    }
    const modes = normaliseModes(input.modes);
    const checked = await checkTerms(this.db, { ...input, modes }, now);
    const result = await inTransaction(this.db, async (tx) => {
      if (idem) {
        const claim = await claimKey<Shipment>(tx, idem);
        if (claim.kind === 'replay') return { replay: true as const, body: claim.body };
      }
      const row = await insertShipment(tx, {
        forwarder_org_id: p.orgId, user_id: p.userId, api_key_id: p.apiKeyId ?? null, from_cluster_id: checked.fromId, to_cluster_id: checked.toId,
        teu: input.teu, tonnes: input.tonnes, ready_at: checked.readyAt, deliver_by: checked.deliverBy, max_total_cents: input.maxTotalCents, modes,
        consolidate: input.consolidate ?? true, reference: input.reference ?? null, created_at: now, updated_at: now,
      });
      await audit(tx, p, 'shipment.create', { type: 'shipment', id: row.id }, {
        from: input.from, to: input.to, teu: input.teu, tonnes: input.tonnes, maxTotalCents: input.maxTotalCents, modes, consolidate: row.consolidate,
      });
      const body = toShipment(row);
      if (idem) await storeAnswer(tx, idem, 201, body);
      return { replay: false as const, body };
    });
    if (!result.replay) this.told({ kind: 'shipment', shipmentId: result.body.id, orgId: p.orgId, status: result.body.status });
    return result.body;
  }

  /** The answer already stored under this key for this request (undefined: none yet); another request's key: 409. */
  private async storedAnswer(idem: IdemKey): Promise<Shipment | undefined> {
    const row = await storedIdemAnswer(this.db, idem.orgId, idem.key);
    if (!row) return undefined;
    if (row.route !== idem.route || (row.request_hash !== idem.requestHash && row.request_hash !== idem.legacyHash)) {
      throw conflict('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
    }
    return row.response as Shipment;
  }

  /** GET /api/shipments — own organisation's shipments, newest first (the platform: everyone's). */
  async list(p: Principal, q: ShipmentsQuery = {}): Promise<Shipment[]> {
    policy.requireOrgKind(p, 'forwarder', 'platform');
    const rows = await shipmentsOfScope(this.db, policy.scopeOf(p), { ...(q.status ? { status: q.status } : {}), limit: q.limit ?? 200 });
    return rows.map(toShipment);
  }

  /** GET /api/shipments/:id — another organisation's answers 404. */
  async get(p: Principal, id: string): Promise<Shipment> {
    policy.requireOrgKind(p, 'forwarder', 'platform');
    const row = await findShipment(this.db, id);
    if (!row || !policy.canSeePrivate(p, [row.forwarder_org_id])) throw notFound('shipment');
    return toShipment(row);
  }

  /**
   * PATCH /api/shipments/:id — changes a pooled or unplaced shipment (then pooled again, version + 1). Refused with
   * 409 `shipment_state_changed` (nothing changed) when it is in another status or no longer at `expectVersion`;
   * the changed terms are checked as a new shipment's (400). A change that changes nothing answers the shipment as is.
   */
  async change(p: Principal, id: string, input: ShipmentChangeBody, now = new Date()): Promise<Shipment> {
    policy.requireOrgKind(p, 'forwarder');
    const result = await inTransaction(this.db, async (tx) => {
      const row = await lockShipmentOfOrg(tx, id, p.orgId);
      if (!row) throw notFound('shipment');
      if (input.expectVersion !== undefined && input.expectVersion !== row.version) {
        throw stateChanged(row, `this shipment is at version ${row.version}, not ${input.expectVersion}: nothing was changed`);
      }
      if (!CHANGEABLE_STATUSES.includes(row.status)) {
        throw stateChanged(row, `this shipment is ${row.status}: only a pooled, unplaced or proposed shipment can be changed`);
      }
      if (row.status === 'proposed' && (await beingAccepted(tx, id))) throw stateChanged(row, 'its proposal is being accepted: the shipment is being booked');
      const current = (await findShipment(tx, id))!;
      const terms: Terms = {
        from: input.from ?? current.from_code,
        to: input.to ?? current.to_code,
        teu: input.teu ?? row.teu,
        tonnes: input.tonnes ?? row.tonnes,
        readyAt: input.readyAt ?? row.ready_at.toISOString(),
        deliverBy: input.deliverBy ?? row.deliver_by.toISOString(),
        maxTotalCents: input.maxTotalCents ?? Number(row.max_total_cents),
        modes: input.modes ? normaliseModes(input.modes) : ALL_MODES.filter((m) => row.modes.includes(m)),
      };
      const checked = await checkTerms(tx, terms, now);
      const next = {
        from_cluster_id: checked.fromId, to_cluster_id: checked.toId, teu: terms.teu, tonnes: terms.tonnes, ready_at: checked.readyAt,
        deliver_by: checked.deliverBy, max_total_cents: terms.maxTotalCents, modes: terms.modes, consolidate: input.consolidate ?? row.consolidate,
        reference: input.reference === undefined ? row.reference : input.reference,
      };
      const changed = Object.entries(next).filter(([k, v]) => !same(v, row[k as keyof typeof next])).map(([k]) => k);
      if (changed.length === 0) return { body: toShipment(current), changed: false };
      // until it is in an accepted plan: a proposed shipment's open proposal no longer applies
      if (row.status === 'proposed') await closeProposalOf(tx, id, 'superseded', now, 'the shipment was changed');
      const updated = await updateShipment(tx, id, { ...next, status: 'pooled', updated_at: now });
      await audit(tx, p, 'shipment.change', { type: 'shipment', id }, { changed, fromStatus: row.status, version: updated.version });
      return { body: toShipment(updated), changed: true };
    });
    if (result.changed) this.told({ kind: 'shipment', shipmentId: id, orgId: p.orgId, status: result.body.status });
    return result.body;
  }

  /**
   * DELETE /api/shipments/:id — withdraws a pooled, unplaced or proposed shipment (its proposal, if any, goes
   * stale). Once booked, or already withdrawn: 409 `shipment_state_changed`, nothing changed.
   */
  async withdraw(p: Principal, id: string, expectVersion?: number, now = new Date()): Promise<Shipment> {
    policy.requireOrgKind(p, 'forwarder');
    const body = await inTransaction(this.db, async (tx) => {
      const row = await lockShipmentOfOrg(tx, id, p.orgId);
      if (!row) throw notFound('shipment');
      if (expectVersion !== undefined && expectVersion !== row.version) {
        throw stateChanged(row, `this shipment is at version ${row.version}, not ${expectVersion}: nothing was changed`);
      }
      if (!WITHDRAWABLE_STATUSES.includes(row.status)) {
        throw stateChanged(row, row.status === 'booked'
          ? 'this shipment is booked: cancel its itinerary instead'
          : `this shipment is already ${row.status}`);
      }
      if (row.status === 'proposed') {
        if (await beingAccepted(tx, id)) throw stateChanged(row, 'its proposal is being accepted: the shipment is being booked');
        await closeProposalOf(tx, id, 'stale', now, 'the shipment was withdrawn');
      }
      const updated = await updateShipment(tx, id, { status: 'withdrawn', updated_at: now });
      await audit(tx, p, 'shipment.withdraw', { type: 'shipment', id }, { fromStatus: row.status, version: updated.version });
      return toShipment(updated);
    });
    this.told({ kind: 'shipment', shipmentId: id, orgId: p.orgId, status: body.status });
    return body;
  }
}

/** Modes as a set, in a fixed order (default: both). */
function normaliseModes(modes: Mode[] | undefined): Mode[] {
  const set = new Set(modes ?? ALL_MODES);
  return ALL_MODES.filter((m) => set.has(m));
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b);
  return a === b;
}

function toCosts(r: DepartureCostsRow): OperatingCosts {
  return {
    departureId: r.id,
    fixedCostCents: r.fixed_cost_cents === null ? null : Number(r.fixed_cost_cents),
    variableCostCentsPerTeu: r.variable_cost_cents_per_teu,
    minLoadTeu: r.min_load_teu,
    capacityTeu: r.capacity_teu,
  };
}

/**
 * Operators state what running a departure costs (a fixed amount per run, an amount per TEU carried) and the load
 * below which they would rather cancel or merge it (`min_load_teu`, also the stats' "at risk" threshold). These
 * are the operator's commercial figures: only its operator (and the platform) reads or states them; any other
 * organisation gets 404 for them, as for a departure that does not exist.
 */
export class OperatingCostsService {
  constructor(
    private readonly db: Db,
    private readonly opts: PoolOptions = {},
  ) {}

  private visible(p: Principal, r: DepartureCostsRow | undefined): r is DepartureCostsRow {
    return !!r && (p.orgKind === 'platform' || r.operator_org_id === p.orgId);
  }

  /** GET /api/departures/:id/operating-costs */
  async get(p: Principal, departureId: string): Promise<OperatingCosts> {
    policy.requireOrgKind(p, 'operator', 'platform');
    const r = await departureCosts(this.db, departureId);
    if (!this.visible(p, r)) throw notFound('departure');
    return toCosts(r);
  }

  /** PUT /api/departures/:id/operating-costs — 400 `invalid_min_load` above capacity; 409 once cancelled. */
  async set(p: Principal, departureId: string, input: OperatingCostsBody, now = new Date()): Promise<OperatingCosts> {
    policy.requireOrgKind(p, 'operator', 'platform');
    const body = await inTransaction(this.db, async (tx) => {
      const r = await lockDepartureCosts(tx, departureId);
      if (!this.visible(p, r)) throw notFound('departure');
      if (input.minLoadTeu > r.capacity_teu) throw badRequest('invalid_min_load', `minLoadTeu must be at most the departure's capacityTeu (${r.capacity_teu})`);
      if (r.status !== 'scheduled') throw conflict('departure_cancelled', 'this departure is cancelled');
      const updated = await setOperatingCosts(tx, departureId, input, now);
      await audit(tx, p, 'departure.operating_costs', { type: 'departure', id: departureId }, {
        ...input, before: { fixedCostCents: r.fixed_cost_cents, variableCostCentsPerTeu: r.variable_cost_cents_per_teu, minLoadTeu: r.min_load_teu },
      });
      return { costs: toCosts(updated), operatorOrgId: updated.operator_org_id };
    });
    try {
      this.opts.onPoolChange?.({ kind: 'operating-costs', departureId, operatorOrgId: body.operatorOrgId });
    } catch {
      // a listener's failure never fails the request
    }
    return body.costs;
  }
}
