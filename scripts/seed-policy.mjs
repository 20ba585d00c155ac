// Whether `npm start` seeds the demo network. The demo users share a published password (the platform
// admin included), so they go only where nobody can mistake them for real accounts: the project-local
// database, or any database when explicitly asked (SEED_DEMO=1, or `npm run seed`).

const YES = new Set(['1', 'true', 'yes']);
const NO = new Set(['0', 'false', 'no']);

/**
 * @param {{ localDatabase: boolean, seedDemo?: string | undefined }} o
 *   localDatabase: the project-local cluster (no DATABASE_URL given); seedDemo: the SEED_DEMO variable.
 * @returns {{ seed: boolean, note?: string, error?: string }}
 */
export function demoSeedDecision({ localDatabase, seedDemo }) {
  const asked = (seedDemo ?? '').trim().toLowerCase();
  if (YES.has(asked)) return { seed: true };
  if (NO.has(asked)) return { seed: false, note: 'demo data not seeded (SEED_DEMO=0).' };
  if (asked !== '') return { seed: false, error: `SEED_DEMO must be 1 or 0, not ${JSON.stringify(seedDemo)}.` };
  if (localDatabase) return { seed: true };
  return {
    seed: false,
    note:
      'demo data NOT seeded: DATABASE_URL names an external database, and the demo users share a known password. ' +
      'To seed the demo network into it anyway (only when empty): SEED_DEMO=1 npm start, or npm run seed.',
  };
}

/**
 * What `npm start` asks of the seed when it seeds (an empty database only): the network, its living activity
 * (upcoming bookings, holds, auctions) and its history — `days` of past departures with bookings,
 * cancellations and settled invoices (SEED_HISTORY_DAYS, default 90; 0: no history). Test templates never get
 * either: they are seeded by the test harness itself (test/setup/global.ts), with free capacity.
 * @param {{ historyDays?: string | undefined }} o  historyDays: the SEED_HISTORY_DAYS variable.
 * @returns {{ args: string[], error?: string }}
 */
export function demoSeedArgs({ historyDays }) {
  const raw = (historyDays ?? '').trim();
  const days = raw === '' ? 90 : Number(raw);
  if (!Number.isInteger(days) || days < 0 || days > 3660) {
    return { args: [], error: `SEED_HISTORY_DAYS must be a whole number of days 0..3660, not ${JSON.stringify(historyDays)}.` };
  }
  return { args: ['--if-empty', '--activity', ...(days > 0 ? ['--history', String(days)] : [])] };
}
