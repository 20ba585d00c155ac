/** Finance: ledger balances, recent transfers and invoices of the signed-in organisation. */
import { api, ApiError, errorMessage } from './api';
import { OlderPages } from './older-pages';
import type { Invoice, InvoiceDetail, LedgerAccount, Transfer } from './types';
import type { InvoiceCounterparty } from '../../../server/domain/schemas/finance.ts';

export const ACCOUNT_INFO: Record<string, { title: string; text: string }> = {
  forwarder_payable: {
    title: 'Payable',
    text: 'What your organisation owes for capacity it booked or won; settled against invoices.',
  },
  operator_receivable: {
    title: 'Receivable',
    text: 'What you are owed for capacity sold on your departures, after platform fees.',
  },
  platform_revenue: {
    title: 'Platform revenue',
    text: 'Fees the exchange earned on settled trades.',
  },
  escrow: {
    title: 'Escrow',
    text: 'Money held between buyer and seller until a booking is settled.',
  },
};

/** bigint columns may arrive as strings: make the money fields numbers */
function cents<T extends object>(o: T, keys: string[]): T {
  const r = { ...o } as Record<string, unknown>;
  for (const k of keys) {
    const v = r[k];
    if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) r[k] = Number(v);
  }
  return r as T;
}

export function accountTitle(kind: string | undefined) {
  if (!kind) return '—';
  return ACCOUNT_INFO[kind]?.title ?? kind.replace(/_/g, ' ');
}

/** Invoices a page at a time: a forwarder of the demo has thousands, a phone does not scroll through them. */
export const INVOICE_PAGE = 100;

const toInvoice = (i: Invoice) => cents(i, ['totalCents', 'vatCents', 'netCents']);

/** What narrows the invoice list (and its CSV): one counterparty, issue days (UTC, both included). Empty: all. */
export interface InvoiceFilter {
  counterpartyOrgId: string;
  from: string;
  to: string;
}
export const NO_INVOICE_FILTER: InvoiceFilter = { counterpartyOrgId: '', from: '', to: '' };

/** The filter as query parameters of GET /api/invoices and its CSV (empty fields left out). */
export function invoiceQuery(f: InvoiceFilter): Record<string, string> {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== ''));
}

export class Finance {
  accounts = $state<LedgerAccount[]>([]);
  /** the invoice list's filter; changing it reads the list anew */
  filter = $state<InvoiceFilter>({ ...NO_INVOICE_FILTER });
  /** the organisations there are invoices with, for the filter */
  counterparties = $state<InvoiceCounterparty[]>([]);
  transfers = $state<Transfer[]>([]);
  /** newest first, as the server orders them (issue time, then number) */
  invoices = $state<Invoice[]>([]);
  /** the cursor of the next older page; null when every invoice is shown */
  olderCursor = $state<string | null>(null);
  loadingOlder = $state(false);
  olderError = $state<string | null>(null);
  status = $state<'loading' | 'ready' | 'error'>('loading');
  error = $state<string | null>(null);
  /** per part errors while the rest still loaded */
  partErrors = $state<{ balance?: string; transfers?: string; invoices?: string }>({});
  refreshing = $state(false);
  /** invoice id → loaded detail (with lines) */
  details = $state<Record<string, InvoiceDetail | 'loading' | { error: string }>>({});
  fetchStartedAt = 0;
  #token = 0;

  /** keeps a click on "Show older" and the live re-reads from undoing each other */
  #pages = new OlderPages(INVOICE_PAGE);

  load(silent = false): Promise<void> {
    return this.#pages.reading(this.#load(silent));
  }

