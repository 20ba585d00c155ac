// npm run stop: stops what npm start left running (server, worker, local Postgres and Redis).
import { stopPostgres, stopRedis, log } from './stack.mjs';
import { stopDetached } from './procs.mjs';

await stopDetached('server');
await stopDetached('worker');
stopRedis();
stopPostgres();
log('stopped');
