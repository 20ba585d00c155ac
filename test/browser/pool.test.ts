import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS, WAIT, launchChromium, signInThroughForm } from '../helpers/browser.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { startServer, startWorker, type Proc } from '../helpers/procs.ts';

/**
 * Issue 13 acceptance (browser): a forwarder pools a shipment through "Pool a shipment" (a deliver-by in the past
 * first: the API's 400 shows next to the field), the scheduler runs the optimiser from its screen in another
 * browser context — the worker solves it — and reads the plan's figures and its proposals; the forwarder's
 * proposal appears without a reload (`proposal:new`), with its itinerary, price, saving and CO2e; the forwarder
 * accepts it and sees it booked, under My bookings too. Postgres agrees.
 *
 * An operator whose empty departure the plan proposes to cancel sees the proposal on its console and declines it.
 *
 * A pool change also asks for a run 30 s later (debounced): should that newer plan supersede the proposal just
 * before it is accepted, the page says so and shows the new one, which is accepted instead.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** a run waits for the worker (and for a scheduled run before it), then solves within its time limit */
const RUN_WAIT = 120_000;

describe('the pool in the browser: pool a shipment, run the optimiser, accept the proposal', () => {
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

  async function newPage(who: string): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`${who} pageerror: ${e.message}`));
    return page;
  }

  const input = (ms: number) => new Date(ms).toISOString().slice(0, 16);
  const text = async (l: Locator) => ((await l.textContent()) ?? '').replace(/\s+/g, ' ').trim();

  it('forwarder3 pools DEDUI → ITBLQ, the scheduler runs the optimiser, forwarder3 accepts the proposal live and has it booked', { timeout: 420_000 }, async () => {
    // ---- the forwarder: the Pool page from the header's nav ----
    const fwd = await newPage('forwarder');
    await signInThroughForm(fwd, server.url, 'forwarder3@demo.test');
    await fwd.getByRole('link', { name: 'Pool', exact: true }).click();
    await fwd.locator('[data-testid="pool-page"][data-status="ready"]').waitFor({ timeout: WAIT });
    await fwd.getByTestId('pool-form').waitFor({ timeout: WAIT });
    await expect.poll(() => fwd.getByTestId('live-status').getAttribute('data-state'), { timeout: WAIT }).toBe('live');
    const readsBefore = Number(await fwd.getByTestId('pool-page').getAttribute('data-reads'));

    await fwd.getByTestId('pool-from').selectOption('DEDUI');
    await fwd.getByTestId('pool-to').selectOption('ITBLQ');
    await fwd.getByTestId('pool-teu').fill('2');
    await fwd.getByTestId('pool-tonnes').fill('30');
    await fwd.getByTestId('pool-max-price').fill('50000');
    await fwd.getByTestId('pool-reference').fill('PO-POOL-UI');

    // a window entirely in the past: the form lets it through, the API refuses it (400) and the page ties the
    // message to the deliver-by field
    const now = Date.now();
    await fwd.getByTestId('pool-ready').fill(input(now - 3 * DAY));
    await fwd.getByTestId('pool-deliver').fill(input(now - DAY));
    await fwd.getByTestId('pool-submit').click();
    const deliver = fwd.getByTestId('pool-deliver');
    await expect.poll(() => deliver.getAttribute('aria-invalid'), { timeout: WAIT }).toBe('true');
    expect(await text(fwd.getByTestId('pool-error-deliverBy'))).toMatch(/future/i);
    expect((await deliver.getAttribute('aria-describedby')) ?? '').toContain(await fwd.getByTestId('pool-error-deliverBy').getAttribute('id'));
    expect(await fwd.getByTestId('pool-posted').count()).toBe(0);

    // a good window: ready in 6 h, delivered within 6 days
    await fwd.getByTestId('pool-ready').fill(input(now + 6 * HOUR));
    await fwd.getByTestId('pool-deliver').fill(input(now + 6 * HOUR + 6 * DAY));
    await fwd.getByTestId('pool-submit').click();
    const posted = fwd.getByTestId('pool-posted');
    await posted.waitFor({ timeout: WAIT });
    const shipmentId = (await posted.getAttribute('data-shipment-id')) ?? '';
    expect(shipmentId).toMatch(/^[0-9a-f-]{36}$/);
    const card = fwd.locator(`[data-testid="shipment"][data-shipment-id="${shipmentId}"]`);
    await card.waitFor({ timeout: WAIT });
    expect(await card.getAttribute('data-status')).toBe('pooled');
    expect(await card.getAttribute('data-reference')).toBe('PO-POOL-UI');
    expect(await text(card.getByTestId('shipment-status'))).toBe('Pooled');
    const row = await env.db.selectFrom('shipments').select(['status', 'teu', 'tonnes', 'max_total_cents', 'reference']).where('id', '=', shipmentId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'pooled', teu: 2, tonnes: 30, reference: 'PO-POOL-UI' });
    expect(Number(row.max_total_cents)).toBe(5_000_000);

    // ---- the scheduler: the Optimiser page, Run now ----
    const sched = await newPage('scheduler');
    await signInThroughForm(sched, server.url, 'scheduler@demo.test');
    await sched.getByRole('link', { name: 'Optimiser' }).click();
    await sched.locator('[data-testid="optimiser-page"][data-status="ready"]').waitFor({ timeout: WAIT });
    await expect.poll(() => sched.getByTestId('live-status').getAttribute('data-state'), { timeout: WAIT }).toBe('live');
    const runNow = sched.getByTestId('optimiser-run-now');
    // a run already queued (the worker's schedule) would see the new shipment as well: Run now waits for it to start
    await expect.poll(() => runNow.getAttribute('aria-disabled'), { timeout: RUN_WAIT }).toBe('false'); // aria-disabled: it keeps the focus while a run starts
    await runNow.click();
    await expect.poll(async () => (await sched.getByTestId('optimiser-page').getAttribute('data-started-id')) ?? '', { timeout: WAIT }).toMatch(/^[0-9a-f-]{36}$/);
    const runId = (await sched.getByTestId('optimiser-page').getAttribute('data-started-id'))!;
    const runRow = sched.locator(`[data-testid="optimiser-run"][data-optimisation-id="${runId}"]`);
    await runRow.waitFor({ timeout: WAIT });
    // the progress panel follows the run until its plan is written (it may be over before the page sees a phase)
    await sched.locator(`[data-testid="optimiser-progress"][data-optimisation-id="${runId}"], [data-testid="optimiser-run"][data-optimisation-id="${runId}"][data-status="done"]`).first().waitFor({ timeout: RUN_WAIT });
    await sched.locator(`[data-testid="optimiser-run"][data-optimisation-id="${runId}"][data-status="done"]`).waitFor({ timeout: RUN_WAIT });

    // the plan's figures: objective beside the LP bound and the gap, solve time, greedy, load factor, placed, CO2
    const plan = sched.locator(`[data-testid="optimiser-plan"][data-optimisation-id="${runId}"]`);
    await plan.waitFor({ timeout: WAIT });
    expect(await text(plan.getByTestId('plan-objective'))).toMatch(/€[\d,]+/);
    expect(await text(plan.getByTestId('plan-greedy'))).toMatch(/€[\d,]+/);
    expect(await text(plan.getByTestId('plan-solve-ms'))).toMatch(/\d+(\.\d+)? (ms|s)$/);
    expect(await text(plan.getByTestId('plan-load-factor'))).toMatch(/^\d+ %.*→.*\d+ %$/);
    const placed = (await text(plan.getByTestId('plan-placed'))).match(/^(\d+) \/ (\d+)$/);
    expect(placed, 'placed / requests').not.toBeNull();
    expect(Number(placed![1])).toBeGreaterThanOrEqual(1);
    expect(Number(placed![2])).toBeGreaterThanOrEqual(Number(placed![1]));
    expect(await text(plan.getByTestId('plan-co2'))).toMatch(/\d+ (kg|t)/);
    expect(await text(runRow.getByTestId('run-gap'))).toMatch(/%|—/);
    expect(await text(runRow.getByTestId('run-lp-bound'))).toMatch(/€/);
    // a merge names its target departure (it showed a bare id unless the target was also a shipment's leg)
    const merges = await env.db.selectFrom('proposals').select('id').where('optimisation_id', '=', runId).where('action', '=', 'merge').execute();
    const targets = await plan.getByTestId('merge-target').all();
    if (merges.length > 0) expect(targets.length, 'the plan has merges: some are shown').toBeGreaterThan(0);
    for (const target of targets) await expect.poll(() => text(target), { timeout: WAIT }).toMatch(/^\S+ → \S+ /);
    // the figures are the database's
    const o = await env.db.selectFrom('optimisations').select(['status', 'placed', 'requests', 'objective_cents', 'greedy_objective_cents']).where('id', '=', runId).executeTakeFirstOrThrow();
    expect(o.status).toBe('done');
    expect(`${o.placed} / ${o.requests}`).toBe(placed![0]);
    expect(Number(o.objective_cents)).toBeLessThanOrEqual(Number(o.greedy_objective_cents));
    // the forwarder's shipment is among the plan's proposals
    const planRow = plan.locator(`[data-testid="plan-proposal"][data-kind="shipment"][data-shipment-id="${shipmentId}"]`);
    await planRow.waitFor({ timeout: WAIT });
    // open (a newer plan — the pool change's — may already have superseded it: handled below)
    expect(['open', 'superseded']).toContain(await planRow.getAttribute('data-status'));
    await sched.screenshot({ path: path.join(RESULTS, 'optimiser-scheduler.png'), fullPage: true });

    // ---- the forwarder: the proposal appears live (no reload), with its itinerary and figures ----
    const openProposal = card.locator('[data-testid="proposal"][data-status="open"]');
    await openProposal.waitFor({ timeout: WAIT });
    expect(Number(await fwd.getByTestId('pool-page').getAttribute('data-reads'))).toBeGreaterThan(readsBefore);
    expect(await card.getAttribute('data-status')).toBe('proposed');
    expect(await text(card.getByTestId('shipment-status'))).toBe('Proposed');
    const legs = openProposal.getByTestId('proposal-leg');
    expect(await legs.count()).toBeGreaterThanOrEqual(1);
    // the legs name their clusters once the departures are read
    await expect.poll(async () => text(legs.first()), { timeout: WAIT }).toMatch(/[A-Z]{5}\s*→.*[A-Z]{5}/);
    expect(await text(openProposal.getByTestId('proposal-price'))).toMatch(/€[\d,]+/);
    expect(await text(openProposal.getByTestId('proposal-co2'))).toMatch(/kg|t/);
    if (await openProposal.getByTestId('proposal-saving').count()) expect(await text(openProposal.getByTestId('proposal-saving'))).toMatch(/alone €/);
    await fwd.screenshot({ path: path.join(RESULTS, 'pool-forwarder.png'), fullPage: true });

    // ---- accept: booked (a newer plan that superseded the proposal meanwhile: accept its proposal instead) ----
    let itineraryId = '';
    for (let attempt = 0; attempt < 4 && !itineraryId; attempt++) {
      const p = card.locator('[data-testid="proposal"][data-status="open"]');
      await p.waitFor({ timeout: RUN_WAIT });
      const proposalId = (await p.getAttribute('data-proposal-id')) ?? '';
      await p.getByTestId('proposal-accept').click();
      const booked = card.getByTestId('shipment-booked');
      const refused = card.getByTestId('proposal-refused');
      await booked.or(refused).first().waitFor({ timeout: WAIT });
      if (await booked.count()) {
        itineraryId = (await booked.getAttribute('data-itinerary-id')) ?? '';
        break;
      }
      const why = await text(refused);
      const status = (await env.db.selectFrom('proposals').select('status').where('id', '=', proposalId).executeTakeFirstOrThrow()).status;
      // only a newer plan may take the proposal away; a stale proposal would be a failure of this test's set-up
      expect(status, why).toBe('superseded');
      expect(why).toMatch(/newer plan/);
    }
    expect(itineraryId).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(() => card.getAttribute('data-status'), { timeout: WAIT }).toBe('booked');
    expect(await text(card.getByTestId('shipment-status'))).toBe('Booked');
    expect(await card.getByTestId('proposal-accept').count()).toBe(0);
    expect(await card.getByTestId('shipment-withdraw').count()).toBe(0);
    const ship = await env.db.selectFrom('shipments').select(['status', 'itinerary_id']).where('id', '=', shipmentId).executeTakeFirstOrThrow();
    expect(ship).toEqual({ status: 'booked', itinerary_id: itineraryId });
    const itin = await env.db.selectFrom('itineraries').select('status').where('id', '=', itineraryId).executeTakeFirstOrThrow();
    expect(itin.status).toBe('confirmed');
    await fwd.screenshot({ path: path.join(RESULTS, 'pool-forwarder-booked.png'), fullPage: true });

    // ---- under My bookings: the itinerary the proposal became ----
    await card.getByTestId('shipment-booking-link').click();
    const itRow = fwd.locator(`[data-testid="itinerary-row"][data-itinerary-id="${itineraryId}"]`);
    await itRow.waitFor({ timeout: WAIT });
    expect(await itRow.getAttribute('data-status')).toBe('confirmed');
    expect(await itRow.getByTestId('itinerary-row-leg').count()).toBeGreaterThanOrEqual(1);

    // ---- the scheduler's table follows: the proposal is accepted (after the runs are read again) ----
    await sched.reload();
    await sched.locator('[data-testid="optimiser-page"][data-status="ready"]').waitFor({ timeout: WAIT });
    const acceptedRow = sched.locator(`[data-testid="plan-proposal"][data-shipment-id="${shipmentId}"][data-status="accepted"]`);
    if (!(await acceptedRow.count())) {
      // the newest plan is shown by default; the accepted proposal belongs to the plan it came from
      const planOf = (await env.db.selectFrom('proposals').select('optimisation_id').where('shipment_id', '=', shipmentId).where('status', '=', 'accepted').executeTakeFirstOrThrow()).optimisation_id;
      await sched.locator(`[data-testid="optimiser-run"][data-optimisation-id="${planOf}"] [data-testid="run-select"]`).click();
    }
    await acceptedRow.waitFor({ timeout: WAIT });

    // ---- an operator: the plan's proposals on its departures, on the operator console; it keeps one running ----
    const { rows: [target] } = await sql<{ email: string; id: string }>`
      select u.email, p.id from proposals p join memberships m on m.org_id = p.operator_org_id join users u on u.id = m.user_id
       where p.kind = 'departure' and p.status = 'open' order by p.created_at desc, u.email limit 1`.execute(env.db);
    expect(target, 'the demo plan proposes cancelling an empty departure').toBeDefined();
    const op = await newPage('operator');
    await signInThroughForm(op, server.url, target!.email);
    await op.getByRole('link', { name: 'Operator console' }).click();
    const section = op.getByTestId('departure-proposals');
    await section.waitFor({ timeout: WAIT });
    const open = section.locator('[data-testid="departure-proposal"][data-status="open"]');
    expect(await open.count()).toBeGreaterThanOrEqual(1);
    const first = open.first();
    const pid = (await first.getAttribute('data-proposal-id'))!;
    expect(await text(first)).toMatch(/Cancel .*load 0 → 0 TEU of \d+, minimum \d+/);
    await first.getByTestId('departure-proposal-decline').click();
    const decided = section.locator(`[data-testid="departure-proposal"][data-proposal-id="${pid}"]`);
    // declined — or, should a newer plan have superseded it meanwhile, gone from the list with the reason shown
    await expect.poll(async () => ((await decided.count()) ? await decided.getAttribute('data-status') : 'gone'), { timeout: WAIT }).not.toBe('open');
    const status = (await env.db.selectFrom('proposals').select('status').where('id', '=', pid).executeTakeFirstOrThrow()).status;
    expect(['declined', 'superseded']).toContain(status);
    if (status === 'declined') expect(await decided.getAttribute('data-status')).toBe('declined');
    await op.screenshot({ path: path.join(RESULTS, 'pool-operator.png'), fullPage: false });

    expect(errors, errors.join('\n')).toEqual([]);
  });
});
