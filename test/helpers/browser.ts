import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where browser tests save their screenshots (git-ignored). */
export const RESULTS = path.resolve('test-results');
/** Upper bound for every wait on the page (a bound, not an assertion on time). */
export const WAIT = 30_000;

/** Debian's Chromium, headless, with the flags this closed network needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Fills and submits the sign-in form; waits for the board unless `expectBoard` is false. */
export async function signInThroughForm(page: Page, url: string, email: string, password = 'cluster-demo', expectBoard = true) {
  await page.goto(`${url}/`);
  await page.getByTestId('signin-email').waitFor({ timeout: WAIT });
  await page.getByTestId('signin-email').fill(email);
  await page.getByTestId('signin-password').fill(password);
  await page.getByTestId('signin-submit').click();
  if (expectBoard) await page.getByTestId('board').waitFor({ timeout: WAIT });
}

/** Same-document navigation to another hash route (no reload). */
export async function goHash(page: Page, hash: string) {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
}
