import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerService } from '../../server/services/ledger/index.ts';
import { RESULTS, WAIT, goHash, launchChromium, signInThroughForm } from '../helpers/browser.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { startServer, type Proc } from '../helpers/procs.ts';

/**
 * The Finance page of a forwarder with more invoices than a page: the newest 100 first (newest number on top), then
 * "Show older invoices" until all are in; the focus then lands on the line saying so. On a phone, so the table
 * scrolls in its own box and the page keeps the screen's width.
 */
describe('finance: invoices a page at a time', () => {
  let env: TestEnv;
  let server: Proc;
  let browser: Browser;
  const errors: string[] = [];
  const N = 130;

  beforeAll(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    env = await createTestEnv();
    [server, browser] = await Promise.all([startServer(env.cfg), launchChromium()]);
    const f1 = await env.db.selectFrom('users as u').innerJoin('memberships as m', 'm.user_id', 'u.id').select('m.org_id as id').where('u.email', '=', 'forwarder1@demo.test').executeTakeFirstOrThrow();
    const d = await createDepartureWithListing(env.db, { capacityTeu: 500, capacityTonnes: 10_000, listedTeu: 400, unitPriceCents: 10_000 });
    await env.db.updateTable('departures').set({ booked_teu: N, booked_tonnes: N * 10 }).where('id', '=', d.departureId).execute();
    const ids = (
      await env.db
        .insertInto('bookings')
        .values(Array.from({ length: N }, (_, i) => ({ departure_id: d.departureId, listing_id: d.listingId, forwarder_org_id: f1.id, teu: 1, tonnes: 10, unit_price_cents: 10_000 + i, total_cents: 10_000 + i })))
        .returning('id')
        .execute()
    ).map((r) => r.id);
    const settled = await new LedgerService(env.db, { platformFeeBps: env.cfg.platformFeeBps, vatRateBps: env.cfg.vatRateBps }).settleBookings(ids);
    expect(settled.every((r) => !(r instanceof Error))).toBe(true);
  });
  afterAll(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    await env?.cleanup();
  });

  it('shows the newest 100, then the older ones on request; the focus ends on "All … are shown"; the page keeps the phone width', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await signInThroughForm(page, server.url, 'forwarder1@demo.test');
    await goHash(page, '#/finance');
    const rows = page.getByTestId('invoice-row');
    await expect.poll(() => rows.count(), { timeout: WAIT }).toBe(100);
    const numbers = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-number') ?? ''));
    expect(numbers).toEqual([...numbers].sort().reverse()); // one issuer, one batch: the highest number first
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    // each invoice's total and its Print button are on the phone's screen without scrolling sideways (they were not)
    const first = rows.first();
    for (const cell of [first.locator('td.r.num b'), first.getByTestId('invoice-print')]) {
      const b = await cell.boundingBox();
      expect(b && b.x >= 0 && b.x + b.width <= 390 + 1, 'on screen').toBe(true);
    }
    expect(await first.getByTestId('invoice-phone-meta').textContent()).toMatch(/(to|from) .+ · /);
    await page.getByTestId('invoices-older').click();
    await expect.poll(() => rows.count(), { timeout: WAIT }).toBe(N);
    const all = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-number') ?? ''));
    expect(new Set(all).size).toBe(N);
    expect(all.slice(0, 100)).toEqual(numbers);
    await page.getByTestId('invoices-all').waitFor({ timeout: WAIT });
    expect(await page.getByTestId('invoices-older').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('invoices-all');
    await page.screenshot({ path: path.join(RESULTS, 'finance-invoices-phone.png'), fullPage: false });
    // the filter (an operator found none): a period with no invoice, then back to all; one counterparty, and the CSV follows
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await page.getByTestId('invoice-filter-from').fill(tomorrow);
    await page.getByTestId('invoice-filter-from').dispatchEvent('change');
    await expect.poll(async () => (await page.getByTestId('invoices-none-filtered').textContent()) ?? '', { timeout: WAIT }).toContain('No invoice matches');
    expect(await rows.count()).toBe(0);
    await page.getByTestId('invoice-filter-clear').click();
    await expect.poll(() => rows.count(), { timeout: WAIT }).toBe(100);
    const party = page.getByTestId('invoice-filter-party');
    await expect.poll(() => party.locator('option').count(), { timeout: WAIT }).toBe(2); // All + the one operator
    await party.selectOption({ index: 1 });
    await expect.poll(async () => (await page.getByTestId('invoices-csv').getAttribute('href')) ?? '', { timeout: WAIT }).toMatch(/^\/api\/invoices\.csv\?counterpartyOrgId=[0-9a-f-]{36}$/);
    await expect.poll(() => rows.count(), { timeout: WAIT }).toBe(100);
    expect(errors).toEqual([]);
    await ctx.close();
  });
});
