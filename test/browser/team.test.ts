import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS, WAIT, goHash, launchChromium, signInThroughForm } from '../helpers/browser.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { startServer, type Proc } from '../helpers/procs.ts';

/**
 * The team page: forwarder 1's admin adds a colleague and reads the temporary password (shown once); the colleague
 * signs in with it in another browser, sees no team management, and sets a password of their own; the admin resets it
 * (a new temporary password, shown once) and then withdraws the colleague's access — the colleague's next request finds the session ended and the sign-in form
 * comes back, and the old and new passwords are both refused. The audit log shows the admin's changes.
 */
describe('team: add a colleague, their own password, access withdrawn', () => {
  let env: TestEnv;
  let server: Proc;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    env = await createTestEnv();
    [server, browser] = await Promise.all([startServer(env.cfg), launchChromium()]);
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    await env?.cleanup();
  });

  async function newPage(who: string, width = 1280) {
    const ctx = await browser.newContext({ viewport: { width, height: 900 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`${who} pageerror: ${e.message}`));
    return page;
  }

  it('admin adds → colleague signs in and changes password → admin withdraws access → colleague signed out', async () => {
    const admin = await newPage('admin');
    await signInThroughForm(admin, server.url, 'forwarder1@demo.test');
    await goHash(admin, '#/team');
    await admin.locator('[data-testid="team-page"][data-status="ready"]').waitFor({ timeout: WAIT });
    await admin.getByTestId('member-name').fill('Dana Dispatch');
    await admin.getByTestId('member-email').fill(' Dana.Dispatch@Example.test');
    await admin.getByTestId('member-submit').click();
    const secret = admin.getByTestId('one-time-value');
    await secret.waitFor({ timeout: WAIT });
    const temporary = await secret.inputValue();
    expect(temporary.length).toBeGreaterThanOrEqual(16);
    expect(await admin.evaluate(() => document.activeElement?.id)).toBe('one-time-h');
    const row = admin.locator('[data-testid="member-row"][data-email="dana.dispatch@example.test"]');
    await row.waitFor({ timeout: WAIT });
    await admin.getByTestId('one-time-dismiss').click();
    await expect.poll(() => admin.getByTestId('one-time').count()).toBe(0);
    // the organisation's only admin is not offered to demote or lock itself out (the server would answer 409 last_admin)
    const admins = await env.db
      .selectFrom('memberships as m').innerJoin('users as u', 'u.id', 'm.user_id').innerJoin('organisations as o', 'o.id', 'm.org_id')
      .select('u.email').where('m.role', '=', 'admin').where('u.disabled_at', 'is', null)
      .where('o.id', '=', (qb) => qb.selectFrom('memberships as m2').innerJoin('users as u2', 'u2.id', 'm2.user_id').select('m2.org_id').where('u2.email', '=', 'forwarder1@demo.test'))
      .execute();
    const selfRow = admin.locator('[data-testid="member-row"][data-email="forwarder1@demo.test"]');
    expect(await selfRow.getByTestId('member-sole-admin').count()).toBe(admins.length === 1 ? 1 : 0);
    expect(await selfRow.getByTestId('member-toggle-role').count()).toBe(admins.length === 1 ? 0 : 1);

    // ---- the colleague, on a phone ----
    const dana = await newPage('dana', 390);
    await signInThroughForm(dana, server.url, 'dana.dispatch@example.test', temporary);
    await goHash(dana, '#/team');
    await dana.getByTestId('team-member-note').waitFor({ timeout: WAIT });
    expect(await dana.getByTestId('members').count()).toBe(0);
    await dana.getByTestId('password-current').fill(temporary);
    await dana.getByTestId('password-new').fill('short');
    await dana.getByTestId('password-repeat').fill('short');
    await dana.getByTestId('password-submit').click();
    await dana.locator('[data-testid="password-new"][aria-invalid="true"]').waitFor({ timeout: WAIT });
    await dana.getByTestId('password-new').fill('barges on the rhine at dawn');
    await dana.getByTestId('password-repeat').fill('barges on the rhine at dawn');
    await dana.getByTestId('password-submit').click();
    await expect.poll(() => dana.getByTestId('password-status').textContent(), { timeout: WAIT }).toContain('Password changed');
    const noOverflow = await dana.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
    expect(noOverflow, 'the team page fits a 390 px phone').toBe(true);
    await dana.screenshot({ path: path.join(RESULTS, 'team-member-phone.png'), fullPage: true });

    // ---- the admin resets the password (confirmed first): a new temporary one, shown once ----
    await admin.reload();
    await row.getByTestId('member-reset-password').click({ timeout: WAIT });
    await admin.locator('dialog[open]').getByTestId('confirm-dialog-ok').click({ timeout: WAIT });
    await admin.getByTestId('one-time-value').waitFor({ timeout: WAIT });
    const reset = await admin.getByTestId('one-time-value').inputValue();
    expect(reset).not.toBe(temporary);
    await admin.getByTestId('one-time-dismiss').click();

    // ---- the admin withdraws access (confirmed first) ----
    await row.getByTestId('member-toggle-access').click({ timeout: WAIT });
    await admin.locator('dialog[open]').getByTestId('confirm-dialog-ok').click({ timeout: WAIT });
    await expect.poll(() => row.getByTestId('member-access').textContent(), { timeout: WAIT }).toBe('Withdrawn');
    await admin.locator('[data-testid="audit-row"][data-action="member.update"]').first().waitFor({ timeout: WAIT });
    expect(await admin.locator('[data-testid="audit-row"][data-action="member.add"]').count()).toBeGreaterThan(0);
    await admin.screenshot({ path: path.join(RESULTS, 'team-admin.png'), fullPage: true });

    // ---- the colleague's next request: the session has ended, the sign-in form is back ----
    await goHash(dana, '#/bookings');
    await dana.getByTestId('signin-email').waitFor({ timeout: WAIT });
    for (const password of [temporary, 'barges on the rhine at dawn', reset]) {
      const r = await fetch(`${server.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'dana.dispatch@example.test', password }) });
      expect(r.status).toBe(401);
    }
    expect(errors).toEqual([]);
  });
});
