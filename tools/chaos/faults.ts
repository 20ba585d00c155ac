// The chaos run's faults: SIGKILL a server (restarted on the same port), SIGKILL a worker (restarted),
// restart Redis (SHUTDOWN or SIGKILL, same port and AOF dir) — in deterministic slots spread over the
// load phase, with seeded jitter and order — then the Redis outage phase.
import { sleep } from '../../scripts/lib/procs.mjs';
import type { Outage } from './load.ts';
import type { Fault } from './report.ts';
import type { Rng } from '../../server/core/rng.ts';
import type { ChaosWorld } from './world.ts';

type FaultKind = 'server' | 'worker' | 'redis';

/** One server, one worker and one Redis fault per 30 s of load (at least one of each), in a seeded order. */
export function planFaults(rng: Rng, seconds: number): FaultKind[] {
  const rounds = Math.max(1, Math.floor(seconds / 30));
  const plan: FaultKind[] = [];
  for (let k = 0; k < rounds; k++) {
    const kinds: FaultKind[] = ['server', 'worker', 'redis'];
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
    }
    plan.push(...kinds);
  }
  return plan;
}

/** Runs `plan` over the `seconds` after `loadStart`, appending what it did to `faults`. */
export async function injectFaults(world: ChaosWorld, plan: FaultKind[], rng: Rng, loadStart: number, seconds: number, faults: Fault[], log: (m: string) => void) {
  const { servers, workers, redis } = world;
  const slot = (seconds * 1000) / (plan.length + 1);
  let redisRestarts = 0;
  for (let i = 0; i < plan.length; i++) {
    const at = loadStart + slot * (i + 1) + Math.round((rng.next() - 0.5) * 0.5 * slot);
    if (at > Date.now()) await sleep(at - Date.now());
    const kind = plan[i]!;
    const t = Date.now();
    const downMs = kind === 'redis' ? rng.int(300, 2000) : rng.int(100, 800);
    if (kind === 'server') {
      const k = rng.int(0, 1);
      log(`fault: SIGKILL ${servers[k]!.name} (process group), restart on port ${world.ports[k]} after ${downMs} ms`);
      await servers[k]!.kill();
      await sleep(downMs);
      await world.startServer(k);
      faults.push({ at: (t - loadStart) / 1000, kind: 'server SIGKILL + restart', target: servers[k]!.name, downMs: Date.now() - t });
    } else if (kind === 'worker') {
      const k = rng.int(0, 1);
      log(`fault: SIGKILL ${workers[k]!.name} (process group), restart after ${downMs} ms`);
      await workers[k]!.kill();
      await sleep(downMs);
      await world.startWorker(k);
      faults.push({ at: (t - loadStart) / 1000, kind: 'worker SIGKILL + restart', target: workers[k]!.name, downMs: Date.now() - t });
    } else {
      const how = redisRestarts++ % 2 === 0 ? 'SHUTDOWN' : 'SIGKILL';
      log(`fault: Redis ${how}, start again on the same port and AOF dir after ${downMs} ms`);
      if (how === 'SHUTDOWN') await redis.shutdown();
      else await redis.kill();
      await sleep(downMs);
      await redis.start();
      faults.push({ at: (t - loadStart) / 1000, kind: `redis ${how} + restart`, target: 'redis', downMs: Date.now() - t });
    }
  }
}

/**
 * The outage phase: Redis SIGKILLed for `outage.seconds` under load (the window opens when it really went,
 * so requests that met a fault's restart before it do not count), then every server and worker must still
 * be alive, and Redis comes back.
 */
export async function redisOutage(world: ChaosWorld, outage: Outage, loadStart: number, faults: Fault[], log: (m: string) => void) {
  if (outage.seconds <= 0) return;
  if (outage.plannedStart > Date.now()) await sleep(outage.plannedStart - Date.now());
  log(`fault: Redis SIGKILL for ${outage.seconds} s under load (every request must answer within ${outage.answerMs} ms)`);
  const t = Date.now();
  await world.redis.kill();
  outage.start = Date.now();
  outage.end = outage.start + outage.seconds * 1000;
  await sleep(outage.end - Date.now());
  for (const p of [...world.servers, ...world.workers]) {
    if (!p.alive) {
      outage.bad.push(`${p.name} died while Redis was away`);
      log(`${p.name} died while Redis was away: ${p.out.slice(-1500)}`);
    }
  }
  await world.redis.start();
  faults.push({ at: (t - loadStart) / 1000, kind: 'redis outage', target: 'redis', downMs: Date.now() - t });
}
