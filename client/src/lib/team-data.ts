/** Team page data (README "Team, keys and audit"): the API's shapes and plain helpers, no state. */
import { fmtMoney } from './format.ts';

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
  /** to the minute; null or absent (a key just created): never used */
  lastUsedAt?: string | null;
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
  { value: 'listing.', label: 'Listings' },
  { value: 'departure.', label: 'Departures' },
  { value: 'offer.', label: 'Re-offers' },
  { value: 'proposal.', label: 'Proposals' },
] as const;

const ACTIONS: Record<string, string> = {
  'session.sign_in': 'signed in',
  'session.sign_in_failed': 'failed to sign in',
  'session.sign_out': 'signed out',
  'member.add': 'added a member',
  'member.update': 'changed a member',
  'member.reset_password': "reset a member's password",
  'user.password_change': 'changed their password',
  'api_key.create': 'created an API key',
  'api_key.revoke': 'revoked an API key',
  'webhook.create': 'added a webhook endpoint',
  'webhook.update': 'changed a webhook endpoint',
  'webhook.delete': 'deleted a webhook endpoint',
  'webhook.disable': 'disabled a failing webhook endpoint',
  'webhook.redeliver': 'redelivered a webhook event',
  'webhook.rotate_secret': "rotated a webhook endpoint's secret",
  'hold.create': 'held capacity',
  'hold.cancel': 'released a hold',
  'hold.expire': 'let a hold expire',
  'booking.confirm': 'confirmed a booking',
  'booking.cancel': 'cancelled a booking',
  'booking.no_show': 'marked a booking as a no-show',
  'itinerary.hold': 'held an itinerary',
  'itinerary.confirm': 'booked an itinerary',
  'itinerary.cancel': 'cancelled an itinerary',
  'departure.create': 'published a departure',
  'departure.derate': 'derated a departure (low water)',
  'departure.merge': 'merged a departure into another',
  'departure.operating_costs': 'set operating costs',
  'listing.create': 'listed capacity',
  'listing.cancel': 'withdrew a listing',
  'auction.close': 'closed an auction',
  'bid_group.place': 'placed a bid group',
  'bid_group.won': 'won with a bid group',
  'offer.create': 'offered freed capacity',
  'offer.accept': 'accepted an offer of freed capacity',
  'offer.chain': 'started re-offering freed capacity',
  'offer.return': 'returned unclaimed capacity to sale',
  'shipment.create': 'pooled a shipment',
  'shipment.change': 'changed a pooled shipment',
  'shipment.withdraw': 'withdrew a pooled shipment',
  'proposal.accept': 'accepted a proposal',
  'proposal.decline': 'declined a proposal',
  'proposal.merge.accept': 'accepted a merge',
  'proposal.merge.consent': 'consented to a merge',
  'proposal.merge.decline': 'declined a merge',
  'watch.create': 'started watching a route',
  'watch.delete': 'stopped watching a route',
  'ledger.settle': 'settled a booking',
  'ledger.refund': 'refunded a cancellation',
  'ledger.pool_rebate': 'paid a pool share',
};

/** A sentence for an audit entry's action: known ones in words, the rest as the action itself (`hold create`). */
export function actionLabel(action: string): string {
  return ACTIONS[action] ?? action.replace(/[._]/g, ' ');
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
  // trading entries: what it was about, and its size and money
  if (parts.length === 0 && e.entityId && e.entityType !== 'user' && e.entityType !== 'organisation') parts.push(`${e.entityType.replace(/_/g, ' ')} #${e.entityId.slice(0, 8)}`);
  if (typeof d.teu === 'number') parts.push(`${d.teu} TEU`);
  const cents = (k: string) => (typeof d[k] === 'number' ? fmtMoney(d[k]) : null);
  for (const [k, label] of [['unitPriceCents', 'per TEU'], ['feeCents', 'fee'], ['amountCents', ''], ['clearingPriceCents', 'cleared']] as const) {
    const v = cents(k);
    if (v) parts.push(label ? `${v} ${label}` : v);
  }
  if (typeof d.reason === 'string') parts.push(d.reason.replace(/_/g, ' '));
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
