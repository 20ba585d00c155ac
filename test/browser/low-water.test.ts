import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS, WAIT, goHash, launchChromium, signInThroughForm } from '../helpers/browser.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { httpSignIn, startServer, type Proc } from '../helpers/procs.ts';

const H = 3_600_000;

/**
 * Issue 14: the scheduler reports a low reading at Ruhrort on the Water levels page; the barge is derated (100 → 30 TEU)
 * and the latest booking on it moves off; its forwarder's screen shows, live, first refusal on a rail alternative and
 * accepts it — a hold on the train at the train's price. The scheduler's page shows the derated departure.
 */
describe('low water on the scheduler’s screen produces a live first refusal on a forwarder’s', () => {
  let env: TestEnv;
  let server: Proc;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];
  let barge: Awaited<ReturnType<typeof createDepartureWithListing>>;
  let rail: Awaited<ReturnType<typeof createDepartureWithListing>>;

  beforeAll(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    env = await createTestEnv({ cfg: { offerWindowMs: 120_000 } });
    // the departures are made before the server starts: its route search loads the whole timetable then (a listing
    // cancelled in the database afterwards would only leave it at the next full reload)
    barge = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, corridorCode: 'DEDUI-NLRTM-barge', cutoffInMs: 30 * H, unitPriceCents: 30_000 });
    rail = await createDepartureWithListing(env.db, { capacityTeu: 60, capacityTonnes: 1200, corridorCode: 'DEDUI-NLRTM-rail', cutoffInMs: 34 * H, unitPriceCents: 35_000 });
    // the only direct train with room for the moved booking (the demo's are left out so the test knows where it goes)
    await env.db.updateTable('listings').set({ status: 'cancelled' })
      .where('departure_id', 'in', (eb) => eb.selectFrom('departures as x').innerJoin('corridors as c', 'c.id', 'x.corridor_id').select('x.id').where('c.code', '=', 'DEDUI-NLRTM-rail').where('x.id', '<>', rail.departureId))
      .where('status', '=', 'open')
      .execute();
    // no worker: the bookings stay `confirmed`; the derating, the live events, the first refusal and the accept are the
    // server's own work
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

  it('low reading → derated barge → live first refusal on the train → accept', async () => {
    const f1 = await httpSignIn(server.url, 'forwarder1@demo.test');
    const f2 = await httpSignIn(server.url, 'forwarder2@demo.test');
    const call = async (s: { cookie: string; csrf: string }, method: string, url: string, body?: unknown) => {
      const r = await fetch(`${server.url}${url}`, {
        method, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
        ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const book = async (s: { cookie: string; csrf: string }, teu: number, tonnes: number) => {
      const hold = await call(s, 'POST', '/api/holds', { listingId: barge.listingId, teu, tonnes });
      expect(hold.status, JSON.stringify(hold.body)).toBe(201);
      const booking = await call(s, 'POST', `/api/holds/${String(hold.body.id)}/confirm`, {});
      expect(booking.status, JSON.stringify(booking.body)).toBe(201);
      return String(booking.body.id);
    };

    // the server's route search knows the train (bounded poll: it is loaded at start-up, refreshed every few seconds)
    const q = new URLSearchParams({
      from: 'DEDUI', to: 'NLRTM', teu: '20', tonnes: '200', modes: 'rail', maxLegs: '1',
      readyAt: new Date(Date.now() + H).toISOString(), deliverBy: new Date(Date.now() + 6 * 24 * H).toISOString(),
    });
    const railDepartures = async () => {
      const r = await call(f2, 'GET', `/api/routes?${q.toString()}`);
      const its = (r.body.itineraries ?? []) as { legs: { departureId: string }[] }[];
      return its.flatMap((it) => it.legs.map((l) => l.departureId));
    };
    await expect.poll(railDepartures, { timeout: WAIT, interval: 500 }).toEqual([rail.departureId]);

    // forwarder 1 books 30 TEU, then forwarder 2 books 20 TEU (the later booking moves first)
    await book(f1, 30, 300);
    const moved = await book(f2, 20, 200);

    const [p2, sched] = await Promise.all([newPage('forwarder2'), newPage('scheduler')]);
    await Promise.all([signInThroughForm(p2, server.url, 'forwarder2@demo.test'), signInThroughForm(sched, server.url, 'scheduler@demo.test')]);

    // ---- forwarder 2 is on My bookings, live ----
    await goHash(p2, '#/bookings');
    await expect.poll(() => p2.getByTestId('live-status').getAttribute('data-state'), { timeout: WAIT }).toBe('live');
    const movedRow = p2.locator(`[data-testid="booking-row"][data-booking-id="${moved}"]`);
    await expect.poll(() => movedRow.getAttribute('data-status'), { timeout: WAIT }).toBe('confirmed');

    // ---- the scheduler reports Ruhrort at 100 cm on the Water levels page ----
    await goHash(sched, '#/water');
    const form = sched.getByTestId('water-report');
    await form.waitFor({ timeout: WAIT });
    await form.getByLabel('Gauge').selectOption('RUHRORT');
    await form.getByTestId('water-level').fill('100');
    await form.getByTestId('water-submit').click();
    await expect.poll(async () => (await sched.getByTestId('water-result').textContent({ timeout: WAIT })) ?? '', { timeout: WAIT }).toMatch(/RUHRORT 100 cm: \d+ departures? changed, \d+ bookings? moved/);

    // ---- forwarder 2: first refusal on the train appears live; accepting it holds the train at its price ----
    const offer = p2.getByTestId('offer').filter({ has: p2.locator(`a[href="#/departures/${rail.departureId}"]`) });
    await offer.waitFor({ timeout: WAIT });
    // the moved booking turns cancelled on its screen at once (booking:moved), no reload
    await expect.poll(() => movedRow.getAttribute('data-status'), { timeout: WAIT }).toBe('cancelled');
    const text = (await offer.textContent()) ?? '';
    expect(text).toContain('First refusal on a rail alternative');
    expect(text).toContain('20 TEU / 200 t');
    await p2.screenshot({ path: path.join(RESULTS, 'low-water-offer.png') });
    await offer.getByTestId('offer-accept').click();
    await expect.poll(async () => (await p2.getByTestId('offer-notice').textContent()) ?? '', { timeout: WAIT }).toContain('Accepted');
    const held = await env.db.selectFrom('holds').select(['teu', 'unit_price_cents', 'status']).where('org_id', '=', f2.orgId).where('departure_id', '=', rail.departureId).execute();
    expect(held).toEqual([{ teu: 20, unit_price_cents: 35_000, status: 'active' }]);
    // the booking that moved is forwarder 2's, off the barge
    const b = await env.db.selectFrom('bookings').select('status').where('id', '=', moved).executeTakeFirstOrThrow();
    expect(b.status).toBe('cancelled');

    // ---- the scheduler's page: the barge derated 100 → 30 TEU, one booking moved off it ----
    const row = sched.locator(`[data-testid="derated-departure"][data-departure-id="${barge.departureId}"]`);
    await row.waitFor({ timeout: WAIT });
    expect(await row.locator('td').nth(3).textContent()).toContain('100 → 30 TEU');
    expect((await row.locator('td').nth(4).textContent())?.trim()).toBe('1');
    expect(await row.locator('td').nth(2).textContent()).toContain('RUHRORT 100 cm');
    await sched.screenshot({ path: path.join(RESULTS, 'low-water-panel.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
