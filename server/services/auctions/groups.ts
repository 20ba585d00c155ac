import { audit } from '../../adapters/db/audit.ts';
import { groupsOfOrg, insertBidGroup, type BidGroupRow } from '../../adapters/db/bid-groups-repo.ts';
import type { Db, Tx } from '../../adapters/db/db.ts';
import { databaseNow } from '../../adapters/db/listings-repo.ts';
import { groupShapeProblem } from '../../core/bid-groups.ts';
import { badRequest, notFound } from '../../domain/errors.ts';
import { policy, type Principal } from '../../domain/principal.ts';
import type { BidGroup, BidGroupPlaced, NewBidGroupBody } from '../../domain/schemas/bid-groups.ts';
import type { Bidding } from './bidding.ts';

type GroupWithBids = Awaited<ReturnType<typeof groupsOfOrg>>[number];

/**
 * Either-or bids (rule: server/core/bid-groups.ts). A forwarder places 2–5 new bids on different auction
 * listings as one group, of which at most one may win. Placing goes through the single bids' write path
 * ({@link Bidding.placeGroup}: every bid decided exactly as a single bid, all or none kept); the close decides
 * the group (./group-close.ts). A group is made of the new bids of one request by one organisation only: it
 * cannot adopt existing bids — its own or anyone else's — so a group across forwarders cannot be expressed
 * (a body naming a bid or group id is refused, 400, by the schema).
 */
export class BidGroups {
  constructor(
    private readonly db: Db,
    private readonly bidding: Bidding,
  ) {}

  /** POST /api/bid-groups */
  async place(p: Principal, body: NewBidGroupBody): Promise<BidGroupPlaced> {
    policy.requireOrgKind(p, 'forwarder');
    const problem = groupShapeProblem(body.bids.map((b) => b.listingId));
    if (problem) throw badRequest('invalid_bid_group', problem);
    const insertGroup = async (tx: Tx) => {
      const now = await databaseNow(tx);
      const g = await insertBidGroup(tx, { orgId: p.orgId, userId: p.userId, now });
      await audit(tx, p, 'bid_group.place', { type: 'bid_group', id: g.id }, { listingIds: body.bids.map((b) => b.listingId) });
      return g.id;
    };
    const out = await this.bidding.placeGroup(p, body.bids, insertGroup);
    return {
      id: out.groupId,
      status: 'open',
      bids: out.answers.map((a, i) => ({ ...a, listingId: body.bids[i]!.listingId })),
    };
  }

  /** GET /api/bid-groups — the caller's organisation's groups, newest first. */
  async list(p: Principal): Promise<BidGroup[]> {
    policy.requireOrgKind(p, 'forwarder');
    return (await groupsOfOrg(this.db, p.orgId)).map(toBidGroup);
  }

  /** GET /api/bid-groups/:id — another organisation's group answers 404. */
  async get(p: Principal, id: string): Promise<BidGroup> {
    policy.requireOrgKind(p, 'forwarder');
    const [g] = await groupsOfOrg(this.db, p.orgId, id);
    if (!g) throw notFound('bid group');
    return toBidGroup(g);
  }
}

function toBidGroup(g: BidGroupRow & GroupWithBids): BidGroup {
  return {
    id: g.id,
    status: g.status,
    createdAt: g.created_at.toISOString(),
    ...(g.decided_at ? { decidedAt: g.decided_at.toISOString() } : {}),
    ...(g.won_bid_id ? { wonBidId: g.won_bid_id } : {}),
    bids: g.bids.map((b) => {
      const close = b.max_close_at && b.closes_at && b.max_close_at < b.closes_at ? b.max_close_at : b.closes_at;
      return {
        id: b.id, listingId: b.listing_id, status: b.status, teu: b.teu, unitPriceCents: b.unit_price_cents, allOrNothing: b.all_or_nothing,
        ...(b.awarded_teu !== null ? { awardedTeu: b.awarded_teu } : {}),
        format: b.format, listingStatus: b.listing_status, ...(close ? { closesAt: close.toISOString() } : {}),
        departureId: b.departure_id, departsAt: b.departs_at.toISOString(), corridorId: b.corridor_id, mode: b.mode,
      };
    }),
  };
}
