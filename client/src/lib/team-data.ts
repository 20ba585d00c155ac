/** Team page data (README "Team, keys and audit"): the API's shapes and plain helpers, no state. */

export type Role = 'admin' | 'member';

export interface Member {
  userId: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  memberSince: string;
  lastSignInAt: string | null;
}

export interface MemberAdded extends Member {
  temporaryPassword: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  role: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface ApiKeyCreated extends ApiKey {
  key: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  action: string;
  entityType: string;
  entityId: string | null;
  actor: { kind: 'user' | 'apiKey' | 'system'; userId: string | null; apiKeyId: string | null; name: string | null };
  ip: string | null;
  data: Record<string, unknown> | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  next: string | null;
}

/** What the audit log can be narrowed to (the API's `action`: one action or a prefix ending in a dot). */
export const AUDIT_FILTERS = [
  { value: '', label: 'Everything' },
  { value: 'session.', label: 'Sign-ins and sign-outs' },
  { value: 'member.', label: 'Team changes' },
  { value: 'user.', label: 'Password changes' },
  { value: 'api_key.', label: 'API keys' },
  { value: 'webhook.', label: 'Webhooks' },
  { value: 'booking.', label: 'Bookings' },
  { value: 'hold.', label: 'Holds' },
] as const;

const ACTIONS: Record<string, string> = {
  'session.sign_in': 'signed in',
  'session.sign_out': 'signed out',
  'member.add': 'added a member',
  'member.update': 'changed a member',
  'user.password_change': 'changed their password',
  'api_key.create': 'created an API key',
  'api_key.revoke': 'revoked an API key',
};

/** A sentence for an audit entry's action: known ones in words, the rest as the action itself (`hold.create`). */
export function actionLabel(action: string): string {
  return ACTIONS[action] ?? action.replace(/_/g, ' ');
}

/** Who did it, in words. */
export function actorLabel(e: AuditEntry): string {
  if (e.actor.kind === 'apiKey') return `API key ${e.actor.name ?? ''}`.trim();
  if (e.actor.kind === 'user') return e.actor.name ?? 'a member';
  return 'the platform';
}

/** What changed in a member update, in words (`role → admin, access withdrawn`). */
export function detailLabel(e: AuditEntry): string {
  const d = e.data ?? {};
  const parts: string[] = [];
  if (typeof d.email === 'string') parts.push(d.email);
  if (typeof d.role === 'string') parts.push(`role ${d.role}`);
  if (d.disabled === true) parts.push('access withdrawn');
  if (d.disabled === false) parts.push('access restored');
  if (typeof d.name === 'string') parts.push(d.name);
  if (typeof d.sessionsEnded === 'number' && d.sessionsEnded > 0) parts.push(`${d.sessionsEnded} session${d.sessionsEnded === 1 ? '' : 's'} ended`);
  return parts.join(', ');
}

/** Client-side checks of the add-member form (the server checks again). */
export function checkMemberForm(f: { name: string; email: string }): Partial<Record<'name' | 'email', string>> {
  const errors: Partial<Record<'name' | 'email', string>> = {};
  if (!f.name.trim()) errors.name = 'Enter the person’s name.';
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(f.email.trim())) errors.email = 'Enter an e-mail address, e.g. name@company.eu.';
  return errors;
}

/** Client-side checks of the password form (the server asks for at least 12 characters). */
export function checkPasswordForm(f: { current: string; next: string; repeat: string }): Partial<Record<'current' | 'next' | 'repeat', string>> {
  const errors: Partial<Record<'current' | 'next' | 'repeat', string>> = {};
  if (!f.current) errors.current = 'Enter your current password.';
  if (f.next.length < 12) errors.next = 'Use at least 12 characters.';
  else if (f.next === f.current) errors.next = 'Choose a password different from the current one.';
  if (f.repeat !== f.next) errors.repeat = 'The two new passwords differ.';
  return errors;
}
