import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { sql } from 'kysely';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../server/adapters/db/db.ts';
import { RESULTS, WAIT, goHash, launchChromium, signInThroughForm } from '../helpers/browser.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { httpSignIn, startServer, startWorker, type Proc } from '../helpers/procs.ts';

/**
 * Issue 11 acceptance (accessibility): every page of the client meets WCAG 2.1 AA as axe-core checks it,
 * for every role that can reach it — signed out, forwarder, operator, scheduler and platform — with its
 * data rendered, and in the states that matter (filters set, a form open with an error, a confirm dialog
 * open). Keyboard: sign in, open a departure and hold capacity with Tab / Enter / Space only, with a
 * visible focus indicator on every stop; the confirm dialog traps focus, closes on Escape and gives focus
 * back to the button that opened it.
 *
 * The dashboards of issue 11 (#/dashboard, #/impact), "Find a route" of issue 12 (#/routes) and the pool and
 * the optimiser of issue 13 (#/pool, #/optimiser) and the webhooks of issue 15 (#/webhooks) are audited when their
 * pages exist in the checkout.
 */

const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PAGES_DIR = path.resolve('client/src/pages');
const hasPage = (name: string) => fs.existsSync(path.join(PAGES_DIR, `${name}.svelte`));

interface AxeNode {
  target: unknown[];
  failureSummary?: string;
  html: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: AxeNode[];
}

/** Every audit of the run: role → page → violations (written to test-results/a11y.json as well). */
const report: Record<string, Record<string, { id: string; impact: string | null; nodes: number; targets: string[] }[]>> = {};

/**
 * Runs axe-core over the whole document: the WCAG 2.0 / 2.1 level A and AA rules, and axe's best practices
 * (landmarks, heading order, one main, empty table headers, …), which the pages meet as well.
 */
async function audit(page: Page, role: string, label: string): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary, html: n.html.slice(0, 200) })),
    }));
  });
  (report[role] ??= {})[label] = violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, targets: v.nodes.map((n) => JSON.stringify(n.target)) }));
  return violations;
}

/** How many CSS pixels the page is wider than its viewport (0: nothing scrolls sideways but inside its own scroll box). */
function overflowX(page: Page) {
  return page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - document.documentElement.clientWidth));
}

/** Human-readable list of violations: id, impact, help URL and the target selectors of each node. */
function describeViolations(where: string, vs: AxeViolation[]): string {
  return vs
    .map(
      (v) =>
        `[${where}] ${v.id} (${v.impact}) — ${v.help}\n  ${v.helpUrl}\n` +
        v.nodes
          .slice(0, 8)
          .map((n) => `    ${JSON.stringify(n.target)}  ${(n.failureSummary ?? '').split('\n').slice(1, 3).join(' ').trim()}\n      ${n.html}`)
          .join('\n') +
        (v.nodes.length > 8 ? `\n    … and ${v.nodes.length - 8} more` : ''),
    )
    .join('\n');
}

/** Waits until the page has rendered its data: its own marker, no loading placeholder, nothing busy. */
async function settle(page: Page, ready: string) {
  await page.locator(ready).first().waitFor({ timeout: WAIT });
  await page.waitForFunction(() => !document.querySelector('[data-testid="loading"], [aria-busy="true"]'), undefined, { timeout: WAIT });
  await expect.poll(() => page.getByTestId('live-status').getAttribute('data-state'), { timeout: WAIT }).toBe('live');
  // let transitions (row flash, bar widths) finish: axe reads computed colours
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running' || (a.effect?.getTiming().iterations ?? 1) === Infinity), undefined, { timeout: WAIT });
}

/** The operator organisation of operator1@demo.test. */
async function operatorOf(db: Db, email: string) {
  return db
    .selectFrom('users as u')
    .innerJoin('memberships as m', 'm.user_id', 'u.id')
    .select('m.org_id as orgId')
    .where(sql<boolean>`lower(u.email) = ${email}`)
    .executeTakeFirstOrThrow();
}

