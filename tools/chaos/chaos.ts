// npm run chaos [-- --seconds 120 --redis-outage 20 --json FILE --seed N]
//
// Chaos run: 2 server + 2 worker processes on a private database and a private Redis (AOF), forwarders
// holding / confirming / releasing / cancelling / bidding (bid groups too), taking / declining / ignoring
// offers of freed capacity, one with a webhook endpoint at a local receiver, while servers and workers are SIGKILLed and
// Redis is restarted, then Redis is away for --redis-outage seconds under load (every request must answer
// within 2 s, success or 503); then every invariant is checked (see tools/chaos/run.ts). Progress on stderr,
// the summary table on stdout, exit code 1 on any violation. Loopback only; bounded; cleans up after itself.
import { writeFileSync } from 'node:fs';
import { migrationDatabaseUrl } from '../../server/adapters/db/migrate.ts';
import { loadConfig } from '../../server/config.ts';
import { formatChaos, runChaos } from './run.ts';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const seconds = Number(opt('seconds') ?? 120);
if (!Number.isFinite(seconds) || seconds < 5 || seconds > 3600) {
  process.stderr.write('--seconds must be a number between 5 and 3600\n');
  process.exit(2);
}
const outage = Number(opt('redis-outage') ?? 20);
if (!Number.isInteger(outage) || outage < 0 || outage > 600) {
  process.stderr.write('--redis-outage must be a whole number of seconds between 0 and 600\n');
  process.exit(2);
}
const seedArg = opt('seed');
const jsonFile = opt('json');

const result = await runChaos({
  seconds,
  redisOutageSeconds: outage,
  databaseUrl: loadConfig().databaseUrl,
  ownerDatabaseUrl: migrationDatabaseUrl(),
  handleSignals: true,
  ...(process.env.REDIS_BIN ? { redisBin: process.env.REDIS_BIN } : {}),
  ...(seedArg !== undefined ? { seed: Number(seedArg) } : {}),
});
console.log(formatChaos(result));
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(result, null, 2));
process.exit(result.ok ? 0 : 1);
