import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS, WAIT, goHash, launchChromium, signInThroughForm } from '../helpers/browser.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { httpSignIn, startServer, startWorker, type Proc } from '../helpers/procs.ts';

/**
 * Issue 11 acceptance (client): the scheduler's dashboard shows the network map (an SVG with a path
 * per corridor) and the corridor × day heatmap, and every request of the page goes to the app's own
 * origin (the map is drawn offline); a booking a forwarder makes in another browser context moves the
 * scheduler's figures without a reload. An operator gets its own variant; a forwarder gets "My impact"
 * and no network dashboard.
 *
 * The demo template has departures but no bookings: the test makes its own departure (cut-off in a
 * day, so it is also "at risk": nothing booked, below its minimum load) and books on it.
 */

const DAY_MS = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function watchPage(page: Page, who: string, errors: string[]) {
  page.on('pageerror', (e) => errors.push(`${who} pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${who} console: ${m.text()}`);
  });
}

describe('the dashboards in the browser', () => {
  let env: TestEnv;
  let server: Proc;
  let worker: Proc;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    env = await createTestEnv();
    [server, worker, browser] = await Promise.all([startServer(env.cfg), startWorker(env.cfg), launchChromium()]);
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await Promise.all([server, worker].filter(Boolean).map((p) => p.stop()));
    await env?.cleanup();
  });

  async function newPage(who: string, viewport = { width: 1400, height: 900 }) {
    const ctx = await browser.newContext({ viewport });
    contexts.push(ctx);
    const page = await ctx.newPage();
    watchPage(page, who, errors);
    return page;
  }

  /** every URL the page asks for over the network (http(s) requests and WebSockets) */
  function recordRequests(page: Page): string[] {
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    page.on('websocket', (ws) => urls.push(ws.url()));
    return urls;
  }

  async function ready(page: Page, testId: 'dashboard' | 'impact') {
    await page.getByTestId(testId).waitFor({ timeout: WAIT });
    await expect.poll(() => page.getByTestId(testId).getAttribute('data-status'), { timeout: WAIT }).toBe('ready');
  }

  it('scheduler: map and heatmap, no other host, and a forwarder booking moves the figures without reload', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 30, capacityTonnes: 900, corridorCode: 'DEDUI-ITBLQ-rail', cutoffInMs: DAY_MS });

    const sched = await newPage('scheduler');
    const requests = recordRequests(sched);
    await signInThroughForm(sched, server.url, 'scheduler@demo.test');
    await expect.poll(() => sched.locator('nav[aria-label="Main"] a', { hasText: 'Dashboard' }).count(), { timeout: WAIT }).toBe(1);
    await goHash(sched, '#/dashboard');
    await ready(sched, 'dashboard');
    expect(await sched.getByTestId('dashboard').getAttribute('data-scope')).toBe('network');

    // the network map: an SVG with the land and a path per corridor
    const map = sched.getByTestId('network-map');
    await map.locator('svg').first().waitFor({ timeout: WAIT });
    await expect.poll(() => map.locator('svg [data-corridor-id] path').count(), { timeout: WAIT }).toBeGreaterThan(0);
    expect(await map.locator(`svg [data-corridor-id="${d.corridorId}"]`).count()).toBe(1);
    // the heatmap: a table with a cell per corridor and day
    const heat = sched.getByTestId('heatmap');
    await expect.poll(() => heat.locator('table td').count(), { timeout: WAIT }).toBeGreaterThanOrEqual(14);
    // KPI tiles and the look-ahead corridor table
    for (const k of ['loadFactor', 'bookedTeu', 'co2eSaved', 'trucksAvoided', 'revenue']) await sched.getByTestId(`kpi-${k}`).waitFor({ timeout: WAIT });
    const row = sched.locator(`[data-testid="corridor-row"][data-corridor-id="${d.corridorId}"]`);
    await row.waitFor({ timeout: WAIT });
    const bookedBefore = Number(await row.getAttribute('data-booked-teu'));
    const aheadBefore = Number(await sched.getByTestId('ahead-booked').getAttribute('data-value'));
    expect(Number.isFinite(bookedBefore) && Number.isFinite(aheadBefore)).toBe(true);
    // our departure: nothing booked a day before its cut-off, below its minimum load
    await sched.getByTestId('at-risk').waitFor({ timeout: WAIT });
    if (await sched.getByTestId('at-risk-more').count()) await sched.getByTestId('at-risk-more').click();
    const risk = sched.locator(`[data-testid="at-risk-row"][data-departure-id="${d.departureId}"]`);
    await risk.waitFor({ timeout: WAIT });
    // the proposal column: none yet, or — once the worker's scheduled optimisation has run — the proposal to cancel
    // this empty departure near its cut-off (when the page read it is the worker's timing, not the test's)
    expect(await risk.textContent()).toMatch(/no proposal|Proposed for cancellation/);
    // every table has a CSV export
    for (const id of ['heatmap-csv', 'corridors-csv', 'at-risk-csv', 'history-csv', 'modes-csv', 'price-csv', 'operators-csv']) {
      expect(await sched.getByTestId(id).count(), id).toBe(1);
    }
    const csvHref = await sched.getByTestId('corridors-csv').getAttribute('href');
    expect(csvHref).toMatch(/^\/api\/stats\/utilisation\?.*format=csv/);
    const csv = await sched.evaluate(async (href) => {
      const r = await fetch(href!);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, csvHref);
    expect(csv.status).toBe(200);
    expect(csv.type).toMatch(/^text\/csv/);
    expect(csv.text.split(/\r?\n/)[0]).toMatch(/corridorCode/);

    await expect.poll(() => sched.getByTestId('live-status').getAttribute('data-state'), { timeout: WAIT }).toBe('live');
    const shot = path.join(RESULTS, 'dashboard-scheduler.png');
    await sched.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);

    // the map and everything else came from the app's own origin
    const origin = new URL(server.url);
    const foreign = requests.filter((u) => {
      const url = new URL(u);
      if (url.protocol === 'data:' || url.protocol === 'blob:') return false;
      return url.host !== origin.host;
    });
    expect(requests.length).toBeGreaterThan(5);
    expect(foreign, 'requests to another host').toEqual([]);

    // a reload would wipe this marker out
    await sched.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 11));
    const asOfBefore = await sched.getByTestId('as-of').getAttribute('data-as-of');
    const activity = sched.getByTestId('market-activity');
    await activity.waitFor({ timeout: WAIT });
    const bookingsBefore = Number(await activity.getAttribute('data-bookings'));

    // ---- a forwarder, in another browser context, holds 5 TEU and confirms ----
    const fwd = await newPage('forwarder1', { width: 1280, height: 800 });
    await signInThroughForm(fwd, server.url, 'forwarder1@demo.test');
    await goHash(fwd, `#/departures/${d.departureId}`);
    await fwd.getByTestId('departure-detail').waitFor({ timeout: WAIT });
    const listing = fwd.locator(`[data-testid="listing-row"][data-listing-id="${d.listingId}"]`);
    await listing.getByTestId('hold-open').click({ timeout: WAIT });
    await fwd.getByTestId('hold-teu').fill('5');
    await fwd.getByTestId('hold-tonnes').fill('100');
    await fwd.getByTestId('hold-submit').click({ timeout: WAIT });
    await fwd.getByTestId('hold-success').waitFor({ timeout: WAIT });
    // booked from the departure page itself, without going to My holds
    await fwd.getByTestId('book-now').click({ timeout: WAIT });
    await expect.poll(async () => (await fwd.getByTestId('book-now-done').textContent({ timeout: WAIT })) ?? '', { timeout: WAIT }).toMatch(/^Booked: #[0-9a-f]{8}, €2,500\.00\./);
    // one booking of 5 TEU (the worker may already have settled it)
    const made = await env.db.selectFrom('bookings').select('status').where('departure_id', '=', d.departureId).where('teu', '=', 5).execute();
    expect(made.length).toBe(1);
    expect(['confirmed', 'settled']).toContain(made[0]!.status);

    // ---- the scheduler's page follows, without a reload ----
    await expect.poll(async () => Number(await row.getAttribute('data-booked-teu')), { timeout: WAIT }).toBe(bookedBefore + 5);
    await expect.poll(async () => Number(await sched.getByTestId('ahead-booked').getAttribute('data-value')), { timeout: WAIT }).toBe(aheadBefore + 5);
    // the market strip counts the booking just made (the key figures go by the day a departure runs)
    // (at least: the demo's own auctions may close and book meanwhile)
    await expect.poll(async () => Number(await activity.getAttribute('data-bookings')), { timeout: WAIT }).toBeGreaterThanOrEqual(bookingsBefore + 1);
    const asOfAfter = await sched.getByTestId('as-of').getAttribute('data-as-of');
    expect(asOfAfter && asOfBefore && asOfAfter > asOfBefore).toBe(true);
    expect(await sched.evaluate(() => (window as unknown as { __noReload?: number }).__noReload)).toBe(11);
    await sched.screenshot({ path: path.join(RESULTS, 'dashboard-scheduler-after-booking.png'), fullPage: true });

    // ---- the forwarder's own figures: #/impact over the days of its new booking ----
    await expect.poll(() => fwd.locator('nav[aria-label="Main"] a', { hasText: 'My impact' }).count(), { timeout: WAIT }).toBe(1);
    expect(await fwd.locator('nav[aria-label="Main"] a', { hasText: /^\s*Dashboard\s*$/ }).count()).toBe(0);
    const today = utcDay(Date.now());
    await goHash(fwd, `#/impact?from=${today}&to=${utcDay(Date.now() + 13 * DAY_MS)}`);
    await ready(fwd, 'impact');
    await expect.poll(async () => Number(await fwd.getByTestId('kpi-bookedTeu').getAttribute('data-value')), { timeout: WAIT }).toBeGreaterThanOrEqual(5);
    expect(Number(await fwd.getByTestId('kpi-co2eSaved').getAttribute('data-value'))).toBeGreaterThan(0);
    expect(await fwd.getByTestId('kpi-loadFactor').count()).toBe(0);
    expect(await fwd.locator(`[data-testid="corridor-row"][data-corridor-id="${d.corridorId}"]`).count()).toBe(1);
    await fwd.screenshot({ path: path.join(RESULTS, 'impact-forwarder.png'), fullPage: true });
    // no network dashboard for a forwarder
    await goHash(fwd, '#/dashboard');
    await fwd.getByText('This page is not available for your organisation.').waitFor({ timeout: WAIT });
    expect(await fwd.getByTestId('network-map').count()).toBe(0);

    expect(errors.filter((e) => e.includes('pageerror')), errors.join('\n')).toEqual([]);
  });

  it('operator: its own variant with the network load factor beside its own', async () => {
    const op = await newPage('operator1');
    const requests = recordRequests(op);
    await signInThroughForm(op, server.url, 'operator1@demo.test');
    await goHash(op, '#/dashboard');
    await ready(op, 'dashboard');
    expect(await op.getByTestId('dashboard').getAttribute('data-scope')).toBe('operator');
    expect(await op.getByRole('heading', { level: 1 }).textContent()).toContain('Operator dashboard');
    await expect.poll(async () => (await op.getByTestId('kpi-loadFactor').textContent()) ?? '', { timeout: WAIT }).toMatch(/Network: (\d|—)/);
    await op.getByTestId('network-map').locator('svg').first().waitFor({ timeout: WAIT });
    // no operator filter and no operator table for an operator
    expect(await op.getByTestId('filter-operator').count()).toBe(0);
    expect(await op.getByTestId('operators-csv').count()).toBe(0);
    // the history charts cover the period, like the tiles and the tables: a row per day in their data tables
    const historyDays = () => op.locator('section[aria-labelledby="history-h"] figure').first().locator('tbody tr').count();
    await expect.poll(historyDays, { timeout: WAIT }).toBe(30);
    await op.getByTestId('filter-period').selectOption('7');
    await expect.poll(historyDays, { timeout: WAIT }).toBe(7);
    expect(await op.getByTestId('history-csv').getAttribute('href')).toContain(`from=${utcDay(Date.now() - 6 * DAY_MS)}`);
    await expect.poll(() => op.getByTestId('live-status').getAttribute('data-state'), { timeout: WAIT }).toBe('live');
    await op.screenshot({ path: path.join(RESULTS, 'dashboard-operator.png'), fullPage: true });
    const origin = new URL(server.url).host;
    expect(requests.filter((u) => /^(https?|wss?):/.test(u) && new URL(u).host !== origin)).toEqual([]);
    expect(errors.filter((e) => e.includes('pageerror')), errors.join('\n')).toEqual([]);
  });

  it('without a live connection the dashboard re-reads every 30 s and still shows a booking', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 600, corridorCode: 'NLRTM-DEDUI-barge', cutoffInMs: 3 * DAY_MS });
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    contexts.push(ctx);
    // no Socket.IO: neither the WebSocket nor the long-polling fallback gets through
    await ctx.routeWebSocket(/\/socket\.io\//, (ws) => ws.close());
    await ctx.route('**/socket.io/**', (r) => r.abort());
    // the page's clock runs as usual but can jump: the test skips the 30 s wait instead of sleeping through it
    await ctx.clock.install();
    const page = await ctx.newPage();
    watchPage(page, 'scheduler-offline', errors);
    await signInThroughForm(page, server.url, 'scheduler@demo.test');
    await goHash(page, '#/dashboard');
    await ready(page, 'dashboard');
    expect(await page.getByTestId('freshness').getAttribute('data-live')).not.toBe('live');
    expect(await page.getByTestId('freshness').textContent()).toContain('refreshing every 30 s');
    const row = page.locator(`[data-testid="corridor-row"][data-corridor-id="${d.corridorId}"]`);
    await row.waitFor({ timeout: WAIT });
    const before = Number(await row.getAttribute('data-booked-teu'));

    // a forwarder books 4 TEU over the API
    const f = await httpSignIn(server.url, 'forwarder2@demo.test');
    const headers = { 'content-type': 'application/json', cookie: f.cookie, 'x-csrf-token': f.csrf };
    const hold = await fetch(`${server.url}/api/holds`, { method: 'POST', headers, body: JSON.stringify({ listingId: d.listingId, teu: 4, tonnes: 80 }) });
    expect(hold.status, await hold.clone().text()).toBe(201);
    const { id } = (await hold.json()) as { id: string };
    const conf = await fetch(`${server.url}/api/holds/${id}/confirm`, { method: 'POST', headers, body: JSON.stringify({ reference: 'PO-POLL' }) });
    expect(conf.status, await conf.clone().text()).toBe(201);

    // the next periodic read brings it (one period on)
    await page.clock.fastForward(31_000);
    await expect.poll(async () => Number(await row.getAttribute('data-booked-teu')), { timeout: WAIT, interval: 500 }).toBe(before + 4);
    expect(errors.filter((e) => e.includes('scheduler-offline pageerror')), errors.join('\n')).toEqual([]);
  }, 120_000);
});
