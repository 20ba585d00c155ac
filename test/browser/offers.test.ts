import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS, WAIT, goHash, launchChromium, signInThroughForm } from '../helpers/browser.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { httpSignIn, startServer, type Proc } from '../helpers/procs.ts';

/**
 * Issue 14: forwarder 2 saves a watch on the Watches page; forwarder 1 cancels a booking on its "My bookings" screen;
 * forwarder 2's screen shows the offer live (banner with its countdown) and accepts it — a hold at the offered price.
 */
describe('a cancellation on one forwarder’s screen produces a live offer on another’s', () => {
  let env: TestEnv;
  let server: Proc;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    env = await createTestEnv({ cfg: { offerWindowMs: 120_000 } });
    // no worker: the booking stays `confirmed` (settled bookings have no Cancel button on the page); the offer, its live
    // event and the accept are the server's own work
    [server, browser] = await Promise.all([startServer(env.cfg), launchChromium()]);
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    await env?.cleanup();
  });

  async function newPage(who: string) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`${who} pageerror: ${e.message}`));
    return page;
  }

  it('watch → cancellation → live offer → accept', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 30, capacityTonnes: 900, unitPriceCents: 42_000 });
    // forwarder 1 books 3 TEU (through the API: the cancellation is what happens on its screen)
    const f1 = await httpSignIn(server.url, 'forwarder1@demo.test');
    const call = async (method: string, url: string, body?: unknown) => {
      const r = await fetch(`${server.url}${url}`, {
        method, headers: { cookie: f1.cookie, 'x-csrf-token': f1.csrf, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}),
      });
      return r.json() as Promise<{ id: string }>;
    };
    const hold = await call('POST', '/api/holds', { listingId: d.listingId, teu: 3, tonnes: 30 });
    const booking = await call('POST', `/api/holds/${hold.id}/confirm`, {});

    const [p1, p2] = await Promise.all([newPage('forwarder1'), newPage('forwarder2')]);
    await Promise.all([signInThroughForm(p1, server.url, 'forwarder1@demo.test'), signInThroughForm(p2, server.url, 'forwarder2@demo.test')]);

    // ---- forwarder 2 watches Duisburg → Bologna on the Watches page ----
    await goHash(p2, '#/watches');
    const form = p2.getByTestId('watch-form');
    await form.waitFor({ timeout: WAIT });
    await form.locator('select[name="from"]').selectOption('DEDUI');
    await form.locator('select[name="to"]').selectOption('ITBLQ');
    await form.locator('input[name="minTeu"]').fill('2');
    await form.getByRole('button', { name: 'Watch' }).click();
    await p2.getByTestId('watch').first().waitFor({ timeout: WAIT });
    // what already matches is said at once (this test's departure has 27 TEU at €420 on sale), with a link to the board
    const onSale = p2.getByTestId('watch-on-sale-now');
    await onSale.waitFor({ timeout: WAIT });
    expect(Number(await onSale.getAttribute('data-listings'))).toBeGreaterThanOrEqual(1);
    expect(await onSale.textContent()).toMatch(/\d TEU from €[\d,.]+ per TEU/);
    expect(await onSale.getByRole('link', { name: 'see them on the board' }).getAttribute('href')).toBe('#/board?from=DEDUI&to=ITBLQ&teu=2'); // the watch's minimum TEU too
    await expect.poll(() => p2.getByTestId('live-status').getAttribute('data-state'), { timeout: WAIT }).toBe('live');

    // ---- forwarder 1 cancels the booking on My bookings ----
    await goHash(p1, '#/bookings');
    const row = p1.locator(`[data-testid="booking-row"][data-booking-id="${booking.id}"]`);
    await row.getByTestId('booking-cancel').click({ timeout: WAIT });
    await p1.getByTestId('confirm-dialog-ok').click({ timeout: WAIT });
    await expect.poll(() => row.getAttribute('data-status'), { timeout: WAIT }).toBe('cancelled');

    // ---- forwarder 2: the offer appears live, with its countdown; accepting it holds the capacity ----
    const offer = p2.getByTestId('offer').first();
    await offer.waitFor({ timeout: WAIT });
    expect(await offer.textContent()).toContain('3 TEU');
    expect(await p2.getByTestId('offer-countdown').first().textContent()).toMatch(/\d+:\d\d left/);
    await p2.screenshot({ path: path.join(RESULTS, 'offer-banner.png') });
    await offer.getByTestId('offer-accept').click();
    await expect.poll(async () => (await p2.getByTestId('offer-notice').textContent()) ?? '', { timeout: WAIT }).toContain('Accepted');
    const f2Org = (await httpSignIn(server.url, 'forwarder2@demo.test')).orgId;
    const held = await env.db.selectFrom('holds').select(['teu', 'unit_price_cents', 'status']).where('org_id', '=', f2Org).where('departure_id', '=', d.departureId).execute();
    expect(held).toEqual([{ teu: 3, unit_price_cents: 42_000, status: 'active' }]);

    // ---- a watch with a price cap: the board behind its link keeps the cap (a walkthrough counted 6 matching and 16
    // on the board) — only what is on sale at or below it ----
    await goHash(p2, '#/watches');
    await form.waitFor({ timeout: WAIT });
    await form.locator('select[name="from"]').selectOption('DEDUI');
    await form.locator('select[name="to"]').selectOption('ITBLQ');
    await form.locator('input[name="maxPrice"]').fill('500');
    await form.getByRole('button', { name: 'Watch' }).click();
    const capped = p2.getByTestId('watch-on-sale-now').getByRole('link', { name: 'see them on the board' });
    await expect.poll(() => capped.getAttribute('href'), { timeout: WAIT }).toBe('#/board?from=DEDUI&to=ITBLQ&max=50000&teu=2'); // the form kept its 2 TEU
    await capped.click();
    await p2.getByTestId('filter-max').waitFor({ timeout: WAIT });
    await p2.locator('[data-testid="board"][data-status="ready"]').waitFor({ timeout: WAIT });
    const froms = await p2.getByTestId('on-sale').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-from') || NaN)));
    expect(froms.length).toBeGreaterThan(0);
    for (const f of froms) expect(f).toBeLessThanOrEqual(50_000);
    for (const t of await p2.getByTestId('on-sale').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-teu'))))) expect(t).toBeGreaterThanOrEqual(2);
    await goHash(p2, '#/board?from=DEDUI&to=ITBLQ&max=1');
    await p2.getByTestId('empty-state').waitFor({ timeout: WAIT });
    expect(errors).toEqual([]);
  });
  // a walkthrough found no way for an operator to mark a no-show (the API had one) nor to see its re-offers
  it('the operator marks a no-show on its Bookings page; the departure page shows who the capacity was offered to', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 30, capacityTonnes: 900, unitPriceCents: 39_000 });
    const op = await httpSignIn(server.url, 'operator1@demo.test');
    await env.db.updateTable('departures').set({ operator_org_id: op.orgId }).where('id', '=', d.departureId).execute();
    const api = async (who: { cookie: string; csrf: string }, method: string, url: string, body?: unknown) => {
      const r = await fetch(`${server.url}${url}`, {
        method, headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}),
      });
      return r.json() as Promise<Record<string, unknown>>;
    };
    const f1 = await httpSignIn(server.url, 'forwarder1@demo.test');
    const f3 = await httpSignIn(server.url, 'forwarder3@demo.test');
    const hold = await api(f1, 'POST', '/api/holds', { listingId: d.listingId, teu: 4, tonnes: 40 });
    const booking = await api(f1, 'POST', `/api/holds/${hold.id as string}/confirm`, {});
    // forwarder 3 watches the route: the freed capacity is offered to it first
    await api(f3, 'POST', '/api/watches', { from: 'DEDUI', to: 'ITBLQ', minTeu: 4 });
    const f3Name = ((await (await fetch(`${server.url}/api/me`, { headers: { cookie: f3.cookie } })).json()) as { org: { name: string } }).org.name;

    const page = await newPage('operator1');
    await signInThroughForm(page, server.url, 'operator1@demo.test');
    await goHash(page, `#/departures/${d.departureId}`);
    await page.getByTestId('offer-chains-empty').waitFor({ timeout: WAIT });
    // its operator sees the load against the minimum, as the database has it
    const load = await env.db.selectFrom('departures').select(['booked_teu', 'held_teu', 'min_load_teu']).where('id', '=', d.departureId).executeTakeFirstOrThrow();
    const loadBox = page.getByTestId('departure-load');
    expect(await loadBox.textContent()).toContain(`${load.booked_teu} booked · ${load.held_teu} held · minimum ${load.min_load_teu}`);
    expect(await loadBox.getAttribute('data-short')).toBe(String(Math.max(0, load.min_load_teu - load.booked_teu)));
    // and who is on it: the manifest names the booking's customer (a walkthrough found no way to see who rides)
    const f1Name = ((await (await fetch(`${server.url}/api/me`, { headers: { cookie: f1.cookie } })).json()) as { org: { name: string } }).org.name;
    const onBoard = page.locator(`[data-testid="manifest-booking"][data-booking-id="${booking.id as string}"]`);
    await onBoard.waitFor({ timeout: WAIT });
    expect(await onBoard.textContent()).toContain(f1Name);
    expect(await onBoard.textContent()).toContain('4 TEU');
    expect(await page.getByTestId('manifest-totals').textContent()).toMatch(new RegExp(`1\\s*booking · ${load.booked_teu}\\s*TEU`));

    await goHash(page, '#/bookings');
    const row = page.locator(`[data-testid="booking-row"][data-booking-id="${booking.id as string}"]`);
    await row.getByTestId('booking-no-show').click({ timeout: WAIT });
    expect(await page.getByTestId('no-show-text').textContent()).toContain('4 TEU');
    await page.getByTestId('confirm-dialog-ok').click({ timeout: WAIT });
    await expect.poll(() => row.getAttribute('data-status'), { timeout: WAIT }).toBe('cancelled');
    expect(await row.getByTestId('booking-no-show').count()).toBe(0);
    const stored = await env.db.selectFrom('bookings').select(['status', 'no_show_at', 'cancellation_fee_cents']).where('id', '=', booking.id as string).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ status: 'cancelled', cancellation_fee_cents: 4 * 39_000 });
    expect(stored.no_show_at).not.toBeNull();

    await goHash(page, `#/departures/${d.departureId}`);
    const chain = page.getByTestId('offer-chain').first();
    await chain.waitFor({ timeout: WAIT });
    expect(await chain.getAttribute('data-reason')).toBe('no_show');
    // offered to a watcher of the route first (forwarder 2's watch from the test above, or forwarder 3's)
    const f2Name = ((await (await fetch(`${server.url}/api/me`, { headers: { cookie: (await httpSignIn(server.url, 'forwarder2@demo.test')).cookie } })).json()) as { org: { name: string } }).org.name;
    await expect.poll(async () => (await chain.textContent()) ?? '', { timeout: WAIT }).toMatch(new RegExp(`(${f2Name}|${f3Name}) deciding now`));
    await page.screenshot({ path: path.join(RESULTS, 'offer-chains.png') });
    // the no-show left the manifest's active list; it is there among the cancelled ones, with why
    await expect.poll(() => onBoard.count(), { timeout: WAIT }).toBe(0);
    await page.getByTestId('manifest-show-cancelled').click();
    await expect.poll(async () => (await onBoard.textContent()) ?? '', { timeout: WAIT }).toContain('no-show');
    // the operator withdraws the listing from the departure page: the dialog names whose hold it releases first
    const fresh = await api(f1, 'POST', '/api/holds', { listingId: d.listingId, teu: 2, tonnes: 20 });
    expect(fresh.status).toBe('active');
    await page.locator(`[data-testid="listing-row"][data-listing-id="${d.listingId}"]`).getByTestId('listing-withdraw').click({ timeout: WAIT });
    const holdsText = page.getByTestId('withdraw-holds');
    await holdsText.waitFor({ timeout: WAIT });
    expect(await holdsText.textContent()).toMatch(new RegExp(`1 active hold \\(2 TEU\\)\\s*by ${f1Name}`));
    await page.getByTestId('confirm-dialog-ok').click();
    await expect.poll(async () => (await env.db.selectFrom('listings').select('status').where('id', '=', d.listingId).executeTakeFirstOrThrow()).status, { timeout: WAIT }).toBe('cancelled');
    // its holds end right after the listing's own transaction (HoldsService.endAllOfListing), before the answer
    await expect.poll(async () => (await env.db.selectFrom('holds').select('status').where('id', '=', fresh.id as string).executeTakeFirstOrThrow()).status, { timeout: WAIT }).not.toBe('active');
    await expect.poll(() => page.locator(`[data-testid="listing-row"][data-listing-id="${d.listingId}"]`).getByTestId('listing-withdraw').count(), { timeout: WAIT }).toBe(0);
    // a forwarder's view of the same departure has no such section
    const fp = await newPage('forwarder1');
    await signInThroughForm(fp, server.url, 'forwarder1@demo.test');
    await goHash(fp, `#/departures/${d.departureId}`);
    await fp.getByTestId('departure-detail').waitFor({ timeout: WAIT }); // (its one listing is withdrawn above)
    expect(await fp.getByTestId('offer-chains').count()).toBe(0);
    expect(await fp.getByTestId('manifest').count()).toBe(0);
    expect(await fp.getByTestId('listing-withdraw').count()).toBe(0);
    expect(await fp.getByTestId('departure-load').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