  async #load(silent: boolean) {
    const token = ++this.#token;
    if (silent) this.refreshing = true;
    else {
      this.status = 'loading';
      this.error = null;
    }
    this.fetchStartedAt = Date.now();
    let cursor: string | null = null;
    // a re-read keeps as many invoices as were shown or asked for (up to a full page of the API)
    const limit = this.#pages.limit(this.invoices.length);
    const [bal, tr, inv] = await Promise.allSettled([
      api.get<{ accounts?: LedgerAccount[] } | LedgerAccount[]>('/ledger/balance'),
      api.get<Transfer[] | { transfers?: Transfer[] }>('/ledger/transfers'),
      api.get<Invoice[]>('/invoices', { query: { limit, ...invoiceQuery(this.filter) }, onHeaders: (h) => (cursor = h.get('x-next-cursor')) }),
    ]);
    if (token !== this.#token) return;
    this.refreshing = false;
    const all = [bal, tr, inv];
    if (all.some((r) => r.status === 'rejected' && r.reason instanceof ApiError && r.reason.status === 401)) return;
    if (all.every((r) => r.status === 'rejected')) {
      if (silent && this.status === 'ready') return;
      this.status = 'error';
      this.error = errorMessage((bal as PromiseRejectedResult).reason);
      return;
    }
    const errs: { balance?: string; transfers?: string; invoices?: string } = {};
    if (bal.status === 'fulfilled') {
      const v = bal.value;
      this.accounts = (Array.isArray(v) ? v : (v?.accounts ?? [])).filter(Boolean).map((a) => cents(a, ['balanceCents']));
    } else errs.balance = errorMessage(bal.reason);
    if (tr.status === 'fulfilled') {
      const v = tr.value;
      const list = Array.isArray(v) ? v : (v?.transfers ?? []);
      this.transfers = list.filter(Boolean).map((t) => cents(t, ['amountCents'])).sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    } else errs.transfers = errorMessage(tr.reason);
    if (inv.status === 'fulfilled') {
      this.invoices = inv.value.filter(Boolean).map(toInvoice);
      this.olderCursor = cursor;
      this.olderError = null;
    } else errs.invoices = errorMessage(inv.reason);
    this.partErrors = errs;
    this.status = 'ready';
    this.error = null;
  }

  /** The next older page of invoices, after those shown; a re-read meanwhile brings them instead (its cursor is newer). */
  async loadOlder() {
    if (!this.olderCursor || this.loadingOlder) return;
    this.loadingOlder = true;
    this.olderError = null;
    let token = -1;
    try {
      token = await this.#pages.beforeOlder(this.invoices.length);
      if (!this.olderCursor) return;
      let cursor: string | null = null;
      const page = await api.get<Invoice[]>('/invoices', { query: { limit: INVOICE_PAGE, before: this.olderCursor, ...invoiceQuery(this.filter) }, onHeaders: (h) => (cursor = h.get('x-next-cursor')) });
      if (!this.#pages.isCurrent(token)) return await this.#pages.settled();
      const known = new Set(this.invoices.map((i) => i.id));
      this.invoices = [...this.invoices, ...page.filter((i) => i && !known.has(i.id)).map(toInvoice)];
      this.olderCursor = cursor;
    } catch (e) {
      if (this.#pages.isCurrent(token)) this.olderError = errorMessage(e);
    } finally {
      this.loadingOlder = false;
    }
  }

  /** A new filter: the list starts over from its newest page (older pages asked for under the old filter are dropped). */
  setFilter(f: InvoiceFilter): Promise<void> {
    this.filter = { ...f };
    this.invoices = [];
    this.olderCursor = null;
    this.#pages = new OlderPages(INVOICE_PAGE);
    return this.load(true);
  }

  /** The organisations there are invoices with (read once, for the filter's choices). */
  async loadCounterparties(): Promise<void> {
    try {
      this.counterparties = await api.get<InvoiceCounterparty[]>('/invoices/counterparties');
    } catch {
      this.counterparties = []; // the filter then offers the period only
    }
  }

  async toggleDetail(id: string) {
    if (this.details[id] && this.details[id] !== 'loading') {
      delete this.details[id];
      return;
    }
    this.details[id] = 'loading';
    try {
      const inv = await api.get<InvoiceDetail>(`/invoices/${encodeURIComponent(id)}`);
      this.details[id] = {
        ...cents(inv, ['totalCents', 'vatCents', 'netCents']),
        lines: (inv.lines ?? []).map((line) => cents(line, ['unitPriceCents', 'amountCents'])),
      };
    } catch (e) {
      this.details[id] = { error: errorMessage(e) };
    }
  }

  dispose() {
    this.#token++;
  }
}
