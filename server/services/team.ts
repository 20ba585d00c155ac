import { randomBytes } from 'node:crypto';
import { inTransaction, type Db } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import {
  auditOfOrg,
  emailTaken,
  insertMember,
  memberOfOrg,
  membersOfOrg,
  passwordHashOf,
  revokeSessionsOfUser,
  setMemberRole,
  setUserDisabled,
  setUserPasswordHash,
} from '../adapters/db/members-repo.ts';
import { credentialsUnchanged } from '../adapters/db/users-repo.ts';
import { sessionLive } from '../adapters/db/sessions-repo.ts';
import { normalizeEmail } from '../core/identity.ts';
import { decideMemberChange } from '../core/team.ts';
import { pageOf } from '../core/paging.ts';
import { AppError, badRequest, conflict, notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import type { AddMemberBody, AuditEntry, AuditPage, AuditQuery, ChangePasswordBody, Member, MemberAdded, MemberPasswordReset, UpdateMemberBody } from '../domain/schemas/team.ts';
import { lockTeamAsAdmin } from './admin-guard.ts';
import type { AuthService } from './auth.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

/** A temporary password: 15 random bytes (120 bits), URL-safe text. */
const newTemporaryPassword = () => randomBytes(15).toString('base64url');

/** One @, something on each side, a dot in the domain, no whitespace: the rest is the mail system's business. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

type MemberRow = NonNullable<Awaited<ReturnType<typeof memberOfOrg>>>;

const memberOf = (r: MemberRow): Member => ({
  userId: r.id,
  email: r.email,
  name: r.name,
  role: r.role,
  disabled: r.disabled_at !== null,
  memberSince: r.created_at.toISOString(),
  lastSignInAt: r.last_sign_in_at ? new Date(r.last_sign_in_at).toISOString() : null,
});

type AuditRow = Awaited<ReturnType<typeof auditOfOrg>>[number];

const entryOf = (r: AuditRow): AuditEntry => ({
  id: r.id,
  at: r.at.toISOString(),
  action: r.action,
  entityType: r.entity_type,
  entityId: r.entity_id,
  actor: r.api_key_id
    ? { kind: 'apiKey', userId: null, apiKeyId: r.api_key_id, name: r.key_name ?? null }
    : r.actor_user_id
      ? { kind: 'user', userId: r.actor_user_id, apiKeyId: null, name: r.user_name ?? r.user_email ?? null }
      : { kind: 'system', userId: null, apiKeyId: null, name: null },
  ip: r.ip,
  data: r.data && typeof r.data === 'object' && !Array.isArray(r.data) ? (r.data as Record<string, unknown>) : null,
});

/**
 * An organisation's people (its admins add members with a one-time password, change roles, withdraw access)
 * and its audit log; every person changes their own password. Rules in server/core/team.ts; sessions a change
 * ends are cut on every server through the auth service.
 */
export class TeamService {
  constructor(
    private readonly db: Db,
    private readonly auth: AuthService,
  ) {}

  async members(p: Principal): Promise<Member[]> {
    policy.requireAdmin(p);
    return (await membersOfOrg(this.db, p.orgId)).map(memberOf);
  }

  /** A new member of the caller's organisation; the temporary password is returned once (stored as argon2id). */
  async addMember(p: Principal, body: AddMemberBody, ip?: string): Promise<MemberAdded> {
    policy.requireAdmin(p);
    const email = normalizeEmail(body.email);
    if (!EMAIL.test(email)) throw badRequest('invalid_email', 'this is not an e-mail address');
    const name = body.name.trim();
    if (!name) throw badRequest('invalid_name', 'name must not be blank');
    if (await emailTaken(this.db, email)) throw conflict('email_taken', 'a user with this e-mail exists already');
    const temporaryPassword = newTemporaryPassword();
    const passwordHash = await hashPassword(temporaryPassword);
    const role = body.role ?? 'member';
    const id = await inTransaction(this.db, async (tx) => {
      await lockTeamAsAdmin(tx, p);
      const user = await insertMember(tx, { email, name, passwordHash, orgId: p.orgId, role });
      if (!user) return null;
      await audit(tx, p, 'member.add', { type: 'user', id: user.id }, { email, role }, ip);
      return user.id;
    });
    if (!id) throw conflict('email_taken', 'a user with this e-mail exists already');
    const row = await memberOfOrg(this.db, p.orgId, id);
    return { ...memberOf(row!), temporaryPassword };
  }

  /** Changes a member's role or access; refused (409 `last_admin`) when no enabled admin would be left. */
  async updateMember(p: Principal, userId: string, change: UpdateMemberBody, ip?: string): Promise<Member> {
    policy.requireAdmin(p);
    const ended = await inTransaction(this.db, async (tx) => {
      const locked = await lockTeamAsAdmin(tx, p);
      const team = locked.map((m) => ({ userId: m.user_id, role: m.role, disabled: m.disabled_at !== null }));
      const d = decideMemberChange(team, userId, change);
      if (!d.ok) throw d.code === 'not_found' ? notFound('member') : conflict(d.code, d.message);
      if (!d.changed) return [];
      const before = team.find((m) => m.userId === userId)!;
      if (d.member.role !== before.role) await setMemberRole(tx, p.orgId, userId, d.member.role);
      if (d.member.disabled !== before.disabled) await setUserDisabled(tx, userId, d.member.disabled ? new Date() : null);
      const sessions = d.endSessions ? await revokeSessionsOfUser(tx, userId, new Date()) : [];
      await audit(tx, p, 'member.update', { type: 'user', id: userId }, { ...change, sessionsEnded: sessions.length }, ip);
      return sessions;
    });
    this.auth.sessionsEnded(ended);
    const row = await memberOfOrg(this.db, p.orgId, userId);
    if (!row) throw notFound('member');
    return memberOf(row);
  }

  /**
   * A member who forgot their password gets a new temporary one from an admin (returned once); their sessions end.
   * Not for the admin's own account (that is "your password", which asks for the current one), nor for another
   * admin's (409 `member_is_admin`: a reset would hand one admin another's identity).
   */
  async resetPassword(p: Principal, userId: string, ip?: string): Promise<MemberPasswordReset> {
    policy.requireAdmin(p);
    if (userId === p.userId) throw badRequest('own_password', 'change your own password with your current one (POST /api/me/password)');
    if (!(await memberOfOrg(this.db, p.orgId, userId))) throw notFound('member');
    const temporaryPassword = newTemporaryPassword();
    const hash = await hashPassword(temporaryPassword);
    const ended = await inTransaction(this.db, async (tx) => {
      // the membership (and the caller's rights) are checked again under the lock: neither can have changed meanwhile
      const team = await lockTeamAsAdmin(tx, p);
      const target = team.find((m) => m.user_id === userId);
      if (!target) return null;
      // another admin's account is not taken over with a reset: make them a member first (which is audited and
      // signs them out), then reset
      if (target.role === 'admin') throw conflict('member_is_admin', 'an admin’s password is not reset by another admin: make them a member first');
      await setUserPasswordHash(tx, userId, hash);
      const sessions = await revokeSessionsOfUser(tx, userId, new Date());
      await audit(tx, p, 'member.reset_password', { type: 'user', id: userId }, { sessionsEnded: sessions.length }, ip);
      return sessions;
    });
    if (!ended) throw notFound('member');
    this.auth.sessionsEnded(ended);
    return { userId, temporaryPassword };
  }

  /** A person sets a new password (the current one first); their other sessions end, this one stays. */
  async changePassword(p: Principal, body: ChangePasswordBody, ip?: string): Promise<void> {
    if (!p.userId || !p.sessionId) throw new AppError(403, 'forbidden', 'only a signed-in person has a password (not an API key)');
    const row = await passwordHashOf(this.db, p.userId);
    if (!(await verifyPassword(row?.password_hash ?? null, body.currentPassword))) throw badRequest('wrong_password', 'the current password is wrong');
    if (body.newPassword === body.currentPassword) throw badRequest('same_password', 'the new password must differ from the current one');
    const hash = await hashPassword(body.newPassword);
    const ended = await inTransaction(this.db, async (tx) => {
      // argon2 ran outside: a reset, a withdrawal or a sign-out committed meanwhile must win. The user's row is locked
      // and must still have the password that was checked; the session making the change must still be live.
      const still = (await credentialsUnchanged(tx, p.userId!, row!.password_hash)) && (await sessionLive(tx, p.sessionId!, new Date()));
      if (!still) throw new AppError(401, 'unauthorized', 'your password or session changed meanwhile; sign in again');
      await setUserPasswordHash(tx, p.userId!, hash);
      const sessions = await revokeSessionsOfUser(tx, p.userId!, new Date(), p.sessionId);
      await audit(tx, p, 'user.password_change', { type: 'user', id: p.userId }, { sessionsEnded: sessions.length }, ip);
      return sessions;
    });
    this.auth.sessionsEnded(ended);
  }

  /** A page of what the organisation's people and keys did, newest first (keyset paging: `next` → `before`). */
  async auditLog(p: Principal, q: AuditQuery): Promise<AuditPage> {
    policy.requireAdmin(p);
    const limit = q.limit ?? 50;
    const [us, id] = q.before ? q.before.split('.').map(Number) : [];
    const rows = await auditOfOrg(this.db, p.orgId, { limit: limit + 1, ...(q.before ? { before: { atUs: us!, id: id! } } : {}), ...(q.action ? { action: q.action } : {}) });
    const { items, next } = pageOf(rows, limit, (last) => `${last.at_us}.${last.id}`, entryOf);
    return { entries: items, next };
  }
}
