import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { idemKey } from '../../adapters/db/idempotency.ts';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams } from '../../domain/schemas/common.ts';
import {
  MAX_WINDOW_DAYS, NewShipmentBody, OperatingCosts, OperatingCostsBody, Shipment, ShipmentChangeBody, ShipmentsQuery,
} from '../../domain/schemas/shipments.ts';
import { IdempotencyHeaders } from '../../domain/schemas/trade.ts';

const CHECKS =
  'Beyond the schema, 400 with `same_cluster`, `unknown_cluster`, `deliver_by_past`, `invalid_window` (deliverBy not after readyAt), ' +
  `\`window_too_long\` (over ${MAX_WINDOW_DAYS} days), \`ready_too_late\`, \`invalid_quantity\` (fewer than 1 t per TEU).`;

const WithdrawQuery = Type.Object(
  { expectVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'withdraw only if the shipment is still at this version' })) },
  { additionalProperties: false },
);

/** The pool (forwarders' shipment requests) and the operating costs of departures (operators). Handlers stay thin. */
export const shipmentRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { shipments, operatingCosts } = ctx.services;

  app.post(
    '/api/shipments',
    {
      schema: {
        tags: ['pool'],
        summary: 'Pool a shipment: the optimiser will propose an itinerary for it (forwarder)',
        description: CHECKS,
        headers: IdempotencyHeaders,
        body: NewShipmentBody,
        response: { 201: Shipment, ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const key = idemKey(p.orgId, req.headers['idempotency-key'], 'POST /api/shipments', req.body);
      return reply.status(201).send(await shipments.create(p, req.body, key));
    },
  );

  app.get(
    '/api/shipments',
    {
      schema: {
        tags: ['pool'],
        summary: "My organisation's shipments, newest first",
        querystring: ShipmentsQuery,
        response: { 200: Type.Array(Shipment), ...errors(400, 401, 403) },
      },
    },
    async (req) => shipments.list(principalOf(req), req.query),
  );

  app.get(
    '/api/shipments/:id',
    { schema: { tags: ['pool'], summary: 'A shipment', params: IdParams, response: { 200: Shipment, ...errors(400, 401, 403, 404) } } },
    async (req) => shipments.get(principalOf(req), req.params.id),
  );

  app.patch(
    '/api/shipments/:id',
    {
      schema: {
        tags: ['pool'],
        summary: 'Change a pooled or unplaced shipment (it is pooled again)',
        description: `Fields left out keep their value; the result is checked as a new shipment. 409 \`shipment_state_changed\` (nothing changed) once it is proposed, booked or withdrawn, or when it is no longer at \`expectVersion\`. ${CHECKS}`,
        params: IdParams,
        body: ShipmentChangeBody,
        response: { 200: Shipment, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => shipments.change(principalOf(req), req.params.id, req.body),
  );

  app.delete(
    '/api/shipments/:id',
    {
      schema: {
        tags: ['pool'],
        summary: 'Withdraw a shipment from the pool',
        description: 'A pooled, unplaced or proposed shipment becomes withdrawn (its proposal goes stale). 409 `shipment_state_changed` once booked or already withdrawn.',
        params: IdParams,
        querystring: WithdrawQuery,
        response: { 200: Shipment, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => shipments.withdraw(principalOf(req), req.params.id, req.query.expectVersion),
  );

  app.get(
    '/api/departures/:id/operating-costs',
    {
      schema: {
        tags: ['operator'],
        summary: "A departure's operating costs and minimum load (its operator)",
        description: 'Another organisation gets 404 (the figures are the operator\'s own).',
        params: IdParams,
        response: { 200: OperatingCosts, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => operatingCosts.get(principalOf(req), req.params.id),
  );

  app.put(
    '/api/departures/:id/operating-costs',
    {
      schema: {
        tags: ['operator'],
        summary: 'State what running a departure costs and its minimum load (its operator)',
        description: 'The optimiser weighs these when it decides which departures to keep. 400 `invalid_min_load` above the capacity; 409 `departure_cancelled`; another organisation gets 404.',
        params: IdParams,
        body: OperatingCostsBody,
        response: { 200: OperatingCosts, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => operatingCosts.set(principalOf(req), req.params.id, req.body),
  );
};
