/**
 * The pure part of the Webhooks page (issue 15; ../shared/API.md "Webhooks"): the event types an endpoint may
 * subscribe to, the form's checks and body, which field an API 400 belongs to, and the words for an endpoint's
 * state and a delivery's status (text, never colour alone). No state, no requests: tested in
 * test/unit/client-webhooks.test.ts.
 */
import type { OrgKind } from '../../../server/domain/enums.ts';
import type { NewWebhookBody, Webhook, WebhookDelivery, WebhookEventType } from './types.ts';

/**
 * The event types of server/core/webhooks.ts `WEBHOOK_EVENT_TYPES` (that module uses node:crypto, so its value
 * cannot be bundled): the compiler checks that this list names every one of them, and the unit test that it is the
 * same list in the same order.
 */
export const EVENT_TYPES = [
  'booking.confirmed',
  'booking.cancelled',
  'hold.expired',
  'auction.won',
  'auction.lost',
  'auction.closed',
  'invoice.issued',
  'offer.created',
  'departure.derated',
  'proposal.created',
  'watch.matched',
] as const satisfies readonly WebhookEventType[];
type Missing = Exclude<WebhookEventType, (typeof EVENT_TYPES)[number]>;
/** fails to compile when the server knows an event type this list lacks */
export const EVENT_TYPES_COMPLETE: [Missing] extends [never] ? true : never = true;


/**
 * Who receives each event type: a forwarder's endpoint offered `auction.closed` (an operator's listing result) or an
 * operator's offered `auction.won` would never hear anything — an operator walking the Webhooks page found the list
 * worded for forwarders only. Schedulers and the platform receive none (the page says so instead of a form).
 */
export const EVENT_RECEIVERS: Record<WebhookEventType, readonly OrgKind[]> = {
  'booking.confirmed': ['forwarder', 'operator'],
  'booking.cancelled': ['forwarder', 'operator'],
  'hold.expired': ['forwarder'],
  'auction.won': ['forwarder'],
  'auction.lost': ['forwarder'],
  'auction.closed': ['operator'],
  'invoice.issued': ['forwarder', 'operator'],
  'offer.created': ['forwarder'],
  'departure.derated': ['forwarder', 'operator'],
  'proposal.created': ['forwarder', 'operator'],
  'watch.matched': ['forwarder'],
};

/** The event types an organisation of this kind can receive (none for schedulers and the platform). */
export function eventTypesFor(kind: string | undefined): WebhookEventType[] {
  return EVENT_TYPES.filter((t) => EVENT_RECEIVERS[t].includes(kind as OrgKind));
}

/** A short explanation per event type, as the organisation receiving it reads it (README "Webhooks"). */
export const EVENT_HINTS: Record<WebhookEventType, string> = {
  'booking.confirmed': 'a booking was confirmed (hold, itinerary or auction win)',
  'booking.cancelled': 'a booking was cancelled',
  'hold.expired': 'a hold ran out and its capacity was released',
  'auction.won': 'you won capacity in an auction',
  'auction.lost': 'an auction you bid in closed without you',
  'auction.closed': 'an auction of yours closed: winners, TEU awarded, clearing price, what was re-listed',
  'invoice.issued': 'an invoice was issued to or by you',
  'offer.created': 'freed capacity is offered to you first',
  'departure.derated': 'a barge departure was derated by low water (bookings may have moved)',
  'proposal.created': 'the optimiser proposed you an itinerary or a departure change',
  'watch.matched': 'a watch of yours matched',
};
const OPERATOR_HINTS: Partial<Record<WebhookEventType, string>> = {
  'booking.confirmed': 'a booking on one of your departures was confirmed (hold, itinerary or auction win)',
  'booking.cancelled': 'a booking on one of your departures was cancelled (by its forwarder, a no-show or low water)',
  'invoice.issued': 'you issued an invoice (a booking on your departure was settled)',
  'departure.derated': 'one of your barge departures was derated by low water',
  'proposal.created': 'the optimiser proposes to cancel or merge one of your departures',
};
export function eventHint(t: WebhookEventType, kind: string | undefined): string {
  return (kind === 'operator' ? OPERATOR_HINTS[t] : undefined) ?? EVENT_HINTS[t];
}

