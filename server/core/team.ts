/**
 * The rules of an organisation's team, pure: a change of a member's role or access is refused when it would leave
 * the organisation without an enabled admin (nobody could then manage its people, keys and webhooks), and a change
 * that takes rights away (a new role, access withdrawn) ends the member's sessions, so it applies at once
 * everywhere instead of when a cached session next expires.
 */

/** A member's role (the domain's `Role`; the core depends on nothing above it). */
export type Role = 'admin' | 'member';

export interface TeamMember {
  userId: string;
  role: Role;
  disabled: boolean;
}

export interface MemberChange {
  role?: Role;
  disabled?: boolean;
}

export type MemberChangeDecision =
  | { ok: true; member: TeamMember; changed: boolean; endSessions: boolean }
  | { ok: false; code: 'not_found' | 'last_admin'; message: string };

const enabledAdmins = (ms: readonly TeamMember[]) => ms.filter((m) => m.role === 'admin' && !m.disabled).length;

export function decideMemberChange(members: readonly TeamMember[], userId: string, change: MemberChange): MemberChangeDecision {
  const before = members.find((m) => m.userId === userId);
  if (!before) return { ok: false, code: 'not_found', message: 'member not found' };
  const member: TeamMember = { userId, role: change.role ?? before.role, disabled: change.disabled ?? before.disabled };
  const after = members.map((m) => (m.userId === userId ? member : m));
  if (enabledAdmins(after) === 0 && enabledAdmins(members) > 0) {
    return { ok: false, code: 'last_admin', message: 'the organisation needs at least one enabled admin: make someone else admin first' };
  }
  const changed = member.role !== before.role || member.disabled !== before.disabled;
  return { ok: true, member, changed, endSessions: member.role !== before.role || (member.disabled && !before.disabled) };
}
