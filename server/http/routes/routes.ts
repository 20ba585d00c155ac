import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors } from '../../domain/schemas/common.ts';
import { MAX_WINDOW_DAYS, RoutesAnswer, RoutesQuery } from '../../domain/schemas/routes.ts';

/** Synchromodal route search (API.md "Routes and itineraries"). The handler stays thin. */
export const routeSearchRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { routes } = ctx.services;

  app.get(
    '/api/routes',
    {
      schema: {
        tags: ['routes'],
        summary: 'Door-to-door itineraries over rail and barge legs: the Pareto set on price, arrival and CO2e (forwarders, their API keys)',
        description:
          'Chains of 1–maxLegs legs from `from` to `to` with room for the whole request on every leg before its cut-off, connections ' +
          "that respect each cluster's minimum transfer time, the first cut-off not before readyAt and the last arrival by deliverBy. " +
          'No itinerary in the answer is beaten on price, arrival and CO2e (and on needing a bid) by another possible one, and none that is not is missing. ' +
          'Auction legs are "bid" legs (bookable false) priced at the lowest bid accepted now. Answered from an in-memory timetable kept current ' +
          `by the live events. 400: invalid_input, unknown_cluster, same_cluster, invalid_date, invalid_window, window_too_long (> ${MAX_WINDOW_DAYS} days), ` +
          'invalid_quantity (fewer than 1 t per TEU). Operators and schedulers: 403.',
        querystring: RoutesQuery,
        response: { 200: RoutesAnswer, ...errors(400, 401, 403) },
      },
    },
    async (req) => routes.search(principalOf(req), req.query),
  );
};
