import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS, WAIT, launchChromium, signInThroughForm } from '../helpers/browser.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { httpSignIn, startServer, startWorker, type Proc } from '../helpers/procs.ts';

/**
 * Issue 12 acceptance (browser): a demo forwarder searches London (GBLHR) → Bologna (ITBLQ) on "Find a route",
 * sees the Pareto set as a list, a chart with its table and a leg-by-leg timeline; another forwarder takes
 * a leg of one itinerary away and that itinerary greys out live ("sold out on leg N", "Search again");
 * then a bookable 2- or 3-leg itinerary is held in two clicks (Book → the dialog's Hold), confirmed, and
 * shows up under My bookings with its legs' bookings. Postgres agrees.
 */

const DAY = 86_400_000;

describe('find a route: search London → Bologna, book an itinerary in two clicks, see it under bookings', () => {
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

  const attr = async (l: Locator, name: string) => (await l.getAttribute(name)) ?? '';

  it('forwarder4 finds London → Bologna, sees a leg sell out live, books and confirms a multi-leg itinerary', { timeout: 240_000 }, async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await signInThroughForm(page, server.url, 'forwarder4@demo.test');

    // ---- the page, from the header's nav ----
    await page.getByRole('link', { name: 'Find a route' }).click();
    await page.getByTestId('route-form').waitFor({ timeout: WAIT });
    expect(await page.getByTestId('routes-idle').count()).toBe(1);
    await page.getByTestId('route-from').selectOption('GBLHR');
    await page.getByTestId('route-to').selectOption('ITBLQ');
    await page.getByTestId('route-teu').fill('2');
    await page.getByTestId('route-tonnes').fill('24');
    // ready now (the default); deliver within 12 days: the demo timetable runs some links three times a week
    expect(await page.getByTestId('route-ready').inputValue()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
    await page.getByTestId('route-deliver').fill(new Date(Date.now() + 12 * DAY).toISOString().slice(0, 16));
    await page.getByTestId('route-search').click();

    const results = page.locator('[data-testid="route-results"][data-status="ready"]');
    await results.waitFor({ timeout: WAIT });
    const cards = page.getByTestId('itinerary');
    await cards.first().waitFor({ timeout: WAIT });
    const n = await cards.count();
    expect(n).toBeGreaterThan(0);
    // the search is in the URL (bookmarkable)
    expect(await page.evaluate(() => location.hash)).toMatch(/^#\/routes\?.*from=GBLHR.*to=ITBLQ/);

    // every itinerary: 2 or more legs (no direct service), a transfer between each, the road beside it
    for (let i = 0; i < n; i++) {
      const c = cards.nth(i);
      const legs = Number(await attr(c, 'data-legs'));
      expect(legs).toBeGreaterThanOrEqual(2);
      expect(await c.getByTestId('itinerary-leg').count()).toBe(legs);
      expect(await c.getByTestId('itinerary-transfer').count()).toBe(legs - 1);
      expect(await c.getByTestId('itinerary-road').textContent()).toMatch(/km .* CO2e .*€/);
    }
    // sorted by price by default; by arrival on request
    const totals = async () => Promise.all((await cards.all()).map(async (c) => Number(await attr(c, 'data-total-cents'))));
    const byPrice = await totals();
    expect(byPrice).toEqual([...byPrice].sort((a, b) => a - b));
    await page.getByTestId('route-sort-arrival').check();
    await page.getByTestId('route-sort-price').check();
    expect(await totals()).toEqual(byPrice);

    // the chart of the Pareto front, with its text alternative and its table (a row per itinerary)
    const canvas = page.locator('[data-testid="route-results"] canvas[role="img"]');
    expect(await canvas.getAttribute('aria-label')).toMatch(/Pareto front of \d+ itinerar/);
    await page.locator('[data-testid="route-results"] details summary').click();
    expect(await page.locator('[data-testid="route-results"] details tbody tr').count()).toBe(n);
    await page.screenshot({ path: path.join(RESULTS, 'routes-london-bologna.png'), fullPage: true });

    // ---- live: forwarder2 takes a leg of one itinerary; it greys out without a reload ----
    const bookable = page.locator('[data-testid="itinerary"][data-bookable="true"]');
    await bookable.first().waitFor({ timeout: WAIT });
    const target = bookable.first();
    const targetKey = await attr(target, 'data-key');
    const targetListings = new Set(targetKey.split(','));
    const targetDepartures = new Set(await target.getByTestId('itinerary-leg').evaluateAll((els) => els.map((e) => e.getAttribute('data-departure-id'))));
    let victim: { key: string; listingId: string; free: number; n: number } | null = null;
    for (const c of await cards.all()) {
      const key = await attr(c, 'data-key');
      if (key === targetKey) continue;
      const legs = await c.getByTestId('itinerary-leg').all();
      for (const [i, l] of legs.entries()) {
        const listingId = await attr(l, 'data-listing-id');
        // a leg of another departure than the target's: the target keeps its capacity
        if (targetListings.has(listingId) || targetDepartures.has(await attr(l, 'data-departure-id')) || (await attr(l, 'data-format')) !== 'fixed') continue;
        victim = { key, listingId, free: Number(await attr(l, 'data-free')), n: i + 1 };
        break;
      }
      if (victim) break;
    }
    await expect.poll(() => page.getByTestId('live-status').getAttribute('data-state'), { timeout: WAIT }).toBe('live');
    // the demo answer always has another itinerary with a leg of its own (checked: a search gives several)
    expect(victim, 'an itinerary with a leg on another departure than the one to book').not.toBeNull();
    if (victim) {
      const f2 = await httpSignIn(server.url, 'forwarder2@demo.test');
      const teu = victim.free - 1;
      const res = await fetch(`${server.url}/api/holds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: f2.cookie, 'x-csrf-token': f2.csrf },
        body: JSON.stringify({ listingId: victim.listingId, teu, tonnes: teu }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      const card = page.locator(`[data-testid="itinerary"][data-key="${victim.key}"]`);
      await expect.poll(() => card.getAttribute('data-sold-out'), { timeout: WAIT }).not.toBe('');
      expect(await card.getByTestId('itinerary-sold-out').textContent()).toMatch(/leg \d/);
      expect(await card.getByTestId('itinerary-book').count()).toBe(0);
      await page.getByTestId('routes-changed').waitFor({ timeout: WAIT });
      expect(await page.getByTestId('routes-search-again').isVisible()).toBe(true);
    }

    // ---- book in two clicks: Book → Hold all legs ----
    const card = page.locator(`[data-testid="itinerary"][data-key="${targetKey}"]`);
    const legCount = Number(await attr(card, 'data-legs'));
    expect([2, 3]).toContain(legCount);
    await card.getByTestId('itinerary-book').click();
    const dialog = page.getByTestId('confirm-dialog');
    await expect.poll(() => dialog.evaluate((d) => (d as HTMLDialogElement).open), { timeout: WAIT }).toBe(true);
    expect(await page.locator('[data-testid="book-dialog-legs"] li').count()).toBe(legCount);
    expect(await page.getByTestId('book-dialog-total').textContent()).toMatch(/€/);
    await page.getByTestId('confirm-dialog-ok').click();

    const held = page.getByTestId('itinerary-held');
    await Promise.race([
      held.waitFor({ timeout: WAIT }),
      page.locator('[data-testid="confirm-dialog"] [role="alert"]').waitFor({ timeout: WAIT }).then(async () => {
        throw new Error(`hold refused: ${await page.locator('[data-testid="confirm-dialog"] [role="alert"]').textContent()}`);
      }),
    ]);
    const itineraryId = await attr(held, 'data-itinerary-id');
    expect((await held.getByTestId('itinerary-countdown').textContent())?.trim()).toMatch(/expires in\s+\d+:\d\d/);
    // the held panel (with its countdown and Confirm) has the focus and is in view, once the dialog has closed
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid')), { timeout: WAIT }).toBe('itinerary-held');
    await expect.poll(() => held.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return r.top >= 0 && r.top < window.innerHeight;
    }), { timeout: WAIT }).toBe(true);
    // every leg held in Postgres, one shared expiry
    const holds = await env.db.selectFrom('holds').select(['listing_id', 'status', 'expires_at']).where('itinerary_id', '=', itineraryId).execute();
    expect(holds.map((h) => h.listing_id).sort()).toEqual([...targetListings].sort());
    expect(new Set(holds.map((h) => h.expires_at.getTime())).size).toBe(1);

    await page.screenshot({ path: path.join(RESULTS, 'routes-held.png'), fullPage: true });
    await page.getByTestId('itinerary-reference').fill('PO-ROUTE-7');
    await page.getByTestId('itinerary-confirm').click();
    const booked = page.getByTestId('itinerary-booked');
    await Promise.race([
      booked.waitFor({ timeout: WAIT }),
      page.getByTestId('itinerary-error').waitFor({ timeout: WAIT }).then(async () => {
        throw new Error(`confirm refused: ${await page.getByTestId('itinerary-error').textContent()}`);
      }),
    ]);
    const bookings = await env.db.selectFrom('bookings').select(['id', 'listing_id', 'status']).where('itinerary_id', '=', itineraryId).execute();
    expect(bookings).toHaveLength(legCount);
    expect(bookings.map((b) => b.listing_id).sort()).toEqual([...targetListings].sort());

    // ---- under My bookings: the itinerary with its legs, and each leg's booking ----
    await booked.getByRole('link', { name: /my bookings/i }).click();
    const row = page.locator(`[data-testid="itinerary-row"][data-itinerary-id="${itineraryId}"]`);
    await row.waitFor({ timeout: WAIT });
    expect(await row.getAttribute('data-status')).toBe('confirmed');
    expect(await row.getByTestId('itinerary-row-leg').count()).toBe(legCount);
    for (const b of bookings) {
      expect(await row.locator(`[data-testid="itinerary-row-leg"][data-booking-id="${b.id}"]`).count()).toBe(1);
      const br = page.locator(`[data-testid="booking-row"][data-booking-id="${b.id}"]`);
      await br.waitFor({ timeout: WAIT });
      expect(['confirmed', 'settled']).toContain(await br.getAttribute('data-status'));
      expect(await br.getByTestId('booking-itinerary').textContent()).toContain('itinerary');
    }
    // cancelling shows each leg's fee before anything happens
    await row.getByTestId('itinerary-row-cancel').click();
    const cancelDialog = page.getByRole('dialog', { name: 'Cancel this itinerary?' });
    await cancelDialog.waitFor({ timeout: WAIT });
    expect(await page.locator('[data-testid="itinerary-cancel-fees"] li').count()).toBe(legCount);
    expect(await page.getByTestId('itinerary-cancel-total').textContent()).toMatch(/€/);
    await page.keyboard.press('Escape');
    await cancelDialog.waitFor({ state: 'hidden', timeout: WAIT });
    expect(await env.db.selectFrom('bookings').select('id').where('itinerary_id', '=', itineraryId).where('status', '=', 'cancelled').execute()).toEqual([]);
    await page.screenshot({ path: path.join(RESULTS, 'routes-bookings.png'), fullPage: true });
    // cancelled, the itinerary's headline is what is owed — the fees kept — with its price struck through
    await row.getByTestId('itinerary-row-cancel').click();
    await cancelDialog.waitFor({ timeout: WAIT });
    await cancelDialog.getByRole('button', { name: 'Cancel every leg' }).click();
    await expect.poll(() => row.getAttribute('data-status'), { timeout: WAIT }).toBe('cancelled');
    const fees = await env.db.selectFrom('bookings').select((eb) => eb.fn.sum<string>('cancellation_fee_cents').as('fees')).where('itinerary_id', '=', itineraryId).executeTakeFirstOrThrow();
    await expect.poll(() => row.getByTestId('itinerary-owed').getAttribute('data-cents'), { timeout: WAIT }).toBe(String(Number(fees.fees)));
    expect(await row.getByTestId('itinerary-money').textContent()).toContain('cancellation fees only');

    expect(errors, errors.join('\n')).toEqual([]);
  });
});
