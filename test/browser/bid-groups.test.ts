import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../server/adapters/db/db.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { RESULTS, WAIT, goHash, launchChromium, signInThroughForm } from '../helpers/browser.ts';
import { startServer, startWorker, type Proc } from '../helpers/procs.ts';

/**
 * Issue 14, part 4 in the browser: forwarder1 bids on a rail auction, adds the barge auction as an alternative
 * in the auction room and places both as one either-or group; My bids shows the group. The rail auction
 * closes (the worker) with forwarder1 winning there: the barge auction's room shows its bid "withdrawn by
 * group" and the group won, without a reload.
 */
async function createAuction(db: Db, corridorCode: string, closesInMs: number) {
  const op = await db.selectFrom('organisations').select('id').where('kind', '=', 'operator').orderBy('slug').executeTakeFirstOrThrow();
  const corridor = await db.selectFrom('corridors').select('id').where('code', '=', corridorCode).executeTakeFirstOrThrow();
  const cutoff = new Date(Date.now() + 2 * 86_400_000);
  const d = await db
    .insertInto('departures')
    .values({
      corridor_id: corridor.id, operator_org_id: op.id, asset_name: `Group ${corridorCode}`, departs_at: new Date(cutoff.getTime() + 3_600_000),
      arrives_at: new Date(cutoff.getTime() + 30 * 3_600_000), cutoff_at: cutoff, capacity_teu: 20, capacity_tonnes: 400,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const l = await db
    .insertInto('listings')
    .values({
      departure_id: d.id, format: 'ascending', teu: 5, remaining_teu: 5, reserve_price_cents: 20_000, min_increment_cents: 500,
      opens_at: new Date(Date.now() - 1000), closes_at: new Date(Date.now() + closesInMs), max_close_at: cutoff,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return l.id;
}

const myBid = (page: Page) => page.locator('[data-testid="my-bid-row"]').first();

describe('either-or bids in the auction room', () => {
  let env: TestEnv;
  let server: Proc;
  let worker: Proc;
  let browser: Browser;

  beforeAll(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    env = await createTestEnv();
    [server, worker, browser] = await Promise.all([startServer(env.cfg), startWorker(env.cfg), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close().catch(() => {});
    await Promise.all([server, worker].filter(Boolean).map((p) => p.stop()));
    await env?.cleanup();
  });

  it('a forwarder adds an alternative, sees the group in My bids, and its sibling withdrawn when the first auction is won', async () => {
    const rail = await createAuction(env.db, 'DEDUI-ITBLQ-rail', 60_000);
    const barge = await createAuction(env.db, (await env.db.selectFrom('corridors').select('code').where('mode', '=', 'barge').orderBy('code').executeTakeFirstOrThrow()).code, 120_000);
    const page = await (await browser.newContext()).newPage();
    await signInThroughForm(page, server.url, 'forwarder1@demo.test');
    await goHash(page, `#/listings/${rail}`);
    await page.getByTestId('bid-form').waitFor({ timeout: WAIT });
    await page.getByTestId('bid-teu').fill('2');
    await page.getByTestId('bid-price').fill('300');
    await page.getByTestId('add-alternative').click();
    // on a phone the picker scrolls in its own box, its Add buttons pinned at the right (it widened the page to 528 px)
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId('auction-picker').waitFor({ timeout: WAIT });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await page.locator(`[data-testid="picker-row"][data-listing-id="${barge}"] [data-testid="pick-alternative"]`).click({ timeout: WAIT });
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.locator(`[data-testid="alternative"][data-listing-id="${barge}"]`).waitFor({ timeout: WAIT });
    await page.getByTestId('place-bid-group').click();
    await page.getByTestId('bid-group-success').waitFor({ timeout: WAIT });
    await page.locator('[data-testid="my-bid-group"] [data-group-status="open"]').waitFor({ timeout: WAIT });
    expect(await myBid(page).getAttribute('data-group-id')).toBeTruthy();
    await page.screenshot({ path: path.join(RESULTS, 'bid-group-placed.png'), fullPage: true });

    const group = await env.db.selectFrom('bids').select(['bid_group_id', 'listing_id', 'teu', 'unit_price_cents']).where('listing_id', 'in', [rail, barge]).execute();
    expect(group.map((b) => [b.teu, b.unit_price_cents])).toEqual([[2, 30_000], [2, 30_000]]);
    expect(new Set(group.map((b) => b.bid_group_id)).size).toBe(1);

    // the barge room: the same group, still open; then the rail auction closes (the worker) and is won
    await goHash(page, `#/listings/${barge}`);
    await page.locator(`[data-testid="auction-room"][data-listing-id="${barge}"]`).waitFor({ timeout: WAIT });
    await page.locator('[data-testid="my-bid-row"][data-status="active"]').waitFor({ timeout: WAIT });
    await env.db.updateTable('listings').set({ closes_at: sql`now() - interval '1 second'` }).where('id', '=', rail).execute();
    await env.db
      .insertInto('outbox')
      .values({ job_name: 'auction.close', job_id: `auction.close-${rail}-now`, data: JSON.stringify({ listingId: rail }), run_at: new Date() })
      .execute();
    await page.locator('[data-testid="my-bid-row"][data-status="withdrawn"]').waitFor({ timeout: WAIT });
    await page.locator('[data-testid="my-bid-group"] [data-group-status="won"]').waitFor({ timeout: WAIT });
    expect(await myBid(page).textContent()).toContain('withdrawn by group');
    await page.screenshot({ path: path.join(RESULTS, 'bid-group-withdrawn.png'), fullPage: true });
  });
});
