import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PingBody } from '../../domain/schemas/session.ts';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams } from '../../domain/schemas/common.ts';
import { Optimisation, OptimisationsQuery, Proposal } from '../../domain/schemas/optimisations.ts';

/** The optimiser's runs (schedulers) and the proposals of its plans (forwarders, operators). Handlers stay thin. */
export const optimisationRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { optimiser, proposals } = ctx.services;

  app.post(
    '/api/optimisations',
    {
      // no body at all is an empty one; anything else must be `{}` (every input validated: a run takes no options)
      preValidation: async (req) => {
        if (req.body === undefined) req.body = {};
      },
      schema: {
        body: PingBody,
        tags: ['pool'],
        summary: 'Run the optimiser now (scheduler); the run is queued and solved by a worker',
        description: 'Progress reaches the network dashboard room live as `optimisation:progress`. One run at a time: a second one waits for the first.',
        response: { 202: Optimisation, ...errors(400, 401, 403) },
      },
    },
    async (req, reply) => reply.status(202).send(await optimiser.request(principalOf(req))),
  );

  app.get(
    '/api/optimisations',
    {
      schema: {
        tags: ['pool'],
        summary: 'The latest runs with their figures (schedulers, operators)',
        querystring: OptimisationsQuery,
        response: { 200: Type.Array(Optimisation), ...errors(400, 401, 403) },
      },
    },
    async (req) => optimiser.list(principalOf(req), req.query.limit),
  );

  app.get(
    '/api/optimisations/:id',
    { schema: { tags: ['pool'], summary: 'One run', params: IdParams, response: { 200: Optimisation, ...errors(400, 401, 403, 404) } } },
    async (req) => optimiser.get(principalOf(req), req.params.id),
  );

  app.get(
    '/api/proposals',
    {
      schema: {
        tags: ['pool'],
        summary: "The caller's proposals: a forwarder's shipments, an operator's departures (schedulers: all), newest first",
        response: { 200: Type.Array(Proposal), ...errors(401, 403) },
      },
    },
    async (req) => proposals.list(principalOf(req)),
  );

  app.post(
    '/api/proposals/:id/accept',
    {
      schema: {
        tags: ['pool'],
        summary: 'Accept a proposal: a shipment is booked as its itinerary (held and confirmed), an empty departure is cancelled',
        description: '409 `proposal_stale` (nothing booked, the shipment back in the pool) when capacity, a listing or the price changed; 409 `proposal_closed` when it was declined or superseded. Accepting twice answers the same.',
        params: IdParams,
        response: { 200: Proposal, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => proposals.accept(principalOf(req), req.params.id),
  );

  app.post(
    '/api/proposals/:id/decline',
    {
      schema: {
        tags: ['pool'],
        summary: 'Decline a proposal (a shipment goes back to the pool)',
        params: IdParams,
        response: { 200: Proposal, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => proposals.decline(principalOf(req), req.params.id),
  );
};
