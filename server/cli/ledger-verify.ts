import { writeFileSync } from 'node:fs';
import { createDb } from '../adapters/db/db.ts';
import { loadConfig } from '../config.ts';
import { verifyLedger } from '../services/ledger/verifier.ts';

// npm run ledger:verify [-- --json FILE]
// Checks the whole ledger (balanced transactions, balances two ways, one charge per booking, escrow
// released, refunds, gapless invoice numbers); prints a table; exits 1 on any violation.
const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const db = createDb(loadConfig().databaseUrl, { max: 2 });
try {
  const result = await verifyLedger(db);
  console.table(
    Object.fromEntries(
      Object.entries(result.checks).map(([name, c]) => [name, { ok: c.ok ? '✔' : '✖', checked: c.checked, violations: c.violations, rule: c.rule }]),
    ),
  );
  for (const [name, c] of Object.entries(result.checks)) {
    for (const ex of c.examples) console.error(`  ✖ ${name}: ${ex}`);
  }
  console.log(result.ok ? 'ledger: all checks passed' : 'ledger: VIOLATIONS FOUND');
  if (jsonAt >= 0 && args[jsonAt + 1]) writeFileSync(args[jsonAt + 1]!, JSON.stringify(result, null, 2));
  if (!result.ok) process.exitCode = 1;
} catch (err) {
  console.error('ledger verification failed:', err instanceof Error ? err.message : err);
  process.exitCode = 2;
} finally {
  await db.destroy();
}
