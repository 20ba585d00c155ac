import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { idemKey } from '../../adapters/db/idempotency.ts';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { BidAccepted, Bid, NewBidBody } from '../../domain/schemas/auctions.ts';
import { errors, IdParams } from '../../domain/schemas/common.ts';
import { IdempotencyHeaders } from '../../domain/schemas/trade.ts';

/** Bids on ascending and sealed listings. */
export const auctionRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { auctions } = ctx.services;

  app.post(
    '/api/listings/:id/bids',
    {
      schema: {
        tags: ['auctions'],
        summary: 'Bid on an ascending or sealed listing (forwarder)',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: NewBidBody,
        response: { 201: BidAccepted, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const key = idemKey(p.orgId, req.headers['idempotency-key'], `POST /api/listings/${req.params.id}/bids`, req.body);
      return reply.status(201).send(await auctions.placeBid(p, req.params.id, req.body, key));
    },
  );

  app.get(
    '/api/listings/:id/bids',
    {
      schema: {
        tags: ['auctions'],
        summary: 'Bids of a listing: all for its operator, only its own for a forwarder',
        params: IdParams,
        response: { 200: Type.Array(Bid), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => auctions.listBids(principalOf(req), req.params.id),
  );
};
