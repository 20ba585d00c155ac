import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import { principalOf } from '../plugins/auth.ts';
import { errors, IdParams } from '../../domain/schemas/common.ts';
import { Balance, InvoiceCounterparty, InvoiceCsvQuery, InvoiceDetail, InvoiceListQuery, InvoiceSummary, Transfer, TransfersQuery } from '../../domain/schemas/finance.ts';
import { INVOICE_LIST_LIMIT } from '../../services/ledger/index.ts';
import { nextPageHeaders } from '../paging.ts';

/** Ledger balance, transfers and invoices of the caller's organisation. Handlers stay thin. */
export const financeRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const { ledger } = ctx.services;

  app.get(
    '/api/ledger/balance',
    { schema: { tags: ['money'], summary: "My organisation's ledger accounts and balances", response: { 200: Balance, ...errors(401) } } },
    async (req) => ledger.balance(principalOf(req)),
  );

  app.get(
    '/api/ledger/transfers',
    {
      schema: {
        tags: ['money'],
        summary: "Recent ledger entries on my organisation's accounts",
        querystring: TransfersQuery,
        response: { 200: Type.Array(Transfer), ...errors(400, 401) },
      },
    },
    async (req) => ledger.transfers(principalOf(req), req.query.limit ?? 100),
  );

  app.get(
    '/api/invoices',
    {
      schema: {
        tags: ['money'],
        summary: 'Invoices and credit notes my organisation issued or received, newest first',
        description: `A page of \`limit\` (default and at most ${INVOICE_LIST_LIMIT}). When older invoices follow, the answer carries the header \`x-next-cursor\` (and a \`Link: <…>; rel="next"\`): pass it as \`before\` for the next page. \`GET /api/invoices.csv\` exports up to 100,000 at once.`,
        querystring: InvoiceListQuery,
        response: { 200: Type.Array(InvoiceSummary), ...errors(400, 401) },
      },
    },
    async (req, reply) => {
      const { items, next } = await ledger.invoices(principalOf(req), req.query);
      const { counterpartyOrgId, from, to } = req.query;
      nextPageHeaders(reply, '/api/invoices', next, req.query.limit, { keep: { counterpartyOrgId, from, to } });
      return items;
    },
  );

  app.get(
    '/api/invoices/counterparties',
    {
      schema: {
        tags: ['money'],
        summary: 'The organisations my organisation has invoices with, and how many (for the invoice filter)',
        response: { 200: Type.Array(InvoiceCounterparty), ...errors(401) },
      },
    },
    async (req) => ledger.invoiceCounterparties(principalOf(req)),
  );

  app.get(
    '/api/invoices.csv',
    {
      schema: {
        tags: ['money'],
        summary: 'The same list as CSV',
        produces: ['text/csv'],
        querystring: InvoiceCsvQuery,
        response: { 200: Type.String({ description: 'text/csv' }), ...errors(400, 401) },
      },
    },
    async (req, reply) => {
      const csv = await ledger.invoicesCsv(principalOf(req), req.query);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="invoices.csv"')
        .send(csv);
    },
  );

  app.get(
    '/api/invoices/:id',
    { schema: { tags: ['money'], summary: 'An invoice with its lines (issuer or recipient)', params: IdParams, response: { 200: InvoiceDetail, ...errors(400, 401, 404) } } },
    async (req) => ledger.invoice(principalOf(req), req.params.id),
  );

  app.get(
    '/api/invoices/:id/print',
    {
      schema: {
        tags: ['money'],
        summary: 'Print-ready HTML of an invoice (issuer or recipient)',
        params: IdParams,
        produces: ['text/html'],
        response: { 200: Type.String({ description: 'text/html' }), ...errors(400, 401, 404) },
      },
    },
    async (req, reply) => reply.type('text/html; charset=utf-8').send(await ledger.invoiceHtml(principalOf(req), req.params.id)),
  );
};
