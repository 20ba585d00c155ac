// Entry of the solver's worker thread (see solve-thread.ts): registers tsx's ESM loader in this thread (the
// thread is started without the parent's execArgv, so this is the only loader), then runs solve-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./solve-worker.ts');
