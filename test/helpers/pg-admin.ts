import { sql } from 'kysely';
import { createDb } from '../../server/adapters/db/db.ts';

// Two roles (see scripts/stack.mjs): the owner, MIGRATION_DATABASE_URL, creates, migrates, seeds and drops
// the test databases; the app role, DATABASE_URL, is what apps and processes under test connect as.
// With a single external DATABASE_URL both are the same.
const ownerBase = () => new URL(process.env.MIGRATION_DATABASE_URL || process.env.DATABASE_URL!);
const appBase = () => new URL(process.env.DATABASE_URL!);
const baseName = () => appBase().pathname.slice(1) || 'cluster_exchange';

export const TEST_DB_PREFIX = `${baseName()}_t_`;
/** Template databases of one test run (runs on one machine never share them). */
export const templateName = (runId: string, kind: 'empty' | 'demo') => `${baseName()}_tpl_${runId}_${kind}`;

/** Database `name` as the owner (migration) role. */
export function dbUrl(name: string): string {
  const u = ownerBase();
  u.pathname = `/${name}`;
  return u.toString();
}

/** Database `name` as the application role. */
export function appDbUrl(name: string): string {
  const u = appBase();
  u.pathname = `/${name}`;
  return u.toString();
}

export const adminUrl = () => dbUrl('postgres');
const ident = (name: string) => sql.raw(`"${name.replace(/"/g, '""')}"`);

export async function dropDatabase(name: string): Promise<void> {
  const admin = createDb(adminUrl(), { max: 1 });
  try {
    await sql`drop database if exists ${ident(name)} with (force)`.execute(admin);
  } finally {
    await admin.destroy();
  }
}

/** (Re)creates `name`, optionally as a copy of `template`. */
export async function recreateDatabase(name: string, template?: string): Promise<void> {
  const admin = createDb(adminUrl(), { max: 1 });
  try {
    await sql`drop database if exists ${ident(name)} with (force)`.execute(admin);
    if (template) await sql`create database ${ident(name)} template ${ident(template)}`.execute(admin);
    else await sql`create database ${ident(name)}`.execute(admin);
  } finally {
    await admin.destroy();
  }
}
