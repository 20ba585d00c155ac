import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { idemKey } from '../../adapters/db/idempotency.ts';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { BidAccepted, Bid, NewBidBody, OpenAuction, OpenAuctionQuery } from '../../domain/schemas/auctions.ts';
import { BidGroup, BidGroupPlaced, NewBidGroupBody } from '../../domain/schemas/bid-groups.ts';
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
        response: { 201: BidAccepted, ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const key = idemKey(p.orgId, req.headers['idempotency-key'], `POST /api/listings/${req.params.id.toLowerCase()}/bids`, req.body);
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

  app.get(
    '/api/auctions',
    {
      schema: {
        tags: ['auctions'],
        summary: 'Open auctions still taking bids, soonest close first',
        querystring: OpenAuctionQuery,
        response: { 200: Type.Array(OpenAuction), ...errors(400, 401) },
      },
    },
    async (req) => auctions.openAuctions({ from: req.query.from, to: req.query.to, mode: req.query.mode }),
  );

  app.post(
    '/api/bid-groups',
    {
      schema: {
        tags: ['auctions'],
        summary: 'Either-or bids: 2–5 bids on different auctions, at most one of which wins (forwarder)',
        body: NewBidGroupBody,
        response: { 201: BidGroupPlaced, ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (req, reply) => reply.status(201).send(await auctions.placeGroup(principalOf(req), req.body)),
  );

  app.get(
    '/api/bid-groups',
    { schema: { tags: ['auctions'], summary: "My organisation's bid groups with each bid's status", response: { 200: Type.Array(BidGroup), ...errors(401, 403) } } },
    async (req) => auctions.listGroups(principalOf(req)),
  );

  app.get(
    '/api/bid-groups/:id',
    { schema: { tags: ['auctions'], summary: 'One of my bid groups', params: IdParams, response: { 200: BidGroup, ...errors(400, 401, 403, 404) } } },
    async (req) => auctions.getGroup(principalOf(req), req.params.id),
  );
};
