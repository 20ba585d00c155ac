// npm run stop: stops what npm start left running (server, worker, local Postgres and Redis).
import { stopPostgres, stopRedis, log } from './stack.mjs';
import { stopDetached } from './daemons.mjs';

await stopDetached('server');
await stopDetached('worker');
await stopRedis();
stopPostgres();
log('stopped');
