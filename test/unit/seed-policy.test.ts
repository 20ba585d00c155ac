import { describe, expect, it } from 'vitest';
import { demoSeedDecision } from '../../scripts/seed-policy.mjs';

/** Issue 9, finding 8: `npm start` puts the demo users (known password, platform admin included) only
 *  into the project-local database, or into another database only when explicitly asked. */
describe('npm start: when the demo network is seeded', () => {
  it('seeds the project-local database (no DATABASE_URL given)', () => {
    expect(demoSeedDecision({ localDatabase: true, seedDemo: undefined })).toEqual({ seed: true });
    expect(demoSeedDecision({ localDatabase: true, seedDemo: '' })).toEqual({ seed: true });
  });

  it('does not seed an external DATABASE_URL unless asked, and says how to ask', () => {
    const d = demoSeedDecision({ localDatabase: false, seedDemo: undefined });
    expect(d.seed).toBe(false);
    expect(d.note).toMatch(/NOT seeded/);
    expect(d.note).toMatch(/SEED_DEMO=1/);
    expect(d.note).toMatch(/npm run seed/);
  });

  it('seeds an external database when asked with SEED_DEMO=1 (or true / yes)', () => {
    for (const v of ['1', 'true', 'yes', 'TRUE']) expect(demoSeedDecision({ localDatabase: false, seedDemo: v }).seed).toBe(true);
  });

  it('SEED_DEMO=0 opts out even locally; any other value is an error, not a guess', () => {
    for (const local of [true, false]) expect(demoSeedDecision({ localDatabase: local, seedDemo: '0' }).seed).toBe(false);
    const bad = demoSeedDecision({ localDatabase: false, seedDemo: 'maybe' });
    expect(bad.seed).toBe(false);
    expect(bad.error).toMatch(/SEED_DEMO/);
  });

  it('scripts/start.mjs decides with it, from DATABASE_URL and SEED_DEMO, before seeding', async () => {
    const { readFileSync } = await import('node:fs');
    const start = readFileSync(new URL('../../scripts/start.mjs', import.meta.url), 'utf8');
    expect(start).toMatch(/demoSeedDecision\(\{ localDatabase: !process\.env\.DATABASE_URL, seedDemo: process\.env\.SEED_DEMO \}\)/);
    expect(start).toMatch(/if \(decision\.seed\) \{[^}]*seed\.ts/);
  });
});

/** Issue 11: npm start seeds the living demo with its history; the test templates never get either. */
describe('npm start: what the demo seed includes', () => {
  it('the activity and 90 days of history by default', async () => {
    const { demoSeedArgs } = await import('../../scripts/seed-policy.mjs');
    expect(demoSeedArgs({ historyDays: undefined })).toEqual({ args: ['--if-empty', '--activity', '--history', '90'] });
    expect(demoSeedArgs({ historyDays: '365' }).args).toEqual(['--if-empty', '--activity', '--history', '365']);
    expect(demoSeedArgs({ historyDays: '0' }).args).toEqual(['--if-empty', '--activity']);
    for (const bad of ['-1', '2.5', 'many', '9999']) expect(demoSeedArgs({ historyDays: bad }).error).toMatch(/SEED_HISTORY_DAYS/);
  });

  it('scripts/start.mjs seeds with those arguments; the test templates are seeded without activity or history', async () => {
    const { readFileSync } = await import('node:fs');
    const start = readFileSync(new URL('../../scripts/start.mjs', import.meta.url), 'utf8');
    expect(start).toMatch(/demoSeedArgs\(\{ historyDays: process\.env\.SEED_HISTORY_DAYS \}\)/);
    expect(start).toMatch(/runTsx\('server\/cli\/seed\.ts', seedArgs\.args/);
    const global = readFileSync(new URL('../setup/global.ts', import.meta.url), 'utf8');
    expect(global).not.toMatch(/seedHistory|seedActivity/);
  });
});
