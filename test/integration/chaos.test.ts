import { describe, expect, it } from 'vitest';
import { formatChaos, runChaos } from '../../tools/chaos/run.ts';

/**
 * Issue 5: 20 s of chaos — two server and two worker processes, a private Redis with AOF; servers and
 * workers SIGKILLed and restarted, Redis restarted, while forwarders hold, confirm, release, cancel and
 * bid (bid groups too), watchers take, decline or ignore offers of freed capacity, one forwarder's webhook
 * endpoint receives its events, and live clients watch. Every invariant check must count 0 violations.
 * (`npm run chaos` is the longer run of the same code.)
 */
describe('chaos: kills and restarts under load', () => {
  it('20 s with a server, a worker and Redis restarted, then 20 s without Redis: no violation of any invariant', async () => {
    const result = await runChaos({ seconds: 20, redisOutageSeconds: 20, outageAnswerMs: 8000, databaseUrl: process.env.DATABASE_URL!, ownerDatabaseUrl: process.env.MIGRATION_DATABASE_URL, log: (m) => process.stderr.write(`[chaos] ${m}\n`) });
    console.log(formatChaos(result));
    expect(result.faultCounts['server SIGKILL']).toBeGreaterThanOrEqual(1);
    expect(result.faultCounts['worker SIGKILL']).toBeGreaterThanOrEqual(1);
    expect(result.faultCounts['redis restart']).toBeGreaterThanOrEqual(1);
    // issue 9: then 20 s without Redis under load; every request answered (success or 503), none hangs —
    // within 8 s here (a loaded CI machine; `npm run chaos` holds them to 2 s and prints the figure)
    expect(result.faultCounts['redis outage']).toBe(1);
    expect(result.checks.find((c) => c.check.startsWith('requests during the Redis outage'))!.checked).toBeGreaterThan(20);
    expect(result.load['holds acknowledged']).toBeGreaterThan(0);
    expect(result.load['bids acknowledged']).toBeGreaterThan(0);
    // issues 14 and 15 in the load: offers of freed capacity, bid groups, webhook deliveries
    expect(result.load['offers made (cascade re-offers)']).toBeGreaterThan(0);
    expect(result.load['bid groups acknowledged']).toBeGreaterThan(0);
    expect(result.checks.find((c) => c.check.startsWith('acknowledged bookings of forwarder 0 without'))!.checked).toBeGreaterThan(0);
    for (const c of result.checks) expect({ check: c.check, violations: c.violations, examples: c.examples }).toEqual({ check: c.check, violations: 0, examples: [] });
  }, 360_000);
});
