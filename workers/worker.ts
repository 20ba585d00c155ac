import closeWithGrace from 'close-with-grace';
import { loadConfig } from '../server/config.ts';
import { startWorkers } from './runtime.ts';

// Process concerns only: configuration and signals.
const runtime = await startWorkers(loadConfig());
closeWithGrace({ delay: 15_000 }, async ({ err, signal }) => {
  if (err) console.error('worker closing after an error', err);
  else console.log(`worker closing on ${signal}`);
  await runtime.close(10_000);
});
