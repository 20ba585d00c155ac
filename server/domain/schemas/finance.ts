import { Type, type Static } from 'typebox';
import { IsoTime, Uuid } from './common.ts';

const Cents = Type.Integer({ description: 'integer EUR cents' });
const AccountKind = Type.Union([
  Type.Literal('forwarder_payable'),
  Type.Literal('operator_receivable'),
  Type.Literal('platform_revenue'),
  Type.Literal('escrow'),
]);

export const Account = Type.Object({
  id: Uuid,
  kind: AccountKind,
  orgId: Type.Union([Uuid, Type.Null()], { description: 'null for the platform accounts' }),
  normalSide: Type.Union([Type.Literal('debit'), Type.Literal('credit')], {
    description: 'forwarder_payable is debit-normal (what the forwarder owes); the others are credit-normal',
  }),
  debitsCents: Cents,
  creditsCents: Cents,
  balanceCents: Type.Integer({ description: 'balance on the normal side: debits − credits for debit-normal accounts, credits − debits otherwise' }),
});
export type Account = Static<typeof Account>;

export const Balance = Type.Object({ accounts: Type.Array(Account) });
export type Balance = Static<typeof Balance>;

const DAY = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';

/** What narrows `GET /api/invoices` and its CSV: the other party, and the days of issue (UTC, both ends included). */
const InvoiceFilterFields = {
  counterpartyOrgId: Type.Optional(Type.String({ format: 'uuid', description: 'only the invoices between the caller and this organisation (the platform: to or from it)' })),
  from: Type.Optional(Type.String({ pattern: DAY, description: 'issued on or after this UTC day, YYYY-MM-DD' })),
  to: Type.Optional(Type.String({ pattern: DAY, description: 'issued on or before this UTC day, YYYY-MM-DD' })),
};
export const InvoiceCsvQuery = Type.Object(InvoiceFilterFields, { additionalProperties: false });
export type InvoiceFilter = Static<typeof InvoiceCsvQuery>;

/** `GET /api/invoices/counterparties`: the organisations the caller has invoices with, for the filter. */
export const InvoiceCounterparty = Type.Object({ orgId: Uuid, name: Type.String(), invoices: Type.Integer({ description: 'how many invoices and credit notes' }) });
export type InvoiceCounterparty = Static<typeof InvoiceCounterparty>;

/** `GET /api/invoices`: a page, newest first (keyset cursor from the previous page's `x-next-cursor`). */
export const InvoiceListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    before: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,16}_[0-9]{1,10}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'the x-next-cursor of the previous page' }),
    ),
    ...InvoiceFilterFields,
  },
  { additionalProperties: false },
);
export type InvoiceListQuery = Static<typeof InvoiceListQuery>;

export const TransfersQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) },
  { additionalProperties: false },
);
export type TransfersQuery = Static<typeof TransfersQuery>;

export const Transfer = Type.Object({
  entryId: Type.Integer(),
  accountId: Uuid,
  accountKind: AccountKind,
  direction: Type.Union([Type.Literal('debit'), Type.Literal('credit')]),
  amountCents: Cents,
  transactionId: Uuid,
  kind: Type.String({ description: 'charge, release, refund or pool_rebate (a pool share paid to a forwarder)' }),
  description: Type.String(),
  bookingId: Type.Union([Uuid, Type.Null()]),
  createdAt: IsoTime,
});
export type Transfer = Static<typeof Transfer>;

export const InvoiceSummary = Type.Object({
  id: Uuid,
  number: Type.String({ description: 'ISSUERSLUG-YEAR-000123, gapless per issuer and year' }),
  kind: Type.Union([Type.Literal('invoice'), Type.Literal('credit_note')], { description: 'credit notes carry positive amounts' }),
  issuerOrgId: Uuid,
  issuerName: Type.String(),
  recipientOrgId: Uuid,
  recipientName: Type.String(),
  netCents: Cents,
  vatCents: Cents,
  totalCents: Cents,
  currency: Type.Literal('EUR'),
  vatNote: Type.Union([Type.String(), Type.Null()]),
  issuedAt: IsoTime,
});
export type InvoiceSummary = Static<typeof InvoiceSummary>;

export const InvoiceLine = Type.Object({
  id: { ...Uuid, description: "stable: named by the invoice's id and the line's number (a version 5 UUID)" },
  lineNo: Type.Integer({ description: 'the line number within the invoice, from 1' }),
  bookingId: Type.Union([Uuid, Type.Null()]),
  description: Type.String(),
  quantityTeu: Type.Integer(),
  unitPriceCents: Cents,
  amountCents: Cents,
});
export type InvoiceLine = Static<typeof InvoiceLine>;

export const InvoiceDetail = Type.Object({
  ...InvoiceSummary.properties,
  year: Type.Integer(),
  seq: Type.Integer(),
  lines: Type.Array(InvoiceLine),
});
export type InvoiceDetail = Static<typeof InvoiceDetail>;
