import type { OrgKind, Role } from '../adapters/db/schema.ts';
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
};
