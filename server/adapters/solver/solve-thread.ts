/**
 * HiGHS in a worker thread, so that a solve (synchronous inside HiGHS) never blocks the caller's event loop:
 * the BullMQ worker keeps renewing its locks, answering other jobs and sending progress while the thread
 * solves.
 *
 * One thread per {@link ThreadSolver}, started on the first solve, HiGHS loaded once in it; solves run one at
 * a time (queued). Progress reported by HiGHS inside the thread reaches `opts.onProgress` as messages. A
 * watchdog terminates the thread when a solve overruns its time limit by far (2 × limit + `graceMs`): HiGHS
 * honours its own time limit, the watchdog is the guard against a hung runtime; that solve rejects and the
 * next one starts a fresh thread. While idle the thread does not keep the process alive.
 */
import { Worker } from 'node:worker_threads';
import type { MipSolver, SolveOptions, SolveProgress, SolveResult } from '../../core/pooling/types.ts';
import type { SolveRequestMessage } from './solve-worker.ts';

type Reply = { id: number; progress?: SolveProgress; result?: SolveResult; warmedMs?: number; error?: string };

export class ThreadSolver implements MipSolver {
  private worker: Worker | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private current: { id: number; resolve: (r: Reply) => void; reject: (e: Error) => void; onProgress?: (p: SolveProgress) => void } | undefined;

  constructor(private readonly graceMs = 10_000) {}

  /** Solves in the thread; queued behind any solve still running. */
  solve(lp: string, opts: SolveOptions): Promise<SolveResult> {
    const { onProgress, ...rest } = opts;
    return this.enqueue((id) => ({ id, lp, opts: rest, progress: Boolean(onProgress) }), opts.timeLimitSec, onProgress).then((r) => r.result!);
  }

  /**
   * Starts the thread and warms HiGHS up in it (highs.ts `warmUp`: the first solves of a fresh WebAssembly
   * runtime are 3–4 times slower). Call it once when the worker process starts. Resolves to the ms it took.
   */
  warmUp(seconds = 1.5): Promise<number> {
    return this.enqueue((id) => ({ id, warmUp: seconds }), seconds + 10).then((r) => r.warmedMs ?? 0);
  }

  private enqueue(msg: (id: number) => SolveRequestMessage, limitSec: number, onProgress?: (p: SolveProgress) => void): Promise<Reply> {
    const run = this.tail.then(() => this.run(msg, limitSec, onProgress));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Stops the thread (a running solve rejects). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./solve-worker.mjs', import.meta.url), { execArgv: [] });
    w.on('message', (m: Reply) => {
      const cur = this.current;
      if (!cur || m.id !== cur.id) return;
      if (m.progress) cur.onProgress?.(m.progress);
      else if (m.result || m.warmedMs !== undefined) cur.resolve(m);
      else cur.reject(new Error(`solver thread: ${m.error ?? 'no answer'}`));
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = undefined;
      this.current?.reject(err);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`solver thread exited (${code})`)));
    w.unref();
    return w;
  }

  private run(msg: (id: number) => SolveRequestMessage, limitSec: number, onProgress?: (p: SolveProgress) => void): Promise<Reply> {
    this.worker ??= this.spawn();
    const w = this.worker;
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const watchdog = setTimeout(() => {
        if (this.worker === w) this.worker = undefined;
        void w.terminate();
        finish();
        reject(new Error(`solver thread overran its ${limitSec} s limit: terminated`));
      }, limitSec * 2_000 + this.graceMs);
      const finish = () => {
        clearTimeout(watchdog);
        this.current = undefined;
        w.unref();
      };
      this.current = {
        id,
        onProgress,
        resolve: (r) => {
          finish();
          resolve(r);
        },
        reject: (e) => {
          finish();
          reject(e);
        },
      };
      w.ref();
      w.postMessage(msg(id));
    });
  }
}

/** A {@link MipSolver} on its own worker thread. Call `close()` when done. */
export const threadSolver = (graceMs?: number): ThreadSolver => new ThreadSolver(graceMs);
