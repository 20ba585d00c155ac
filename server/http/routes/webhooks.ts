import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams } from '../../domain/schemas/common.ts';
import {
  Accepted, DeliveriesQuery, DeliveryParams, NewWebhookBody, PatchWebhookBody, RotatedSecret, RotateSecretBody, Webhook, WEBHOOK_BODY_LIMIT, WebhookCreated, WebhookDelivery,
} from '../../domain/schemas/webhooks.ts';

/** Signed webhooks of the caller's organisation (its admins; API.md "Webhooks"). Handlers stay thin. */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { webhooks } = ctx.services;
  const tags = ['webhooks'];

  app.post(
    '/api/webhooks',
    {
      bodyLimit: WEBHOOK_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Register a webhook endpoint (organisation admin); the signing secret is shown once',
        body: NewWebhookBody,
        response: { 201: WebhookCreated, ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => reply.status(201).send(await webhooks.create(principalOf(req), req.body, req.ip)),
  );

  app.get(
    '/api/webhooks',
    { schema: { tags, summary: "The organisation's webhook endpoints (no secrets)", response: { 200: Type.Array(Webhook), ...errors(401, 403) } } },
    async (req) => webhooks.list(principalOf(req)),
  );

  app.patch(
    '/api/webhooks/:id',
    {
      bodyLimit: WEBHOOK_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Change a webhook endpoint: url, events, description, enabled (enabling clears its failure count)',
        params: IdParams,
        body: PatchWebhookBody,
        response: { 200: Webhook, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => webhooks.update(principalOf(req), req.params.id, req.body, req.ip),
  );

  app.delete(
    '/api/webhooks/:id',
    { schema: { tags, summary: 'Delete a webhook endpoint and its delivery log', params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } } },
    async (req, reply) => {
      await webhooks.remove(principalOf(req), req.params.id, req.ip);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/webhooks/:id/rotate-secret',
    {
      schema: {
        tags,
        summary: 'A new signing secret (shown once); the old one keeps signing for overlapHours (default 24)',
        params: IdParams,
        body: Type.Optional(RotateSecretBody),
        response: { 200: RotatedSecret, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => webhooks.rotate(principalOf(req), req.params.id, req.body ?? {}, req.ip),
  );

  app.post(
    '/api/webhooks/:id/ping',
    {
      schema: {
        tags,
        summary: 'Send a `ping` event to this endpoint (a test delivery)',
        params: IdParams,
        response: { 202: Accepted, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => reply.status(202).send(await webhooks.ping(principalOf(req), req.params.id)),
  );

  app.get(
    '/api/webhooks/:id/deliveries',
    {
      schema: {
        tags,
        summary: "The endpoint's delivery log, newest first",
        params: IdParams,
        querystring: DeliveriesQuery,
        response: { 200: Type.Array(WebhookDelivery), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => webhooks.deliveries(principalOf(req), req.params.id, req.query.limit ?? 100),
  );

  app.post(
    '/api/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      schema: {
        tags,
        summary: 'Deliver this event again (same event id); a pending delivery is tried now',
        params: DeliveryParams,
        response: { 202: Accepted, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => reply.status(202).send(await webhooks.redeliver(principalOf(req), req.params.id, req.params.deliveryId, req.ip)),
  );
};
