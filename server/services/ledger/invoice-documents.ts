import { decimalEuros, euros } from '../../core/settlement.ts';
import type { InvoiceDetail, InvoiceSummary } from '../../domain/schemas/finance.ts';

/** Invoice documents: the print-ready HTML page of one invoice and the CSV export of a list. Pure rendering. */

/** A print-ready HTML page of one invoice (A4, print styles; "save as PDF" from the browser). */
export function invoiceHtml(inv: InvoiceDetail): string {
  const title = inv.kind === 'credit_note' ? 'Credit note' : 'Invoice';
  const rows = inv.lines
    .map(
      (l) => `<tr><td>${esc(l.description)}</td><td class="num">${l.quantityTeu}</td><td class="num">${euros(l.unitPriceCents)}</td><td class="num">${euros(l.amountCents)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} ${esc(inv.number)}</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; color: #111; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
  .meta, .parties { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .5rem 2rem; margin: 1rem 0; }
  table { width: 100%; border-collapse: collapse; margin-top: 1rem; }
  th, td { border-bottom: 1px solid #ccc; padding: .4rem .3rem; text-align: left; vertical-align: top; }
  .num { text-align: right; white-space: nowrap; }
  tfoot td { border: none; font-weight: 600; }
  .note { margin-top: 1.5rem; font-size: .9rem; color: #333; }
  .credit { color: #a00; }
  @page { size: A4; margin: 18mm; }
  @media print {
    body { margin: 0; max-width: none; font-size: 11pt; }
    .noprint { display: none; }
    tr { page-break-inside: avoid; }
  }
</style>
</head>
<body>
<p class="noprint">Print this page or save it as PDF (your browser's Print or Share menu; Ctrl+P / ⌘P).</p>
<h1 class="${inv.kind === 'credit_note' ? 'credit' : ''}">${title} ${esc(inv.number)}</h1>
<div class="meta"><div>Issued ${esc(inv.issuedAt.slice(0, 10))}</div><div>Currency EUR</div></div>
<div class="parties">
  <div><strong>From</strong><br>${esc(inv.issuerName)}</div>
  <div><strong>To</strong><br>${esc(inv.recipientName)}</div>
</div>
<table>
<thead><tr><th>Description</th><th class="num">TEU</th><th class="num">Unit price</th><th class="num">Amount</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot>
<tr><td colspan="3" class="num">Net</td><td class="num">${euros(inv.netCents)}</td></tr>
<tr><td colspan="3" class="num">VAT</td><td class="num">${euros(inv.vatCents)}</td></tr>
<tr><td colspan="3" class="num">${inv.kind === 'credit_note' ? 'Total credited' : 'Total due'}</td><td class="num">${euros(inv.totalCents)}</td></tr>
</tfoot>
</table>
${inv.vatNote ? `<p class="note">${esc(inv.vatNote)}</p>` : ''}
<p class="note">Issued through Cluster Exchange on behalf of ${esc(inv.issuerName)}.</p>
</body>
</html>
`;
}

/** Invoices as CSV (amounts in cents; credit notes carry positive amounts and kind credit_note). */
export function invoicesCsv(list: InvoiceSummary[]): string {
  // the amounts in cents (exact, as the API gives them) and, appended so that the earlier columns keep their places, in
  // euros with two decimals for a spreadsheet or an accounting import
  const head = ['number', 'kind', 'issued_at', 'issuer', 'recipient', 'net_cents', 'vat_cents', 'total_cents', 'currency', 'id', 'net_eur', 'vat_eur', 'total_eur'];
  const lines = list.map((i) =>
    [i.number, i.kind, i.issuedAt, i.issuerName, i.recipientName, i.netCents, i.vatCents, i.totalCents, i.currency, i.id]
      .map(csvCell)
      .concat([i.netCents, i.vatCents, i.totalCents].map(decimalEuros))
      .join(','),
  );
  return [head.join(','), ...lines].join('\r\n') + '\r\n';
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** RFC 4180 quoting; text starting with = + - @ is prefixed with ' so spreadsheets do not run it as a formula. */
function csvCell(v: string | number): string {
  if (typeof v === 'number') return String(v);
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
