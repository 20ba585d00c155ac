import type { OrgKind, Role } from './enums.ts';
import { AppError, forbidden } from './errors.ts';

/** Who is acting: a signed-in person (session) or a machine (API key). */
export interface Principal {
  kind: 'session' | 'apiKey';
  userId: string | null;
  email: string | null;
  name: string | null;
  orgId: string;
  orgName: string;
  orgKind: OrgKind;
  role: Role;
  sessionId?: string;
  csrfToken?: string;
  /** When the session ends (ms since the epoch): live connections are cut then. */
  sessionExpiresAt?: number;
  apiKeyId?: string;
}

/**
 * Every permission rule lives here, so that routes, services and socket handlers ask one place.
 * Each returns nothing or throws 403.
 */
export const policy = {
  requireOrgKind(p: Principal, ...kinds: OrgKind[]): void {
    if (!kinds.includes(p.orgKind)) throw forbidden(`only ${kinds.join(' or ')} organisations may do this`);
  },
  requireAdmin(p: Principal): void {
    if (p.role !== 'admin') throw forbidden('only an organisation admin may do this');
  },
  /** Operators act only on their own departures; the platform may act on any. */
  requireOperatorOf(p: Principal, operatorOrgId: string): void {
    if (p.orgKind === 'platform') return;
    if (p.orgKind !== 'operator' || p.orgId !== operatorOrgId) throw forbidden('this departure belongs to another operator');
  },
  /** May `p` see a tenant-private resource owned by `ownerOrgIds`? Hidden resources answer 404, not 403. */
  canSeePrivate(p: Principal, ownerOrgIds: (string | null | undefined)[]): boolean {
    return p.orgKind === 'platform' || ownerOrgIds.includes(p.orgId);
  },
  requireSeePrivate(p: Principal, ownerOrgIds: (string | null | undefined)[], what: string): void {
    if (!policy.canSeePrivate(p, ownerOrgIds)) throw new AppError(404, 'not_found', `${what} not found`);
  },
  /** The platform acts for every organisation (support, operations); no one else does. */
  actsForAll(p: Principal): boolean {
    return p.orgKind === 'platform';
  },
  /**
   * Which rows of a tenant-private list `p` may see: all (platform), those on its own departures
   * (operator), or its own organisation's (forwarder, scheduler). Repositories turn this into a filter.
   */
  scopeOf(p: Principal): Scope {
    if (p.orgKind === 'platform') return { kind: 'all' };
    if (p.orgKind === 'operator') return { kind: 'operator', orgId: p.orgId };
    return { kind: 'own', orgId: p.orgId };
  },
  /** The platform and the listing's operator see every bid of an auction; bidders see only their own. */
  seesAllBids(p: Principal, operatorOrgId: string): boolean {
    return p.orgKind === 'platform' || (p.orgKind === 'operator' && p.orgId === operatorOrgId);
  },
  /** Forwarders bid; on an auction they see their own bids marked. Null for everyone else. */
  bidderOrgOf(p: Principal): string | null {
    return p.orgKind === 'forwarder' ? p.orgId : null;
  },
};

/** See `policy.scopeOf`. */
export type Scope = { kind: 'all' } | { kind: 'operator'; orgId: string } | { kind: 'own'; orgId: string };
