import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { idemKey } from '../../adapters/db/idempotency.ts';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { nextPageHeaders } from '../paging.ts';
import { BOOKING_LIST_LIMIT } from '../../services/bookings.ts';
import { errors, IdParams } from '../../domain/schemas/common.ts';
import { DepartureManifest } from '../../domain/schemas/manifest.ts';
import { Departure, Listing } from '../../domain/schemas/network.ts';
import {
  Booking, BookingListQuery, BookingSummary, BookingWithDeparture, CancellationPreview, ConfirmBody, Hold, HoldWithDeparture, IdempotencyHeaders, NewDepartureBody, NewHoldBody,
  NewListingBody, OperatorHold,
} from '../../domain/schemas/trade.ts';

/** Departures and listings (operators), holds and bookings (forwarders). Handlers stay thin. */
export const tradeRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { holds, bookings, departures, listings, manifest } = ctx.services;

  app.post(
    '/api/departures',
    { schema: { tags: ['departures'], summary: 'Publish a departure (operator)', body: NewDepartureBody, response: { 201: Departure, ...errors(400, 401, 403) } } },
    async (req, reply) => reply.status(201).send(await departures.create(principalOf(req), req.body)),
  );

  app.get(
    '/api/operator/departures',
    { schema: { tags: ['operator'], summary: "My organisation's departures with their load", response: { 200: Type.Array(Departure), ...errors(401, 403) } } },
    async (req) => departures.ofOperator(principalOf(req)),
  );

  app.get(
    '/api/departures/:id/manifest',
    {
      schema: {
        tags: ['departures'],
        summary: "Who rides on one of my departures: its bookings with customer, load, price and cargo, the holds on it now, and the totals (its operator)",
        description: "Another operator's departure is 404 (its customers are that operator's business); the platform sees every departure's.",
        params: IdParams,
        response: { 200: DepartureManifest, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => manifest.ofDeparture(principalOf(req), req.params.id),
  );

  app.get(
    '/api/operator/holds',
    { schema: { tags: ['operator'], summary: 'Active holds on my departures, with the holder and the departure', response: { 200: Type.Array(OperatorHold), ...errors(401, 403) } } },
    async (req) => holds.operatorHolds(principalOf(req)),
  );

  app.post(
    '/api/listings',
    { schema: { tags: ['listings'], summary: 'Offer capacity of a departure (its operator)', body: NewListingBody, response: { 201: Listing, ...errors(400, 401, 403, 404, 409) } } },
    async (req, reply) => reply.status(201).send(await listings.createListing(principalOf(req), req.body)),
  );

  app.get(
    '/api/listings/:id',
    { schema: { tags: ['listings'], summary: 'A listing', params: IdParams, response: { 200: Listing, ...errors(400, 401, 404) } } },
    async (req) => listings.getListing(principalOf(req), req.params.id),
  );

  app.delete(
    '/api/listings/:id',
    { schema: { tags: ['listings'], summary: 'Cancel a listing; its holds are released and their holders told', params: IdParams, response: { 200: Listing, ...errors(400, 401, 403, 404, 409) } } },
    async (req) => listings.cancelListing(principalOf(req), req.params.id),
  );

  app.post(
    '/api/holds',
    {
      schema: {
        tags: ['holds'],
        summary: 'Hold capacity for a few minutes (forwarder)',
        headers: IdempotencyHeaders,
        body: NewHoldBody,
        response: { 201: Hold, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const hold = await holds.create(p, req.body, idemKey(p.orgId, req.headers['idempotency-key'], 'POST /api/holds', req.body));
      return reply.status(201).send(hold);
    },
  );

  app.get(
    '/api/holds',
    { schema: { tags: ['holds'], summary: "My organisation's active holds, each with its departure", response: { 200: Type.Array(HoldWithDeparture), ...errors(401, 403) } } },
    async (req) => holds.list(principalOf(req)),
  );

  app.post(
    '/api/holds/:id/confirm',
    {
      schema: {
        tags: ['holds'],
        summary: 'Confirm a hold into a booking',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Optional(ConfirmBody),
        response: { 201: Booking, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const body = req.body ?? {};
      const key = idemKey(p.orgId, req.headers['idempotency-key'], `POST /api/holds/${req.params.id}/confirm`, body);
      return reply.status(201).send(await bookings.confirm(p, req.params.id, body, key));
    },
  );

  app.delete(
    '/api/holds/:id',
    { schema: { tags: ['holds'], summary: 'Release a hold', params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) } } },
    async (req, reply) => {
      await holds.release(principalOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/bookings',
    {
      schema: {
        tags: ['bookings'],
        summary: "Own organisation's bookings (an operator: bookings on its departures), each with its departure, newest first",
        description: `A page of \`limit\` (default and at most ${BOOKING_LIST_LIMIT}). When older bookings follow, the answer carries the header \`x-next-cursor\` (and a \`Link: <…>; rel="next"\`): pass it as \`before\` for the next page.`,
        querystring: BookingListQuery,
        response: { 200: Type.Array(BookingWithDeparture), ...errors(400, 401) },
      },
    },
    async (req, reply) => {
      const { items, next } = await bookings.list(principalOf(req), req.query);
      nextPageHeaders(reply, '/api/bookings', next, req.query.limit);
      return items;
    },
  );

  app.get(
    '/api/bookings/summary',
    { schema: { tags: ['bookings'], summary: `Counts and sums over every booking the caller sees (the list stops at the newest ${BOOKING_LIST_LIMIT})`, response: { 200: BookingSummary, ...errors(401) } } },
    async (req) => bookings.summary(principalOf(req)),
  );

  app.get(
    '/api/bookings/:id/cancellation',
    { schema: { tags: ['bookings'], summary: 'What cancelling now would cost', params: IdParams, response: { 200: CancellationPreview, ...errors(400, 401, 404) } } },
    async (req) => {
      const { feeCents, refundCents, percent, band } = await bookings.cancellationPreview(principalOf(req), req.params.id);
      return { feeCents, refundCents, percent, band };
    },
  );

  app.delete(
    '/api/bookings/:id',
    {
      schema: {
        tags: ['bookings'],
        summary: "Cancel a booking under the listing's fee rule",
        params: IdParams,
        headers: IdempotencyHeaders,
        response: { 200: Booking, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return bookings.cancel(p, req.params.id, idemKey(p.orgId, req.headers['idempotency-key'], `DELETE /api/bookings/${req.params.id}`, null));
    },
  );
};
