/**
 * Worker-thread side of `solve-thread.ts`: loads HiGHS once, then answers one message at a time —
 * `{ id, lp, opts, progress }` → `{ id, progress }`* then `{ id, result }` or `{ id, error }`;
 * `{ id, warmUp: seconds }` → `{ id, warmedMs }` (see highs.ts warmUp).
 * Started through `solve-worker.mjs`, which registers the TypeScript loader first.
 */
import { parentPort } from 'node:worker_threads';
import type { SolveOptions } from '../../core/pooling/types.ts';
import { loadHighs, solveLp, warmUp } from './highs.ts';

export type SolveRequestMessage =
  | { id: number; lp: string; opts: Omit<SolveOptions, 'onProgress'>; progress: boolean }
  | { id: number; warmUp: number };

const port = parentPort;
if (!port) throw new Error('solve-worker.ts must run in a worker thread');
port.on('message', (msg: SolveRequestMessage) => {
  void (async () => {
    try {
      if ('warmUp' in msg) {
        port.postMessage({ id: msg.id, warmedMs: await warmUp(msg.warmUp) });
        return;
      }
      const highs = await loadHighs();
      const onProgress = msg.progress ? (p: unknown) => port.postMessage({ id: msg.id, progress: p }) : undefined;
      port.postMessage({ id: msg.id, result: solveLp(highs, msg.lp, { ...msg.opts, onProgress }) });
    } catch (err) {
      port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
    }
  })();
});
