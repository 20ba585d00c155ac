import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors } from '../../domain/schemas/common.ts';
import {
  ActivityAnswer, ActivityQuery, AtRiskAnswer, AtRiskQuery, KpisAnswer, KpisQuery, PriceIndexAnswer, PriceIndexQuery, UtilisationAnswer, UtilisationQuery,
} from '../../domain/schemas/stats.ts';

/** JSON by default; CSV with `?format=csv` or `Accept: text/csv`. */
function wantsCsv(req: FastifyRequest): boolean {
  const format = (req.query as { format?: 'json' | 'csv' } | undefined)?.format;
  if (format) return format === 'csv';
  return /\btext\/csv\b/i.test(req.headers.accept ?? '');
}

/**
 * The CSV as a download whose name carries the request's filters (a scheduler's DEDUI export was named like the
 * network-wide one): cluster, mode, and the first 8 characters of a corridor or operator id.
 */
function sendCsv(reply: FastifyReply, out: { filename: string; csv: string }, q: { cluster?: string; mode?: string; corridorId?: string; operatorOrgId?: string } = {}) {
  const tags = [q.cluster, q.mode, q.corridorId && `corridor-${q.corridorId.slice(0, 8)}`, q.operatorOrgId && `operator-${q.operatorOrgId.slice(0, 8)}`].filter(Boolean);
  const filename = tags.length ? out.filename.replace(/\.csv$/, `-${tags.join('-')}.csv`) : out.filename;
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"`)
    .send(out.csv);
}

/** A 200 answer as JSON or CSV, and the error answers of every statistics route. */
function answers(json: TSchema, ...more: number[]) {
  return {
    200: {
      description: 'the figures (JSON), or the same rows flattened as CSV with a header row',
      content: { 'application/json': { schema: json }, 'text/csv': { schema: Type.String({ description: 'text/csv; charset=utf-8' }) } },
    },
    ...errors(400, 401, ...more),
  };
}

/**
 * The statistics answers are serialised with JSON.stringify, not with the schema's compiled serialiser
 * (fast-json-stringify): on these wide rows of numbers, nested objects and nullable fields it measured 3–6×
 * slower (7,576 corridor × day rows, 6 MB: 93–166 ms against 27–35 ms), most of a large answer's time. The
 * schemas still document the answers (OpenAPI); the service builds each answer as exactly that shape (typed
 * object literals), so no field is sent that the schema does not name.
 */
const serializerCompiler = () => (data: unknown) => JSON.stringify(data);

/** Dashboard statistics (API.md "Statistics"), read from the rollups. Handlers stay thin. */
export const statsRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { stats } = ctx.services;

  app.get(
    '/api/stats/utilisation',
    {
      serializerCompiler,
      schema: {
        tags: ['stats'],
        summary: 'Utilisation, revenue, CO2e and auction figures per corridor × day, cluster × day, operator, mode, day, corridor or departure',
        description:
          'Scheduler and platform: the whole network. Operator: its own departures (rows and totals) plus `network`, the whole-network ' +
          'aggregate with the same filters except operatorOrgId; another operatorOrgId is 403. Forwarder: its own bookings (spend, CO2e saved); ' +
          'departure figures (capacity, held, load factor) are null. Rows carry the figures of API.md (key fields, departures, capacityTeu, ' +
          'bookedTeu, heldTeu, loadFactor, revenueCents, avgUnitPriceCents, co2eKg, roadCo2eKg, co2eSavedKg, trucksAvoided); with ' +
          '`detail=full` also freeTeu, bookings, the cancellations, byFormat and auction. `totals`, `network` and the CSV have every figure. ' +
          '400: invalid_date, invalid_range, range_too_large (> 366 days), ' +
          'too_many_rows (> 10 000 rows), unknown_corridor, unknown_cluster, unknown_operator.',
        querystring: UtilisationQuery,
        response: answers(UtilisationAnswer, 403),
      },
    },
    async (req, reply) => {
      // the CSV always has every figure per row
      if (wantsCsv(req)) return sendCsv(reply, stats.utilisationCsv(await stats.utilisation(principalOf(req), { ...req.query, detail: 'full' })), req.query);
      // JSON text made by the service: the rows it keeps in memory are written from their kept text
      return reply.type('application/json; charset=utf-8').send(await stats.utilisationJson(principalOf(req), req.query));
    },
  );

  app.get(
    '/api/stats/kpis',
    {
      serializerCompiler,
      schema: {
        tags: ['stats'],
        summary: 'KPI tiles (load factor, TEU booked, CO2e saved, trucks avoided, revenue) with the change against the previous period',
        description: 'The previous period is the same number of days just before `from`. Scopes and errors as /api/stats/utilisation.',
        querystring: KpisQuery,
        response: answers(KpisAnswer, 403),
      },
    },
    async (req, reply) => {
      const a = await stats.kpis(principalOf(req), req.query);
      return wantsCsv(req) ? sendCsv(reply, stats.kpisCsv(a), req.query) : reply.send(a);
    },
  );

  app.get(
    '/api/stats/price-index',
    {
      serializerCompiler,
      schema: {
        tags: ['stats'],
        summary: "Average price per TEU per corridor and week (or day), indexed to 100 at the corridor's first period with bookings",
        description: 'A forwarder: what it paid. Scopes and errors as /api/stats/utilisation.',
        querystring: PriceIndexQuery,
        response: answers(PriceIndexAnswer, 403),
      },
    },
    async (req, reply) => {
      const a = await stats.priceIndex(principalOf(req), req.query);
      return wantsCsv(req) ? sendCsv(reply, stats.priceIndexCsv(a), req.query) : reply.send(a);
    },
  );

  app.get(
    '/api/stats/at-risk',
    {
      serializerCompiler,
      schema: {
        tags: ['stats'],
        summary: 'Scheduled departures below their minimum load whose cut-off is within the next `hours` (scheduler, platform, operator)',
        description: 'Ordered by cut-off. An operator sees its own departures; a forwarder gets 403.',
        querystring: AtRiskQuery,
        response: answers(AtRiskAnswer, 403),
      },
    },
    async (req, reply) => {
      const a = await stats.atRisk(principalOf(req), req.query);
      return wantsCsv(req) ? sendCsv(reply, stats.atRiskCsv(a), req.query) : reply.send(a);
    },
  );

  app.get(
    '/api/stats/activity',
    {
      schema: {
        tags: ['stats'],
        summary: 'The market now: bookings made in the last `minutes` (default 60) with their TEU and money, and the holds active now',
        description: 'Schedulers and the platform: the network, or one operator with operatorOrgId; an operator: its own departures; a forwarder gets 403. Filters as /api/stats/utilisation.',
        querystring: ActivityQuery,
        response: { 200: ActivityAnswer, ...errors(400, 401, 403) },
      },
    },
    async (req) => stats.activity(principalOf(req), req.query),
  );
};
