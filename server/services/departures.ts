import type { Db } from '../adapters/db/db.ts';
import { inTransaction } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import { corridorExists, departuresOfScope, findDeparture, insertDeparture } from '../adapters/db/departures-repo.ts';
import { MIN_TONNES_PER_TEU } from '../core/capacity.ts';
import { badRequest } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import type { Departure } from '../domain/schemas/network.ts';
import type { NewDepartureBody } from '../domain/schemas/trade.ts';
import { departureAt } from './network.ts';

const DAY_MS = 86_400_000;

/** Operators publish departures (the runs their capacity is sold on) and watch their load. */
export class DeparturesService {
  constructor(private readonly db: Db) {}

  /** POST /api/departures — a new departure of the operator's, on an existing corridor. */
  async create(p: Principal, input: NewDepartureBody, now = new Date()): Promise<Departure> {
    policy.requireOrgKind(p, 'operator');
    const departsAt = new Date(input.departsAt);
    const arrivesAt = new Date(input.arrivesAt);
    const cutoffAt = new Date(input.cutoffAt);
    if (!(cutoffAt <= departsAt)) throw badRequest('invalid_times', 'cutoffAt must be at or before departsAt');
    if (!(departsAt < arrivesAt)) throw badRequest('invalid_times', 'arrivesAt must be after departsAt');
    if (cutoffAt <= now) throw badRequest('invalid_times', 'cutoffAt must be in the future');
    if (departsAt.getTime() - now.getTime() > 366 * DAY_MS) throw badRequest('invalid_times', 'departsAt must be within a year');
    if (arrivesAt.getTime() - departsAt.getTime() > 30 * DAY_MS) throw badRequest('invalid_times', 'a run lasts at most 30 days');
    if (input.capacityTonnes < input.capacityTeu * MIN_TONNES_PER_TEU) {
      throw badRequest('invalid_capacity', `capacityTonnes must be at least ${MIN_TONNES_PER_TEU} t per TEU (${input.capacityTeu * MIN_TONNES_PER_TEU} t)`);
    }
    if (input.minLoadTeu !== undefined && input.minLoadTeu > input.capacityTeu) {
      throw badRequest('invalid_min_load', `minLoadTeu must be at most capacityTeu (${input.capacityTeu})`);
    }
    if (!(await corridorExists(this.db, input.corridorId))) throw badRequest('unknown_corridor', 'no corridor with this id');
    const id = await inTransaction(this.db, async (tx) => {
      const id = await insertDeparture(tx, {
        corridor_id: input.corridorId,
        operator_org_id: p.orgId,
        asset_name: input.assetName.trim(),
        departs_at: departsAt,
        arrives_at: arrivesAt,
        cutoff_at: cutoffAt,
        capacity_teu: input.capacityTeu,
        capacity_tonnes: input.capacityTonnes,
        reefer_plugs: input.reeferPlugs ?? 0,
        dangerous_goods: input.dangerousGoods ?? false,
        // left out: the database fills in ceil(40 % of capacity) (migration 20261203T1300)
        ...(input.minLoadTeu !== undefined ? { min_load_teu: input.minLoadTeu } : {}),
      });
      await audit(tx, p, 'departure.create', { type: 'departure', id }, { ...input });
      return id;
    });
    return departureAt((await findDeparture(this.db, id, now))!, now);
  }

  /** GET /api/operator/departures — the operator console: my departures (from a day ago on) with their load. */
  async ofOperator(p: Principal, now = new Date()): Promise<Departure[]> {
    policy.requireOrgKind(p, 'operator', 'platform');
    const rows = await departuresOfScope(this.db, policy.scopeOf(p), new Date(now.getTime() - DAY_MS), now);
    return rows.map((r) => departureAt(r, now));
  }
}
