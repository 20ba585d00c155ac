/**
 * The webhook event types (issue 15), apart from server/core/webhooks.ts (which uses node:crypto) so that the
 * schemas importing them stay type-checkable by the browser client (client/src/lib/types.ts).
 */

/** Every event type an endpoint may subscribe to (API.md "Webhooks"). `ping` is sent on request only. */
export const WEBHOOK_EVENT_TYPES = [
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
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(t: string): t is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(t);
}
