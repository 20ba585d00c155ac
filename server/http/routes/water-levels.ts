import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors } from '../../domain/schemas/common.ts';
import { NewWaterLevel, WaterLevelRecorded, WaterLevels } from '../../domain/schemas/water-levels.ts';

/** Water levels and low-water derating of barge capacity (issue 14). Handlers stay thin. */
export const waterLevelRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { waterLevels } = ctx.services;

  app.post(
    '/api/water-levels',
    {
      schema: {
        tags: ['water'],
        summary: 'Report a water level (schedulers, the platform, their API keys): barge capacity on the corridors of the gauge is derated',
        description:
          'The latest measurement of a gauge derates every scheduled barge departure of its corridors in the next days (README "Low-water derating"). ' +
          'Bookings that no longer fit are moved off (latest booked first): cancelled without fee, refunded, and their forwarders told with rail alternatives. ' +
          '400: invalid_input, unknown_gauge, measured_in_future, measurement_too_old.',
        body: NewWaterLevel,
        response: { 201: WaterLevelRecorded, ...errors(400, 401, 403) },
      },
    },
    async (req, reply) => reply.status(201).send(await waterLevels.record(principalOf(req), req.body)),
  );

  app.get(
    '/api/water-levels',
    {
      schema: {
        tags: ['water'],
        summary: 'The latest level per gauge and the departures derated now (anyone signed in; a forwarder also sees its moved bookings)',
        response: { 200: WaterLevels, ...errors(401) },
      },
    },
    async (req) => waterLevels.list(principalOf(req)),
  );
};
