import closeWithGrace from 'close-with-grace';
import { loadConfig } from '../../server/config.ts';
import { startWorkers } from '../../workers/runtime.ts';

// TEST-ONLY worker entry (test/integration/settlement-kill.test.ts): workers/worker.ts plus a fault injection.
// Each settlement batch sleeps SETTLE_PAUSE_MS inside its transaction, after posting its charges and before
// its releases, so that the test can SIGKILL the worker half way through a settlement. Production code
// carries no such pause: it only offers the `afterCharges` seam (server/services/ledger/settlement.ts).
const pauseMs = Number(process.env.SETTLE_PAUSE_MS ?? 0);
if (!Number.isInteger(pauseMs) || pauseMs < 0) throw new Error(`SETTLE_PAUSE_MS must be a non-negative integer, got ${process.env.SETTLE_PAUSE_MS}`);

const runtime = await startWorkers(loadConfig(), console, {
  ledgerHooks: { afterCharges: () => new Promise<void>((r) => setTimeout(r, pauseMs)) },
});
closeWithGrace({ delay: 15_000 }, async ({ err, signal }) => {
  if (err) console.error('worker closing after an error', err);
  else console.log(`worker closing on ${signal}`);
  await runtime.close(10_000);
});
