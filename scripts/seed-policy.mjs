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
