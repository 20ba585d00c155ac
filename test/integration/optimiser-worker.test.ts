import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { startWorkers, type WorkerRuntime } from '../../workers/runtime.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';

/**
 * Issue 13 — the optimiser as deployed: a scheduler's POST /api/optimisations is solved by a worker process's
 * `pool.optimise` job, HiGHS running in a worker thread (server/adapters/solver/solve-thread.ts), and the
 * plan's proposals reach the forwarders. The worker also keeps the 15-minute schedule.
 */
describe('the optimiser through the worker', () => {
  let env: TestEnv;
  let built: App;
  let worker: WorkerRuntime;
  let sched: Session;
  let f1: Session;
  const errors: string[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    worker = await startWorkers(env.cfg, { info: () => {}, error: (...a: unknown[]) => errors.push(a.map(String).join(' ')) });
    [sched, f1] = (await Promise.all(['scheduler', 'forwarder1'].map((u) => signIn(built.app, `${u}@demo.test`)))) as [Session, Session];
  });
  afterAll(async () => {
    await worker?.close();
    await built?.app.close();
    await env?.cleanup();
  });

  it('a run asked for over HTTP is solved by the worker; its proposals reach the forwarder', async () => {
    const r = await as(built.app, sched)({ method: 'POST', url: '/api/optimisations' });
    expect(r.statusCode, r.body).toBe(202);
    let o = r.json() as { status: string; placed: number | null; planVersion: number | null };
    // bounded wait for the job (a count of polls, not a time assertion)
    for (let i = 0; i < 300 && (o.status === 'queued' || o.status === 'solving'); i++) {
      await new Promise((res) => setTimeout(res, 200));
      o = (await as(built.app, sched)({ method: 'GET', url: `/api/optimisations/${r.json().id}` })).json();
    }
    expect(o.status, JSON.stringify(o)).toBe('done');
    expect(o.planVersion).toBeGreaterThanOrEqual(1);
    expect(o.placed).toBeGreaterThan(0);
    const mine = (await as(built.app, f1)({ method: 'GET', url: '/api/proposals' })).json() as { status: string }[];
    expect(mine.some((p) => p.status === 'open')).toBe(true);
    expect(await worker.queues.get('maintenance').getJobScheduler('pool-schedule')).toBeTruthy();
    expect(errors.filter((e) => !/another optimisation is running/.test(e))).toEqual([]);
  });
});
