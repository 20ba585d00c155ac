import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulate } from '../../tools/simulate/run.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { buildApp } from '../helpers/http.ts';

/**
 * Issue 11, item 1: `npm run simulate` plays the forwarders' day through the public API of a running app — here
 * an in-process server on loopback — and stops by itself, or early and cleanly on an abort (Ctrl-C), leaving
 * no hold of its own behind.
 */
describe('npm run simulate (tools/simulate)', () => {
  let env: TestEnv;
  let built: App;
  let url: string;

  beforeAll(async () => {
    env = await createTestEnv({ template: 'demo' });
    built = await buildApp(env.cfg);
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = built.app.server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    url = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const activeHolds = async () =>
    (await env.db.selectFrom('holds').select(sql<number>`count(*)::int`.as('n')).where('status', '=', 'active').executeTakeFirstOrThrow()).n;

  it('plays a (short) day by itself: browses, holds, books through the API, and ends with no hold left open', async () => {
    const stats = await simulate({ url, minutes: 0.25, rate: 20, seed: 3 }, new AbortController().signal);
    expect(stats.stoppedBy).toBe('time');
    expect(stats.errors, stats.lastError ?? '').toBe(0);
    expect(stats.browsed).toBeGreaterThan(0);
    expect(stats.holds).toBeGreaterThan(0);
    expect(stats.confirmed).toBeGreaterThan(0);
    // every hold it decided was either placed by it or came from an offer it accepted; a refused confirm counts as refused
    expect(stats.confirmed + stats.released).toBeLessThanOrEqual(stats.holds + stats.offersAccepted);
    const bookings = await env.db.selectFrom('bookings').select(['reference', 'status']).where('reference', 'like', 'SIM-%').execute();
    expect(bookings.length).toBe(stats.confirmed);
    expect(bookings.filter((b) => b.status === 'cancelled').length).toBe(stats.cancelled);
    expect(await activeHolds()).toBe(0);
  });

  it('with the demo water feed, the scheduler reports Kaub readings through the day and the barges are derated', async () => {
    const stats = await simulate({ url, minutes: 0.15, rate: 5, seed: 5, water: {} }, new AbortController().signal);
    expect(stats.errors, stats.lastError ?? '').toBe(0);
    expect(stats.waterLevels).toBeGreaterThan(3); // every simulated 2 hours
    const levels = await env.db.selectFrom('water_levels').select(['gauge', 'level_cm']).execute();
    expect(levels.length).toBe(stats.waterLevels);
    expect(Math.min(...levels.map((l) => l.level_cm))).toBeLessThan(120); // the afternoon dip
    // the demo's Duisburg ↔ Basel barges of the coming days were derated by it
    const deratings = await env.db.selectFrom('deratings').select('departure_id').where('gauge', '=', 'KAUB').execute();
    expect(deratings.length).toBeGreaterThan(0);
  });

  it('stops early and cleanly on an abort (Ctrl-C): releases what it still holds', async () => {
    const abort = new AbortController();
    const running = simulate({ url, minutes: 30, rate: 20, seed: 4 }, abort.signal, () => {});
    setTimeout(() => abort.abort(), 4000);
    const stats = await running;
    expect(stats.stoppedBy).toBe('signal');
    expect(stats.simulatedHours).toBeLessThan(24);
    expect(stats.errors, stats.lastError ?? '').toBe(0);
    expect(await activeHolds()).toBe(0);
  });

  it('refuses unbounded runs', async () => {
    await expect(simulate({ url, minutes: 0, rate: 3 }, new AbortController().signal)).rejects.toThrow(/minutes/);
    await expect(simulate({ url, minutes: 1, rate: 500 }, new AbortController().signal)).rejects.toThrow(/rate/);
  });
});
