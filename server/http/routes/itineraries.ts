import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { idemKey } from '../../adapters/db/idempotency.ts';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams } from '../../domain/schemas/common.ts';
import { ConfirmItineraryBody, Itinerary, NewItineraryBody, RemoveItineraryQuery } from '../../domain/schemas/itineraries.ts';
import { IdempotencyHeaders } from '../../domain/schemas/trade.ts';

const REFUSAL = 'A refusal about one leg names it: `error.legIndex` (0-based, in the order of `legs`).';

/** Itineraries (forwarders): a chain of legs held, booked, released or cancelled as one thing. Handlers stay thin. */
export const itineraryRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { itineraries } = ctx.services;

  app.post(
    '/api/itineraries',
    {
      schema: {
        tags: ['itineraries'],
        summary: 'Hold every leg of a chain at once, or none (forwarder)',
        description: `All legs are held in one transaction with one shared expiry; 409 \`insufficient_capacity\` (or the leg's other refusal) leaves nothing held on any leg. ${REFUSAL}`,
        headers: IdempotencyHeaders,
        body: NewItineraryBody,
        response: { 201: Itinerary, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const key = idemKey(p.orgId, req.headers['idempotency-key'], 'POST /api/itineraries', req.body);
      return reply.status(201).send(await itineraries.create(p, req.body, key));
    },
  );

  app.get(
    '/api/itineraries',
    { schema: { tags: ['itineraries'], summary: "My organisation's itineraries, newest first", response: { 200: Type.Array(Itinerary), ...errors(401, 403) } } },
    async (req) => itineraries.list(principalOf(req)),
  );

  app.get(
    '/api/itineraries/:id',
    {
      schema: {
        tags: ['itineraries'],
        summary: 'An itinerary with the state of each leg and what cancelling each booked leg would cost now',
        params: IdParams,
        response: { 200: Itinerary, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => itineraries.get(principalOf(req), req.params.id),
  );

  app.post(
    '/api/itineraries/:id/confirm',
    {
      schema: {
        tags: ['itineraries'],
        summary: "Book every leg of a held itinerary at once (the holder)",
        description: `Every leg's hold becomes a booking in one transaction, or none does. ${REFUSAL}`,
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Optional(ConfirmItineraryBody),
        response: { 201: Itinerary, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const body = req.body ?? {};
      const key = idemKey(p.orgId, req.headers['idempotency-key'], `POST /api/itineraries/${req.params.id}/confirm`, body);
      return reply.status(201).send(await itineraries.confirm(p, req.params.id, body, key));
    },
  );

  app.delete(
    '/api/itineraries/:id',
    {
      schema: {
        tags: ['itineraries'],
        summary: 'Release a held itinerary (204), or cancel a booked one under each leg\'s fee rule (200)',
        description: 'With `?expect=held` (what the client\'s Release button sends) a held itinerary is released and anything else answers 409 `itinerary_state_changed` and changes nothing — a confirm that won a race is never cancelled (with its fees) by a stale click; `?expect=confirmed` likewise cancels only a confirmed one.',
        params: IdParams,
        querystring: RemoveItineraryQuery,
        response: { 200: Itinerary, 204: Type.Null(), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const cancelled = await itineraries.remove(principalOf(req), req.params.id, req.query.expect);
      return cancelled ? reply.status(200).send(cancelled) : reply.status(204).send(null);
    },
  );
};