/** An ascending auction on a new departure of operator1's organisation, closing in a day. */
async function createAuction(db: Db) {
  const { orgId } = await operatorOf(db, 'operator1@demo.test');
  const corridor = await db.selectFrom('corridors').select('id').where('code', '=', 'DEDUI-ITBLQ-rail').executeTakeFirstOrThrow();
  const cutoff = new Date(Date.now() + 3 * 86_400_000);
  const d = await db
    .insertInto('departures')
    .values({
      corridor_id: corridor.id, operator_org_id: orgId, asset_name: 'A11y Shuttle', departs_at: new Date(cutoff.getTime() + 3_600_000),
      arrives_at: new Date(cutoff.getTime() + 30 * 3_600_000), cutoff_at: cutoff, capacity_teu: 40, capacity_tonnes: 800,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const l = await db
    .insertInto('listings')
    .values({
      departure_id: d.id, format: 'ascending', teu: 20, remaining_teu: 20, reserve_price_cents: 20_000, min_increment_cents: 500,
      opens_at: new Date(Date.now() - 1000), closes_at: new Date(Date.now() + 86_400_000), max_close_at: cutoff, unsold_action: 'return',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { departureId: d.id, listingId: l.id };
}

type Who = Awaited<ReturnType<typeof httpSignIn>>;
async function post<T>(url: string, who: Who, pathname: string, body: unknown, key?: string): Promise<T> {
  const res = await fetch(`${url}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: who.cookie, 'x-csrf-token': who.csrf, ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`POST ${pathname} → ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Whether the focused element shows a focus indicator (outline or box-shadow ring) of at least 2px. */
function focusShown(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { ok: false, what: 'nothing focused' };
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
    const ring = s.boxShadow !== 'none' && /\b[2-9]px\b/.test(s.boxShadow);
    return { ok: outline || ring, what: `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${(el.textContent ?? '').trim().slice(0, 30)}" outline=${s.outlineStyle} ${s.outlineWidth} shadow=${s.boxShadow}` };
  });
}

/** Presses Tab until `selector` has focus (at most `max` times), checking a visible focus indicator on every stop. */
async function tabTo(page: Page, selector: string, max = 60) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await focusShown(page);
    expect(f.ok, `focus indicator on ${f.what}`).toBe(true);
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
  }
  throw new Error(`${selector} not reached with ${max} Tab presses`);
}

describe('accessibility (WCAG 2.1 AA) of every page, for every role', () => {
  let env: TestEnv;
  let server: Proc;
  let worker: Proc | undefined;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];
  let fixed: Awaited<ReturnType<typeof createDepartureWithListing>>;
  let auction: Awaited<ReturnType<typeof createAuction>>;
  let keyboardListing: Awaited<ReturnType<typeof createDepartureWithListing>>;

  beforeAll(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    env = await createTestEnv();
    [server, browser] = await Promise.all([startServer(env.cfg), launchChromium()]);
    fixed = await createDepartureWithListing(env.db, { capacityTeu: 60, capacityTonnes: 1200 });
    keyboardListing = await createDepartureWithListing(env.db, { capacityTeu: 30, capacityTonnes: 600 });
    auction = await createAuction(env.db);
    // forwarder1: one active hold and one confirmed booking; forwarder2: a bid in the auction
    const f1 = await httpSignIn(server.url, 'forwarder1@demo.test');
    await post(server.url, f1, '/api/holds', { listingId: fixed.listingId, teu: 2, tonnes: 20 });
    const h = await post<{ id: string }>(server.url, f1, '/api/holds', { listingId: fixed.listingId, teu: 3, tonnes: 30 });
    await post(server.url, f1, `/api/holds/${h.id}/confirm`, { reference: 'PO-A11Y', cargo: { dangerousGoods: false } });
    // and two itineraries London → Lille → Duisburg (issue 12): one booked, one held (on My bookings and My holds)
    if (hasPage('Routes')) {
      for (const book of [true, false]) {
        const legs: { listingId: string }[] = [];
        for (const [i, corridorCode] of ['GBLHR-FRLIL-rail', 'FRLIL-DEDUI-rail'].entries()) {
          const l = await createDepartureWithListing(env.db, { corridorCode, capacityTeu: 40, capacityTonnes: 800, cutoffInMs: (2 + 2 * i) * 86_400_000 });
          legs.push({ listingId: l.listingId });
        }
        const itin = await post<{ id: string }>(server.url, f1, '/api/itineraries', { legs, teu: 2, tonnes: 20 });
        if (book) await post(server.url, f1, `/api/itineraries/${itin.id}/confirm`, { reference: 'PO-A11Y-ROUTE' });
      }
    }
    const f2 = await httpSignIn(server.url, 'forwarder2@demo.test');
    await post(server.url, f2, `/api/listings/${auction.listingId}/bids`, { teu: 5, unitPriceCents: 21_000, allOrNothing: false }, crypto.randomUUID());
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await Promise.all([server, worker].filter(Boolean).map((p) => p!.stop()));
    fs.writeFileSync(path.join(RESULTS, 'a11y.json'), JSON.stringify(report, null, 2));
    await env?.cleanup();
  });

  async function newPage(who: string, viewport = { width: 1280, height: 900 }) {
    // bypassCSP: the app's CSP (script-src 'self') would refuse the injected axe-core script
    const ctx = await browser.newContext({ viewport, bypassCSP: true });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`${who} pageerror: ${e.message}`));
    return page;
  }

  it('signed out: the sign-in page, also with an error', async () => {
    const page = await newPage('signed-out');
    await page.goto(`${server.url}/`);
    await page.getByTestId('signin-email').waitFor({ timeout: WAIT });
    const found: string[] = [];
    let v = await audit(page, 'signed-out', 'sign-in');
    if (v.length) found.push(describeViolations('sign-in', v));

    // a wrong password: the error is announced and tied to the fields
    await page.getByTestId('signin-email').fill('forwarder1@demo.test');
    await page.getByTestId('signin-password').fill('wrong-password');
    await page.getByTestId('signin-submit').click();
    const err = page.getByTestId('signin-error');
    await err.waitFor({ timeout: WAIT });
    expect(await err.getAttribute('role')).toBe('alert');
    const errId = await err.getAttribute('id');
    expect(errId).toBeTruthy();
    for (const f of ['signin-email', 'signin-password']) {
      expect(await page.getByTestId(f).getAttribute('aria-invalid')).toBe('true');
      expect((await page.getByTestId(f).getAttribute('aria-describedby'))?.split(' ')).toContain(errId);
    }
    v = await audit(page, 'signed-out', 'sign-in with error');
    if (v.length) found.push(describeViolations('sign-in with error', v));
    expect(found, found.join('\n')).toEqual([]);
  });

  it('keyboard only: sign in, open a departure, hold capacity — with a visible focus indicator', async () => {
    const page = await newPage('keyboard');
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await page.goto(`${server.url}/`);
    await page.getByTestId('signin-email').waitFor({ timeout: WAIT });
    await tabTo(page, '[data-testid="signin-email"]');
    await page.keyboard.type('forwarder3@demo.test');
    await tabTo(page, '[data-testid="signin-password"]');
    await page.keyboard.type('cluster-demo');
    await page.keyboard.press('Enter');
    await page.getByTestId('board').waitFor({ timeout: WAIT });

    // a bookmarked, filtered board; the skip link is the first stop and leads into the main content
    const date = (await env.db.selectFrom('departures').select('departs_at').where('id', '=', keyboardListing.departureId).executeTakeFirstOrThrow()).departs_at;
    await goHash(page, `#/board?from=DEDUI&to=ITBLQ&date=${new Date(date).toISOString().slice(0, 10)}`);
    const row = page.locator(`[data-testid="departure-row"][data-departure-id="${keyboardListing.departureId}"]`);
    await row.waitFor({ timeout: WAIT });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toMatch(/skip to (the )?main content/i);
    expect((await focusShown(page)).ok).toBe(true);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    await tabTo(page, `[data-testid="departure-row"][data-departure-id="${keyboardListing.departureId}"] a`, 120);
    await page.keyboard.press('Enter');
    await page.getByTestId('departure-detail').waitFor({ timeout: WAIT });

    // the route change moved focus to the new page, so Tab continues from its top
    await tabTo(page, `[data-testid="listing-row"][data-listing-id="${keyboardListing.listingId}"] [data-testid="hold-open"]`);
    await page.keyboard.press('Space');
    // the form opens with the focus in its first field
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid')), { timeout: WAIT }).toBe('hold-teu');
    // Escape closes it and gives the focus back to its Hold button; Space opens it again
    await page.keyboard.press('Escape');
    await page.getByTestId('hold-form').waitFor({ state: 'detached', timeout: WAIT });
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid')), { timeout: WAIT }).toBe('hold-open');
    await page.keyboard.press('Space');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid')), { timeout: WAIT }).toBe('hold-teu');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('0');
    // the error is tied to the field and announced
    const teu = page.getByTestId('hold-teu');
    await expect.poll(() => teu.getAttribute('aria-invalid'), { timeout: WAIT }).toBe('true');
    const describedBy = (await teu.getAttribute('aria-describedby')) ?? '';
    expect(describedBy).not.toBe('');
    const msg = page.locator(`[id="${describedBy.split(' ')[0]}"]`);
    expect((await msg.textContent())?.trim()).toMatch(/TEU/);
    expect(await msg.evaluate((el) => el.closest('[aria-live], [role="alert"], [role="status"]') !== null)).toBe(true);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('2');
    await tabTo(page, '[data-testid="hold-tonnes"]');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('40');
    await page.keyboard.press('Enter');
    await Promise.race([
      page.getByTestId('hold-success').waitFor({ timeout: WAIT }),
      page
        .getByTestId('hold-error')
        .waitFor({ timeout: WAIT })
        .then(async () => {
          throw new Error(`hold refused: ${await page.getByTestId('hold-error').textContent()}`);
        }),
    ]);
    expect(await page.getByTestId('hold-success').getAttribute('role')).toBe('status');
    // focus did not get lost when the form closed
    expect(await page.evaluate(() => document.activeElement !== document.body && document.activeElement !== null)).toBe(true);
    await tabTo(page, 'a[href="#/holds"]');
    await page.keyboard.press('Enter');
    await page.getByTestId('hold-row').first().waitFor({ timeout: WAIT });
  });

  it('the confirm dialog traps focus, closes on Escape and gives focus back', async () => {
    const page = await newPage('dialog');
    await signInThroughForm(page, server.url, 'forwarder1@demo.test');
    await goHash(page, '#/bookings');
    await settle(page, '[data-testid="booking-row"]');
    const opener = page.getByTestId('booking-cancel').first();
    await opener.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByTestId('confirm-dialog');
    await expect.poll(() => dialog.evaluate((d) => (d as HTMLDialogElement).open), { timeout: WAIT }).toBe(true);
    await page.getByTestId('cancel-fee').waitFor({ timeout: WAIT });
    expect(await page.evaluate(() => document.querySelector('[data-testid="confirm-dialog"]')?.contains(document.activeElement))).toBe(true);
    // Tab and Shift+Tab stay inside the dialog
    for (const key of ['Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab']) {
      await page.keyboard.press(key);
      expect(await page.evaluate(() => document.querySelector('[data-testid="confirm-dialog"]')?.contains(document.activeElement)), `focus inside after ${key}`).toBe(true);
      expect((await focusShown(page)).ok).toBe(true);
    }
    const v = await audit(page, 'forwarder', 'bookings: cancel dialog open');
    expect(v, describeViolations('cancel dialog', v)).toEqual([]);
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.evaluate((d) => (d as HTMLDialogElement).open), { timeout: WAIT }).toBe(false);
    await expect.poll(() => opener.evaluate((el) => el === document.activeElement), { timeout: WAIT }).toBe(true);
    // still booked
    expect(await page.locator('[data-testid="booking-row"][data-status="confirmed"]').count()).toBeGreaterThan(0);
  });

  interface Visit {
    label: string;
    hash: string;
    ready: string;
    /** saved to test-results/a11y-<role>-<label>.png (the dashboards: to see what was audited) */
    screenshot?: boolean;
    /** a state to put the page in before auditing it again */
    then?: (page: Page) => Promise<string>;
  }

  /** The charts' text alternatives (data tables in <details>) are audited open as well. */
  const openDetails = (label: string) => async (page: Page) => {
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
    return `${label}: data tables open`;
  };

  const dashboard = (role: string): Visit[] => {
    const out: Visit[] = [];
    if (role === 'forwarder' && hasPage('Impact')) out.push({ label: 'impact', hash: '#/impact', ready: 'h1', screenshot: true, then: openDetails('impact') });
    if (role !== 'forwarder' && hasPage('Dashboard')) out.push({ label: 'dashboard', hash: '#/dashboard', ready: 'h1', screenshot: true, then: openDetails('dashboard') });
    return out;
  };

  /** Issue 12: "Find a route" (forwarders) with a London → Bologna answer, its chart's table and the Book dialog open. */
  const routes = (role: string): Visit[] => {
    if (role !== 'forwarder' || !hasPage('Routes')) return [];
    const now = Date.now();
    const q = new URLSearchParams({
      from: 'GBLHR', to: 'ITBLQ', teu: '2', tonnes: '24', readyAt: new Date(now).toISOString(), deliverBy: new Date(now + 12 * 86_400_000).toISOString(), modes: 'rail,barge', maxLegs: '3',
    });
    return [
      {
        label: 'routes (no search yet)',
        hash: '#/routes',
        ready: '[data-testid="routes-idle"]',
        then: async (page) => {
          await page.getByTestId('route-teu').fill('');
          await page.getByTestId('route-search').click();
          await page.locator('[data-testid="route-teu"][aria-invalid="true"]').waitFor({ timeout: WAIT });
          return 'routes: search form with errors';
        },
      },
      {
        label: 'routes',
        hash: `#/routes?${q.toString()}`,
        ready: '[data-testid="route-results"][data-status="ready"] [data-testid="itinerary"]',
        screenshot: true,
        then: async (page) => {
          await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
          await page.getByTestId('itinerary-book').first().click();
          await page.locator('[data-testid="confirm-dialog"][open] [data-testid="book-dialog-legs"]').waitFor({ timeout: WAIT });
          return 'routes: data table and the book dialog open';
        },
      },
    ];
  };

  /** Issue 13: the pool (forwarders: the form with an error, My shipments) and the optimiser (schedulers, platform). */
  const pooling = (role: string): Visit[] => {
    if (role === 'forwarder' && hasPage('Pool'))
      return [
        {
          label: 'pool',
          hash: '#/pool',
          ready: '[data-testid="pool-page"][data-status="ready"]',
          screenshot: true,
          then: async (page) => {
            await page.getByTestId('pool-max-price').fill('');
            await page.getByTestId('pool-submit').click();
            await page.locator('[data-testid="pool-max-price"][aria-invalid="true"]').waitFor({ timeout: WAIT });
            return 'pool: form with errors';
          },
        },
      ];
    if ((role === 'scheduler' || role === 'platform') && hasPage('Optimiser'))
      return [{ label: 'optimiser', hash: '#/optimiser', ready: '[data-testid="optimiser-page"][data-status="ready"]', screenshot: true }];
    return [];
  };

  /**
   * Issue 15: webhooks (every role: each demo user is its organisation's admin). The forwarder's page is audited
   * again with an endpoint (disabled for failing: it gets no events, nothing is sent), its delivery log open and the
   * form showing the API's 400 for an ftp:// URL.
   */
  const webhooks = (role: string): Visit[] => {
    if (!hasPage('Webhooks')) return [];
    const visit: Visit = { label: 'webhooks', hash: '#/webhooks', ready: '[data-testid="webhooks-page"][data-status="ready"]', screenshot: role === 'forwarder' };
    if (role === 'forwarder')
      visit.then = async (page) => {
        const { orgId } = await operatorOf(env.db, 'forwarder1@demo.test');
        await env.db
          .insertInto('webhook_endpoints')
          .values({
            org_id: orgId, url: 'http://127.0.0.1:9/a11y', events: ['departure.derated'], description: 'A11y receiver', enabled: false, disabled_reason: 'failing',
            disabled_at: new Date(), secret: 'whsec_a11y', consecutive_failures: 50,
          })
          .execute();
        await page.reload();
        await settle(page, '[data-testid="webhook"]');
        await page.getByTestId('webhook-log-toggle').first().click();
        await page.locator('[data-testid="delivery-log"][data-status="ready"]').waitFor({ timeout: WAIT });
        await page.getByTestId('webhook-url').fill('ftp://a11y.test/hook');
        await page.locator('[data-testid="webhook-event"]').first().check();
        await page.getByTestId('webhook-submit').click();
        await page.locator('[data-testid="webhook-url"][aria-invalid="true"]').waitFor({ timeout: WAIT });
        return 'webhooks: a failing endpoint, its log open, the form with an error';
      };
    return [visit];
  };

  function visits(role: 'forwarder' | 'operator' | 'scheduler' | 'platform'): Visit[] {
    // The whole board (every departure of the demo network, ≈ 11,000 elements: 6–7 s of axe) is the same page for
    // every role, so it is audited once; each role's audits run on the filtered board, whose rows are the same components.
    const v: Visit[] = [
      ...(role === 'forwarder' ? [{ label: 'board', hash: '#/board', ready: '[data-testid="board"][data-status="ready"]' }] : []),
      {
        label: 'board filtered',
        hash: '#/board?from=DEDUI&to=ITBLQ&mode=rail',
        ready: '[data-testid="corridor-group"]',
      },
      {
        label: 'departure',
        hash: `#/departures/${fixed.departureId}`,
        ready: '[data-testid="listing-row"]',
        then:
          role === 'forwarder'
            ? async (page) => {
                await page.getByTestId('hold-open').first().click();
                await page.getByTestId('hold-teu').fill('0');
                await page.locator('[data-testid="hold-teu"][aria-invalid="true"]').waitFor({ timeout: WAIT });
                return 'departure: hold form with an error';
              }
            : undefined,
      },
      {
        label: 'auction',
        hash: `#/listings/${auction.listingId}`,
        ready: '[data-testid="ladder-row"]',
        then:
          role === 'forwarder'
            ? async (page) => {
                await page.getByTestId('bid-price').fill('1');
                await page.locator('[data-testid="bid-price"][aria-invalid="true"]').waitFor({ timeout: WAIT });
                return 'auction: bid below the minimum';
              }
            : undefined,
      },
    ];
    if (role === 'forwarder')
      v.push({
        label: 'holds',
        hash: '#/holds',
        ready: '[data-testid="hold-row"]',
        then: async (page) => {
          await page.getByTestId('hold-confirm-open').first().click();
          await page.getByTestId('confirm-containers').fill('-1');
          await page.locator('[data-testid="confirm-containers"][aria-invalid="true"]').waitFor({ timeout: WAIT });
          return 'holds: confirm form with an error';
        },
      });
    if (role === 'operator')
      v.push({
        label: 'operator console',
        hash: '#/operator',
        ready: '[data-testid="operator-departure"]',
        then: async (page) => {
          await page.getByTestId('dep-submit').click();
          await page.locator('[data-testid="dep-corridor"][aria-invalid="true"]').waitFor({ timeout: WAIT });
          await page.getByTestId('listing-format').selectOption('ascending');
          return 'operator console: form errors, auction fields';
        },
      });
    if (role !== 'scheduler') {
      // a forwarder's bookings page lists its itineraries above its bookings (issue 12): audited once both are read
      // (settle also waits for the bookings' loading placeholder to go)
      const ready = role === 'forwarder' && hasPage('Routes') ? '[data-testid="itineraries"][data-status="ready"]' : '[data-testid="booking-row"], [data-testid="empty-state"]';
      v.push({ label: 'bookings', hash: '#/bookings', ready });
    }
    // a scheduler never trades: no Finance page
    if (role !== 'scheduler') v.push({ label: 'finance', hash: '#/finance', ready: '[data-testid="invoice-row"], [data-testid="invoices-empty"]' });
    // the open auctions (every role), with the fixture's auction listed
    if (hasPage('Auctions')) v.push({ label: 'auctions', hash: '#/auctions', ready: '[data-testid="auction-row"], [data-testid="auctions-empty"]' });
    v.push(...dashboard(role));
    v.push(...routes(role));
    v.push(...pooling(role));
    // issue 14: a forwarder's watches — saving one says at once what on sale now it matches
    if (role === 'forwarder' && hasPage('Watches'))
      v.push({
        label: 'watches',
        hash: '#/watches',
        ready: '[data-testid="watch-form"]',
        then: async (page) => {
          const form = page.getByTestId('watch-form');
          await form.locator('select[name="from"]').selectOption('DEDUI');
          await form.locator('select[name="to"]').selectOption('ITBLQ');
          await form.getByRole('button', { name: 'Watch' }).click();
          await page.getByTestId('watch-on-sale-now').waitFor({ timeout: WAIT });
          await page.getByTestId('watch').first().waitFor({ timeout: WAIT });
          return 'watches: a watch saved, what is on sale now';
        },
      });
    // issue 14: water levels (every role; schedulers and the platform also see the report form)
    if (hasPage('Water')) v.push({ label: 'water levels', hash: '#/water', ready: '[data-testid="derated"]', screenshot: role === 'scheduler' });
    v.push(...webhooks(role));
    // the team (every role has it; the forwarder's is audited with a member just added: the one-time password shown)
    if (role === 'forwarder' && hasPage('Team'))
      v.push({
        label: 'team',
        hash: '#/team',
        ready: '[data-testid="team-page"][data-status="ready"] [data-testid="audit-log"][data-status="ready"]',
        then: async (page) => {
          await page.getByTestId('member-name').fill('Alex Audit');
          await page.getByTestId('member-email').fill('alex.audit@example.test');
          await page.getByTestId('member-submit').click();
          await page.getByTestId('one-time').waitFor({ timeout: WAIT });
          return 'team: a member added, the temporary password shown once';
        },
      });
    return v;
  }

  const ROLES = [
    ['forwarder', 'forwarder1@demo.test'],
    ['operator', 'operator1@demo.test'],
    ['scheduler', 'scheduler@demo.test'],
    ['platform', 'admin@demo.test'],
  ] as const;

  for (const [role, email] of ROLES) {
    it(`${role} (${email}): every page it can reach has no WCAG 2.1 A/AA violation`, { timeout: 420_000 }, async () => {
      // the worker settles the bookings: Finance shows invoices and ledger lines
      worker ??= await startWorker(env.cfg);
      const page = await newPage(role);
      await signInThroughForm(page, server.url, email);
      const found: string[] = [];
      for (const visit of visits(role)) {
        await goHash(page, visit.hash);
        await settle(page, visit.ready);
        let v = await audit(page, role, visit.label);
        if (v.length) found.push(describeViolations(`${role} ${visit.label} ${visit.hash}`, v));
        const wider = await overflowX(page);
        if (wider > 0) found.push(`[${role} ${visit.label}] the page is ${wider}px wider than the 1280px window`);
        if (visit.screenshot) await page.screenshot({ path: path.join(RESULTS, `a11y-${role}-${visit.label}.png`), fullPage: true });
        if (visit.then) {
          const label = await visit.then(page);
          v = await audit(page, role, label);
          if (v.length) found.push(describeViolations(`${role} ${label}`, v));
        }
      }
      // the phone layout (menu button, stacked rows) of the board, filtered to one corridor (see the whole board above)
      const phone = await newPage(`${role} phone`, { width: 390, height: 844 });
      await phone.context().addCookies(await page.context().cookies());
      await phone.goto(`${server.url}/#/board?from=DEDUI&to=ITBLQ&mode=rail`);
      await settle(phone, '[data-testid="board"][data-status="ready"] [data-testid="corridor-group"]');
      let v = await audit(phone, role, 'board (phone)');
      if (v.length) found.push(describeViolations(`${role} board (phone)`, v));
      await phone.getByRole('button', { name: 'Menu' }).click();
      v = await audit(phone, role, 'board (phone, menu open)');
      if (v.length) found.push(describeViolations(`${role} board (phone, menu open)`, v));
      // every page of the role fits the phone's width: wide tables scroll inside their own box, never the page
      // (a walkthrough found screen-reader text in table headers widening bookings to 998px)
      for (const visit of visits(role)) {
        await goHash(phone, visit.hash);
        await settle(phone, visit.ready);
        const wider = await overflowX(phone);
        if (wider > 0) found.push(`[${role} ${visit.label} (phone)] the page is ${wider}px wider than the 390px screen`);
      }
      await phone.context().close();

      expect(found, found.join('\n')).toEqual([]);
      expect(errors.filter((e) => e.startsWith(role)), errors.join('\n')).toEqual([]);
    });
  }
});
