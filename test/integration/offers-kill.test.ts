import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing, createForwarders } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';
import { offerInvariantViolations } from '../helpers/offers.ts';
import { startWorker, waitUntil, type Proc } from '../helpers/procs.ts';

/**
 * Offers survive a worker SIGKILLed while they are open (issue 14): their expiry jobs were with the dead worker (or
 * not yet taken); a fresh worker's start-up sweep and the delayed jobs expire each exactly once and cascade on, so
 * every chain visits each watcher once and ends back on the board — no offer lost, none doubled.
 */
describe('offers with a worker killed while they are open', () => {
  let env: TestEnv;
  let built: App;
  const workers: Proc[] = [];

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { offerWindowMs: 1200 } });
    built = await buildApp(env.cfg);
  });
  afterAll(async () => {
    for (const w of workers) await w.stop('SIGTERM').catch(() => {});
    await built?.app.close();
    await env?.cleanup();
  });

  it('SIGKILL with offers open → a fresh worker expires each once and cascades every chain to its end', async () => {
    const first = await startWorker(env.cfg);
    workers.push(first);
    const seller = await signIn(built.app, 'forwarder1@demo.test');
    const watchers: Session[] = [];
    for (const f of await createForwarders(env.db, 3, 'kill')) watchers.push(await signIn(built.app, f.email));
    const deps = [];
    for (let i = 0; i < 4; i++) deps.push(await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, unitPriceCents: 35_000 }));
    for (const [i, w] of watchers.entries()) {
      const r = await as(built.app, w)({ method: 'POST', url: '/api/watches', payload: { from: 'DEDUI', to: 'ITBLQ', minTeu: 1, maxUnitPriceCents: 90_000 - i * 1000 } });
      expect(r.statusCode).toBe(201);
    }
    for (const d of deps) {
      const h = await as(built.app, seller)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 2, tonnes: 20 } });
      const b = await as(built.app, seller)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} });
      expect((await as(built.app, seller)({ method: 'DELETE', url: `/api/bookings/${b.json().id}` })).statusCode).toBe(200);
    }
    const open = await env.db.selectFrom('offers').select('id').where('status', '=', 'open').execute();
    expect(open).toHaveLength(deps.length);

    // kill the worker (tsx runs it in a child node process: that one first, then tsx) with every offer open
    const workerPid = Number(/worker (\d+) running queues/.exec(first.output())?.[1]);
    expect(workerPid).toBeGreaterThan(0);
    process.kill(workerPid, 'SIGKILL');
    await first.stop('SIGKILL');
    // while no worker runs, nothing moves on: the offers stay open (and reserved) past their time
    await new Promise((r) => setTimeout(r, 1500));
    expect(await offerInvariantViolations(env.db)).toEqual([]);

    workers.push(await startWorker(env.cfg));
    const ids = deps.map((d) => d.departureId);
    await waitUntil(async () => {
      const left = await env.db.selectFrom('offer_chains').select('id').where('departure_id', 'in', ids).where('status', '=', 'offering').execute();
      return left.length === 0;
    }, 'every chain to end', 300, 100);

    const offers = await env.db.selectFrom('offers').select(['chain_id', 'org_id', 'round', 'status']).where('departure_id', 'in', ids).orderBy('chain_id').orderBy('round').execute();
    const chains = await env.db.selectFrom('offer_chains').select(['id', 'status']).where('departure_id', 'in', ids).execute();
    expect(chains).toHaveLength(deps.length);
    for (const c of chains) {
      expect(c.status).toBe('returned');
      const mine = offers.filter((o) => o.chain_id === c.id);
      // each watcher offered exactly once, in the published order (highest maximum first), each expired once
      expect(mine.map((o) => o.round)).toEqual([1, 2, 3]);
      expect(mine.map((o) => o.org_id)).toEqual(watchers.map((w) => w.me.org.id));
      expect(mine.every((o) => o.status === 'expired')).toBe(true);
    }
    for (const d of deps) {
      const l = await env.db.selectFrom('listings').select('remaining_teu').where('id', '=', d.listingId).executeTakeFirstOrThrow();
      expect(l.remaining_teu).toBe(20);
    }
    expect(await offerInvariantViolations(env.db)).toEqual([]);
  });
});
