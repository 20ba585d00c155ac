import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../server/core/webhooks.ts';
import { RESULTS, WAIT, launchChromium, signInThroughForm } from '../helpers/browser.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { startServer, startWorker, type Proc } from '../helpers/procs.ts';

/**
 * Issue 15 (browser): an organisation admin opens Webhooks from the header, is refused an ftp:// URL (the API's 400
 * next to the URL field), adds an endpoint pointing at a real HTTP receiver on 127.0.0.1 (server and worker allow
 * loopback and http here), sees its signing secret once (copy, "you will not see it again", gone once dismissed),
 * pings it and sees the delivery in the log as delivered with the receiver's 200; the receiver verifies the
 * signature with the secret the page showed. Redeliver sends the same event again; rotating shows a new secret
 * once, and both secrets sign during the overlap; Delete asks first and removes the endpoint.
 */

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function startReceiver() {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    got,
    url: (p: string) => `http://127.0.0.1:${port}${p}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** server (registration) and worker (connection) both check the address: both allow loopback here */
const WEBHOOK_ENV = { WEBHOOK_ALLOW_LOOPBACK: '1', WEBHOOK_ALLOW_HTTP: '1', WEBHOOK_TIMEOUT_MS: '3000', WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_RETRY_MAX_MS: '1000' };

describe('webhooks in the browser: add an endpoint, see its secret once, ping it, read the delivery log', () => {
  let env: TestEnv;
  let server: Proc;
  let worker: Proc;
  let browser: Browser;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    env = await createTestEnv();
    receiver = await startReceiver();
    [server, worker, browser] = await Promise.all([startServer(env.cfg, WEBHOOK_ENV), startWorker(env.cfg, WEBHOOK_ENV), launchChromium()]);
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await Promise.all([server, worker].filter(Boolean).map((p) => p.stop()));
    await receiver?.close();
    await env?.cleanup();
  });

  async function newPage(): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    return page;
  }
  const text = async (l: Locator) => ((await l.textContent()) ?? '').replace(/\s+/g, ' ').trim();
  const focusedTestId = (page: Page) => page.evaluate(() => document.activeElement?.closest('[data-testid]')?.getAttribute('data-testid') ?? null);

  it('forwarder1 (its organisation admin) adds an endpoint, pings it and the receiver verifies the signature', { timeout: 180_000 }, async () => {
    const page = await newPage();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await signInThroughForm(page, server.url, 'forwarder1@demo.test');
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    await page.locator('[data-testid="webhooks-page"][data-status="ready"]').waitFor({ timeout: WAIT });
    await page.getByTestId('webhooks-empty').waitFor({ timeout: WAIT });

    // ---- bad input: the API's 400 next to the URL field ----
    await page.getByTestId('webhook-url').fill('ftp://127.0.0.1/hook');
    await page.locator('[data-testid="webhook-event"][data-event="booking.confirmed"]').check();
    await page.getByTestId('webhook-submit').click();
    const url = page.getByTestId('webhook-url');
    await expect.poll(() => url.getAttribute('aria-invalid'), { timeout: WAIT }).toBe('true');
    expect(await text(page.getByTestId('webhook-error-url'))).toMatch(/http/i);
    expect((await url.getAttribute('aria-describedby')) ?? '').toBe(await page.getByTestId('webhook-error-url').getAttribute('id'));
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid')), { timeout: WAIT }).toBe('webhook-url');
    expect(await page.getByTestId('webhook-secret').count()).toBe(0);

    // ---- a good endpoint: the secret, once ----
    await url.fill(receiver.url('/hook'));
    await page.locator('[data-testid="webhook-event"][data-event="invoice.issued"]').check();
    await page.getByTestId('webhook-description').fill('TMS test receiver');
    await page.getByTestId('webhook-submit').click();
    const panel = page.getByTestId('webhook-secret');
    await panel.waitFor({ timeout: WAIT });
    expect(await focusedTestId(page)).toBe('webhook-secret');
    expect(await text(page.getByTestId('webhook-secret-notice'))).toMatch(/you will not see it again/i);
    const secret = await page.getByTestId('webhook-secret-value').inputValue();
    expect(secret).toMatch(/^whsec_/);
    const webhookId = (await panel.getAttribute('data-webhook-id'))!;
    await page.getByTestId('webhook-secret-copy').click();
    await expect.poll(() => text(page.getByTestId('webhook-secret-copied')), { timeout: WAIT }).toMatch(/copied/i);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

    const card = page.locator(`[data-testid="webhook"][data-webhook-id="${webhookId}"]`);
    await card.waitFor({ timeout: WAIT });
    expect(await card.getAttribute('data-health')).toBe('ok');
    expect(await text(card.getByTestId('webhook-health'))).toBe('● Enabled');
    expect(await text(card.getByTestId('webhook-events-list'))).toBe('booking.confirmed, invoice.issued');
    const row = await env.db.selectFrom('webhook_endpoints').select(['url', 'events', 'enabled']).where('id', '=', webhookId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ url: receiver.url('/hook'), enabled: true });

    // dismissed: gone from the page, the focus on the endpoint
    await page.getByTestId('webhook-secret-dismiss').click();
    await panel.waitFor({ state: 'detached', timeout: WAIT });
    await expect.poll(() => page.evaluate(() => document.activeElement?.id), { timeout: WAIT }).toBe(`wh-${webhookId}-h`);
    expect(await page.evaluate((s) => document.body.innerHTML.includes(s), secret)).toBe(false);

    // ---- ping: the log opens and follows the delivery until it is delivered ----
    await card.getByTestId('webhook-ping').click();
    const log = card.getByTestId('delivery-log');
    await log.waitFor({ timeout: WAIT });
    const ping = log.locator('[data-testid="delivery"][data-type="ping"]');
    await ping.first().waitFor({ timeout: WAIT });
    await expect.poll(() => ping.first().getAttribute('data-status'), { timeout: WAIT }).toBe('succeeded');
    expect(await text(ping.first().getByTestId('delivery-status'))).toBe('✓ Delivered');
    expect(await text(ping.first().getByTestId('delivery-code'))).toBe('200');
    expect(await text(card.getByTestId('webhook-notice'))).toMatch(/ping sent/i);
    const eventId = (await ping.first().getAttribute('data-event-id'))!;
    await page.screenshot({ path: path.join(RESULTS, 'webhooks-admin.png'), fullPage: true });

    // the receiver checks the signature with the secret the page showed
    const got = receiver.got.filter((r) => r.headers['cx-event-type'] === 'ping');
    expect(got).toHaveLength(1);
    const first = got[0]!;
    expect(first.headers['cx-event-id']).toBe(eventId);
    expect(JSON.parse(first.body)).toMatchObject({ id: eventId, type: 'ping', data: { webhookId } });
    expect(verifySignature(secret, String(first.headers['cx-signature']), first.body, Date.now())).toMatchObject({ ok: true });
    expect(verifySignature('whsec_wrong', String(first.headers['cx-signature']), first.body, Date.now())).toMatchObject({ ok: false });

    // ---- redeliver: the same event again, a new row in the log ----
    await ping.first().getByTestId('delivery-redeliver').click();
    await expect.poll(() => ping.count(), { timeout: WAIT }).toBe(2);
    await expect.poll(() => log.locator('[data-testid="delivery"][data-status="succeeded"]').count(), { timeout: WAIT }).toBe(2);
    await expect.poll(() => receiver.got.filter((r) => r.headers['cx-event-id'] === eventId).length, { timeout: WAIT }).toBe(2);

    // ---- rotate (confirmed, with an overlap): the new secret once; both sign the next ping ----
    await card.getByTestId('webhook-rotate').click();
    const dialog = page.locator('[data-testid="confirm-dialog"][open]');
    await dialog.waitFor({ timeout: WAIT });
    await dialog.getByTestId('webhook-overlap').fill('2');
    await dialog.getByTestId('confirm-dialog-ok').click();
    await page.locator('[data-testid="webhook-secret"][data-kind="rotated"]').waitFor({ timeout: WAIT });
    await expect.poll(() => focusedTestId(page), { timeout: WAIT }).toBe('webhook-secret');
    const secret2 = await page.getByTestId('webhook-secret-value').inputValue();
    expect(secret2).toMatch(/^whsec_/);
    expect(secret2).not.toBe(secret);
    expect(await text(page.getByTestId('webhook-secret-notice'))).toMatch(/previous secret keeps signing/i);
    await page.getByTestId('webhook-secret-dismiss').click();
    await card.getByTestId('webhook-ping').click();
    await expect.poll(() => receiver.got.filter((r) => r.headers['cx-event-type'] === 'ping' && r.headers['cx-event-id'] !== eventId).length, { timeout: WAIT }).toBe(1);
    const second = receiver.got.find((r) => r.headers['cx-event-type'] === 'ping' && r.headers['cx-event-id'] !== eventId)!;
    for (const s of [secret2, secret]) expect(verifySignature(s, String(second.headers['cx-signature']), second.body, Date.now())).toMatchObject({ ok: true });
    await expect.poll(() => log.locator('[data-testid="delivery"][data-status="succeeded"]').count(), { timeout: WAIT }).toBe(3);

    // ---- disable, enable ----
    await card.getByTestId('webhook-toggle').click();
    await expect.poll(() => card.getAttribute('data-health'), { timeout: WAIT }).toBe('disabled');
    expect(await text(card.getByTestId('webhook-health'))).toBe('○ Disabled');
    expect(await card.getByTestId('webhook-ping').isDisabled()).toBe(true);
    await card.getByTestId('webhook-toggle').click();
    await expect.poll(() => card.getAttribute('data-health'), { timeout: WAIT }).toBe('ok');

    // ---- delete, confirmed ----
    await card.getByTestId('webhook-delete').click();
    await dialog.waitFor({ timeout: WAIT });
    await dialog.getByTestId('confirm-dialog-ok').click();
    await card.waitFor({ state: 'detached', timeout: WAIT });
    await page.getByTestId('webhooks-empty').waitFor({ timeout: WAIT });
    // the list empties as soon as the endpoint is gone; the focus moves once the page's delete has finished
    await expect.poll(() => page.evaluate(() => document.activeElement?.id), { timeout: WAIT }).toBe('endpoints-h');
    expect(await env.db.selectFrom('webhook_endpoints').select('id').where('id', '=', webhookId).executeTakeFirst()).toBeUndefined();

    expect(errors, errors.join('\n')).toEqual([]);
  });
});
