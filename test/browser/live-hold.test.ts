import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { RESULTS, WAIT, launchChromium, signInThroughForm, goHash } from '../helpers/browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, departureState } from '../helpers/fixtures.ts';
import { startServer, startWorker, type Proc } from '../helpers/procs.ts';

/**
 * Issue 3 acceptance: forwarder 1 (browser on server A) holds 5 TEU through the hold form and
 * confirms it on "My holds"; forwarder 2 (browser on server B, same corridor on the board) sees the
 * departure's free TEU drop to 25 without reloading. Postgres ends with 5 booked, 0 held. The departure's operator
 * (browser on server B) sees the hold on its console live, with the forwarder's name, until it is confirmed; My holds and
 * My bookings name the departure (route, asset) and link to it.
 */





describe('a hold on one server shows live on another', () => {
  let env: TestEnv;
  let a: Proc;
  let b: Proc;
  let worker: Proc;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    env = await createTestEnv();
    [a, b, worker, browser] = await Promise.all([startServer(env.cfg), startServer(env.cfg), startWorker(env.cfg), launchChromium()]);
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await Promise.all([a, b, worker].filter(Boolean).map((p) => p.stop()));
    await env?.cleanup();
  });

  async function newPage(who: string) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`${who} pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${who} console: ${m.text()}`);
    });
    return page;
  }

  it('forwarder 1 holds and confirms 5 TEU on A; forwarder 2 on B sees 25 free without reload', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 30, capacityTonnes: 900, corridorCode: 'DEDUI-ITBLQ-rail' });
    const depRow = await env.db.selectFrom('departures').select('departs_at').where('id', '=', d.departureId).executeTakeFirstOrThrow();
    const date = new Date(depRow.departs_at).toISOString().slice(0, 10);

    const operator = await env.db
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select('u.email')
      .where('m.org_id', '=', d.operatorOrgId)
      .orderBy('u.email')
      .executeTakeFirstOrThrow();
    const [p1, p2, p3] = await Promise.all([newPage('forwarder1@A'), newPage('forwarder2@B'), newPage('operator@B')]);
    await Promise.all([
      signInThroughForm(p1, a.url, 'forwarder1@demo.test'), signInThroughForm(p2, b.url, 'forwarder2@demo.test'), signInThroughForm(p3, b.url, operator.email),
    ]);

    // ---- the departure's operator: its console on server B, no hold on it yet ----
    await goHash(p3, '#/operator');
    await p3.getByTestId('operator-holds').waitFor({ timeout: WAIT });
    await expect.poll(() => p3.getByTestId('live-status').getAttribute('data-state'), { timeout: WAIT }).toBe('live');
    const opHold = p3.locator(`[data-testid="operator-hold"][data-departure-id="${d.departureId}"]`);
    expect(await opHold.count()).toBe(0);

    // ---- forwarder 2: the board on server B, filtered to the departure's corridor and day ----
    await goHash(p2, `#/board?from=DEDUI&to=ITBLQ&mode=rail&date=${date}`);
    const row2 = p2.locator(`[data-testid="departure-row"][data-departure-id="${d.departureId}"]`);
    await row2.waitFor({ timeout: WAIT });
    const teu2 = row2.getByTestId('capacity-teu');
    await expect.poll(() => teu2.getAttribute('data-free'), { timeout: WAIT }).toBe('30');
    expect(await teu2.getAttribute('data-total')).toBe('30');
    await expect.poll(() => p2.getByTestId('live-status').getAttribute('data-state'), { timeout: WAIT }).toBe('live');
    // a reload of forwarder 2's page would wipe this marker out
    await p2.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 7));

    // ---- forwarder 1: the departure page on server A, hold 5 TEU through the form ----
    await goHash(p1, `#/departures/${d.departureId}`);
    await p1.getByTestId('departure-detail').waitFor({ timeout: WAIT });
    await expect.poll(() => p1.getByTestId('live-status').getAttribute('data-state'), { timeout: WAIT }).toBe('live');
    const listing = p1.locator(`[data-testid="listing-row"][data-listing-id="${d.listingId}"]`);
    await listing.getByTestId('hold-open').click({ timeout: WAIT });
    await p1.getByTestId('hold-teu').fill('5');
    await p1.getByTestId('hold-tonnes').fill('100');
    await p1.getByTestId('hold-submit').click({ timeout: WAIT });
    await Promise.race([
      p1.getByTestId('hold-success').waitFor({ timeout: WAIT }),
      p1
        .getByTestId('hold-error')
        .waitFor({ timeout: WAIT })
        .then(async () => {
          throw new Error(`hold refused: ${await p1.getByTestId('hold-error').textContent()}`);
        }),
    ]);
    // the departure page itself follows the change
    await expect.poll(() => p1.locator('[data-testid="departure-detail"] [data-testid="capacity-teu"]').getAttribute('data-free'), { timeout: WAIT }).toBe('25');

    // forwarder 2 on the other server sees the hold without a reload
    await expect.poll(() => teu2.getAttribute('data-free'), { timeout: WAIT }).toBe('25');
    expect(await row2.getByTestId('capacity-tonnes').getAttribute('data-free')).toBe('800');
    let pg = await departureState(env.db, d.departureId);
    expect(pg).toMatchObject({ held_teu: 5, booked_teu: 0 });
    // the operator's console shows the hold without a reload: who holds it, how much, for how long
    await opHold.waitFor({ timeout: WAIT });
    expect(await opHold.getByTestId('operator-hold-forwarder').textContent()).toContain('Nordhafen Spedition');
    expect(await opHold.textContent()).toContain('Test Shuttle');
    expect((await opHold.getByTestId('operator-hold-expires').textContent())?.trim()).toMatch(/\d:\d\d/);

    // ---- forwarder 1 confirms the hold on "My holds" ----
    await goHash(p1, '#/holds');
    const hold = p1.getByTestId('hold-row').first();
    await hold.waitFor({ timeout: WAIT });
    expect(await p1.getByTestId('hold-row').count()).toBe(1);
    expect((await hold.getByTestId('hold-countdown').textContent())?.trim()).toMatch(/\d/);
    // the row names its departure (route, asset) and links to it
    const holdDep = hold.getByTestId('departure-link');
    expect(await holdDep.getAttribute('href')).toBe(`#/departures/${d.departureId}`);
    expect(await holdDep.textContent()).toMatch(/DEDUI\s*→\s*to\s*ITBLQ/);
    expect(await hold.getByTestId('departure-cell').textContent()).toContain('Test Shuttle');
    await hold.getByTestId('hold-confirm-open').click({ timeout: WAIT });
    await p1.getByTestId('confirm-reference').fill('PO-4711');
    await p1.getByTestId('confirm-submit').click({ timeout: WAIT });
    await Promise.race([
      p1.getByTestId('holds-notice').waitFor({ timeout: WAIT }),
      p1
        .getByTestId('confirm-error')
        .waitFor({ timeout: WAIT })
        .then(async () => {
          throw new Error(`confirm refused: ${await p1.getByTestId('confirm-error').textContent()}`);
        }),
    ]);
    await expect.poll(() => p1.getByTestId('hold-row').count(), { timeout: WAIT }).toBe(0);
    // confirmed: it leaves the operator's holds (a booking now)
    await expect.poll(() => opHold.count(), { timeout: WAIT }).toBe(0);

    // ---- a booking row on "My bookings" ----
    await goHash(p1, '#/bookings');
    // the worker settles a confirmed booking within a second (issue 4): either state is a live booking
    const booking = p1.locator('[data-testid="booking-row"][data-status="confirmed"], [data-testid="booking-row"][data-status="settled"]');
    await booking.first().waitFor({ timeout: WAIT });
    expect(await booking.count()).toBe(1);
    expect(await booking.first().textContent()).toContain('PO-4711');
    expect(await booking.first().getByTestId('departure-link').getAttribute('href')).toBe(`#/departures/${d.departureId}`);
    expect(await booking.first().getByTestId('departure-cell').textContent()).toContain('Test Shuttle');

    // forwarder 2 still shows 25 free (confirmation moves held → booked), still the same page
    await expect.poll(() => teu2.getAttribute('data-free'), { timeout: WAIT }).toBe('25');
    expect(await p2.evaluate(() => (window as unknown as { __noReload?: number }).__noReload)).toBe(7);
    await p2.screenshot({ path: path.join(RESULTS, 'live-hold.png'), fullPage: true });

    pg = await departureState(env.db, d.departureId);
    expect(pg.booked_teu).toBe(5);
    expect(pg.held_teu).toBe(0);
    expect(pg.booked_tonnes).toBe(100);
    expect(pg.held_tonnes).toBe(0);

    expect(errors.filter((e) => e.includes('pageerror')), errors.join('\n')).toEqual([]);
  });
});
