import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { errors, IdParams } from '../../domain/schemas/common.ts';
import { Cluster, Corridor, Departure, DepartureQuery, DepartureWithListings } from '../../domain/schemas/network.ts';
import { principalOf } from '../plugins/auth.ts';
import { nextPageHeaders } from '../paging.ts';

export const networkRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { network } = ctx.services;

  app.get(
    '/api/clusters',
    { schema: { tags: ['network'], summary: 'Logistics clusters (nodes)', response: { 200: Type.Array(Cluster), ...errors(401) } } },
    async () => network.clusters(),
  );

  app.get(
    '/api/corridors',
    { schema: { tags: ['network'], summary: 'Corridors between clusters, per mode', response: { 200: Type.Array(Corridor), ...errors(401) } } },
    async () => network.corridors(),
  );

  app.get(
    '/api/departures',
    {
      schema: {
        tags: ['departures'],
        summary: 'Departures, sorted by departure time',
        querystring: DepartureQuery,
        description: 'A page at a time (default 500 rows): when more follow, `x-next-cursor` and `Link: <…>; rel="next"` name the next page (`cursor=`).',
        response: { 200: Type.Array(Departure), ...errors(400, 401) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const { items, next } = await network.departurePage({
        from: q.from,
        to: q.to,
        mode: q.mode,
        after: q.after ? new Date(q.after) : undefined,
        before: q.before ? new Date(q.before) : undefined,
        limit: q.limit,
        cursor: q.cursor,
      });
      nextPageHeaders(reply, '/api/departures', next, q.limit, { param: 'cursor', keep: { from: q.from, to: q.to, mode: q.mode, after: q.after, before: q.before } });
      return items;
    },
  );

  app.get(
    '/api/departures/:id',
    { schema: { tags: ['departures'], summary: 'One departure with its listings', params: IdParams, response: { 200: DepartureWithListings, ...errors(400, 401, 404) } } },
    async (req) => network.departureWithListings(principalOf(req), req.params.id),
  );
};
