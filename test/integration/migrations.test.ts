import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../server/adapters/db/migrate.ts';
import { seedDemo } from '../../server/seed/seed.ts';
import { demoUsers } from '../../server/seed/network.ts';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';

describe('migrations and demo seed (real Postgres)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ template: 'none' });
  });
  afterAll(() => env.cleanup());

  it('migrate from an empty database creates the schema, and a second run applies nothing', async () => {
    const first = await migrateToLatest(env.db);
    expect(first.length).toBeGreaterThan(0);
    const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public'`.execute(env.db);
    const names = tables.rows.map((r) => r.tablename);
    for (const t of ['organisations', 'users', 'memberships', 'sessions', 'api_keys', 'clusters', 'corridors', 'departures', 'listings', 'holds', 'bookings', 'audit_log']) {
      expect(names).toContain(t);
    }
    expect(await migrateToLatest(env.db)).toEqual([]);
  });

  it('seeds the demo network once: a second seed changes nothing', async () => {
    const now = new Date();
    const first = await seedDemo(env.db, now);
    expect(first.departuresCreated).toBeGreaterThan(100);
    const after1 = await tableCounts(env.db);
    const second = await seedDemo(env.db, now);
    expect(second.departuresCreated).toBe(0);
    expect(second.listingsCreated).toBe(0);
    const after2 = await tableCounts(env.db);
    // only the audit log may differ (it records nothing for a no-op seed either)
    expect(after2).toEqual(after1);
    expect(after1.users).toBe(demoUsers.length);
    const codes = (await env.db.selectFrom('clusters').select('code').execute()).map((c) => c.code);
    expect(codes).toEqual(expect.arrayContaining(['DEDUI', 'ESZAZ', 'FRLIL', 'ITBLQ', 'GBLHR']));
  });

  it('refuses to overbook at the database level (CHECK constraint), whatever the application does', async () => {
    const d = await env.db.selectFrom('departures').select(['id', 'capacity_teu']).executeTakeFirstOrThrow();
    await expect(
      env.db.updateTable('departures').set({ booked_teu: d.capacity_teu + 1 }).where('id', '=', d.id).execute(),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('keeps the audit log append-only', async () => {
    await env.db.insertInto('audit_log').values({ action: 'test', entity_type: 'test' }).execute();
    await expect(sql`update audit_log set action = 'changed'`.execute(env.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`.execute(env.db)).rejects.toThrow(/append-only/);
  });
});

describe('migration index', () => {
  it('lists every migration file in the folder, in sortable order', async () => {
    const { readdirSync } = await import('node:fs');
    const { migrations } = await import('../../migrations/index.ts');
    const files = readdirSync(new URL('../../migrations/', import.meta.url))
      .filter((f) => /^\d{8}T\d{4}_.+\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(Object.keys(migrations)).toEqual(files);
  });
});
