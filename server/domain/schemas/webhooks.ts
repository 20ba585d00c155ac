import { Type, type Static } from 'typebox';
import { WEBHOOK_EVENT_TYPES } from '../../core/webhook-event-types.ts';
import { IsoTime, StringEnum, Uuid } from './common.ts';

// Webhooks (API.md "Webhooks"; issue 15). What the schemas cannot say (an absolute http(s) URL, https outside
// development, an allowed address) the webhooks service checks, answering 400 with its own codes.

/** Most endpoints one organisation may register. */
export const MAX_WEBHOOKS_PER_ORG = 100;

const EventType = StringEnum(WEBHOOK_EVENT_TYPES, { description: `one of ${WEBHOOK_EVENT_TYPES.join(', ')}` });
/**
 * Body limit of the endpoints that take a list of event types (bytes). Above the app's 64 KiB so that an absurd list
 * (10,000 event types, ~190 KB) is refused by the schema with a 400 that names the problem, not by the parser's 413.
 */
export const WEBHOOK_BODY_LIMIT = 256 * 1024;

const Events = Type.Array(EventType, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true, description: 'the event types to receive' });
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'https URL the events are POSTed to (http only in development)' });
const Description = Type.String({ maxLength: 500 });

export const NewWebhookBody = Type.Object({ url: Url, events: Events, description: Type.Optional(Description) }, { additionalProperties: false });
export type NewWebhookBody = Static<typeof NewWebhookBody>;

export const PatchWebhookBody = Type.Object(
  { url: Type.Optional(Url), events: Type.Optional(Events), description: Type.Optional(Type.String({ maxLength: 500, description: 'empty: none' })), enabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
export type PatchWebhookBody = Static<typeof PatchWebhookBody>;

export const RotateSecretBody = Type.Object(
  { overlapHours: Type.Optional(Type.Integer({ minimum: 0, maximum: 168, description: 'how long the old secret keeps signing too (default 24; 0: not at all)' })) },
  { additionalProperties: false },
);
export type RotateSecretBody = Static<typeof RotateSecretBody>;

export const Webhook = Type.Object({
  id: Uuid,
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Type.Union([Type.String(), Type.Null()]),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([StringEnum(['admin', 'failing']), Type.Null()]),
  disabledAt: Type.Union([IsoTime, Type.Null()]),
  consecutiveFailures: Type.Integer(),
  previousSecretExpiresAt: Type.Union([IsoTime, Type.Null()], { description: 'while in the future, the previous secret signs too' }),
  createdAt: IsoTime,
});
export type Webhook = Static<typeof Webhook>;

export const WebhookCreated = Type.Intersect([
  Webhook,
  Type.Object({ secret: Type.String({ description: 'the signing secret, shown once (whsec_…)' }) }),
]);
export type WebhookCreated = Static<typeof WebhookCreated>;

export const RotatedSecret = Type.Object({
  secret: Type.String({ description: 'the new signing secret, shown once' }),
  previousSecretExpiresAt: Type.Union([IsoTime, Type.Null()]),
});
export type RotatedSecret = Static<typeof RotatedSecret>;

export const DeliveryStatus = StringEnum(['pending', 'delivering', 'succeeded', 'failed']);
export const WebhookDelivery = Type.Object({
  id: Uuid,
  eventId: Uuid,
  type: Type.String(),
  status: DeliveryStatus,
  responseCode: Type.Union([Type.Integer(), Type.Null()]),
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
  attempts: Type.Integer(),
  nextAttemptAt: Type.Union([IsoTime, Type.Null()], { description: 'when pending: the next attempt' }),
  createdAt: IsoTime,
  finishedAt: Type.Union([IsoTime, Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  responseBody: Type.Union([Type.String(), Type.Null()], { description: 'at most the first 256 characters of the last answer' }),
  redeliveryOf: Type.Union([Uuid, Type.Null()]),
});
export type WebhookDelivery = Static<typeof WebhookDelivery>;

export const DeliveriesQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }, { additionalProperties: false });
export const DeliveryParams = Type.Object({ id: Uuid, deliveryId: Uuid }, { additionalProperties: false });

export const Accepted = Type.Object({ eventId: Type.Optional(Uuid), deliveryId: Uuid });
export type Accepted = Static<typeof Accepted>;