/** server/domain/schemas/webhooks.ts RotateSecretBody */
export const MAX_OVERLAP_HOURS = 168;
export const DEFAULT_OVERLAP_HOURS = 24;

export interface WebhookFormValues {
  url: string;
  events: string[];
  description: string;
}

export type WebhookField = 'url' | 'events' | 'description';

export function defaultWebhookForm(): WebhookFormValues {
  return { url: '', events: [], description: '' };
}

/** What the form can tell before asking the server (the server checks the URL's scheme and address itself). */
export function checkWebhookForm(f: WebhookFormValues): Partial<Record<WebhookField, string>> {
  const errors: Partial<Record<WebhookField, string>> = {};
  const url = f.url.trim();
  if (!url) errors.url = 'Enter the URL the events are sent to.';
  else if (url.length > 2048) errors.url = 'The URL is longer than 2,048 characters.';
  if (f.events.length === 0) errors.events = 'Choose at least one event type.';
  if (f.description.length > 500) errors.description = 'At most 500 characters.';
  return errors;
}

/** `POST /api/webhooks`, the event types in the list's order. */
export function webhookBody(f: WebhookFormValues): NewWebhookBody {
  const chosen = new Set(f.events);
  const description = f.description.trim();
  return {
    url: f.url.trim(),
    events: EVENT_TYPES.filter((t) => chosen.has(t)),
    ...(description ? { description } : {}),
  };
}

/** The field a 400 of `POST /api/webhooks` belongs to (null: the form as a whole). */
export function webhookFieldError(code: string, message: string): WebhookField | null {
  if (code === 'invalid_url' || code === 'url_scheme_not_allowed' || code === 'url_credentials_not_allowed' || code === 'address_not_allowed') return 'url';
  if (/\/url\b|\burl\b/i.test(message)) return 'url';
  if (/\/events\b|\bevents?\b/i.test(message)) return 'events';
  if (/\/description\b/i.test(message)) return 'description';
  return null;
}

/** The server's message as a sentence. */
export function sentence(message: string): string {
  const m = message.trim();
  if (!m) return 'The request was not valid.';
  const s = m.charAt(0).toUpperCase() + m.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

export type EndpointHealth = 'ok' | 'failing' | 'disabled' | 'disabled-failing';

/** An endpoint's state: enabled and delivering, enabled with failed attempts in a row, disabled (by whom). */
export function endpointHealth(w: Pick<Webhook, 'enabled' | 'disabledReason' | 'consecutiveFailures'>): EndpointHealth {
  if (!w.enabled) return w.disabledReason === 'failing' ? 'disabled-failing' : 'disabled';
  return w.consecutiveFailures > 0 ? 'failing' : 'ok';
}

export function endpointHealthText(w: Pick<Webhook, 'enabled' | 'disabledReason' | 'consecutiveFailures'>): string {
  switch (endpointHealth(w)) {
    case 'ok':
      return 'Enabled';
    case 'failing':
      return `Enabled, failing: ${w.consecutiveFailures} failed attempt${w.consecutiveFailures === 1 ? '' : 's'} in a row`;
    case 'disabled':
      return 'Disabled';
    case 'disabled-failing':
      return `Disabled after ${w.consecutiveFailures} failed attempts in a row`;
  }
}

export const DELIVERY_STATUS_TEXT: Record<WebhookDelivery['status'], string> = {
  pending: 'Pending',
  delivering: 'Sending',
  succeeded: 'Delivered',
  failed: 'Failed',
};

/** Whether the log still changes by itself (a delivery waits for an attempt or is being sent). */
export function hasOpenDeliveries(ds: readonly Pick<WebhookDelivery, 'status'>[]): boolean {
  return ds.some((d) => d.status === 'pending' || d.status === 'delivering');
}

/** `1,234 ms` or `—` */
export function fmtDurationMs(ms: number | null): string {
  return ms === null ? '—' : `${ms.toLocaleString('en-GB')} ms`;
}
