import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Dependencies point one way: core ← domain ← adapters ← services ← http / workers / cli. A module may
 * import its own layer and the layers below it, never one above. `config.ts` and `server/data` sit with
 * the domain (plain values); `context.ts` is the composition root that http, workers and cli share.
 */
const LAYERS: [prefix: string, level: number][] = [
  ['server/core/', 0],
  ['server/data/', 0],
  ['server/domain/', 1],
  ['server/config.ts', 1],
  ['server/adapters/', 2],
  ['server/services/', 3],
  ['server/seed/', 3],
  ['server/context.ts', 4],
  ['server/http/', 5],
  ['server/cli/', 5],
  ['server/server.ts', 5],
  ['workers/', 5],
];
const NAMES = ['core', 'domain', 'adapters', 'services', 'composition root', 'http / workers / cli'];

function levelOf(rel: string): number | undefined {
  return LAYERS.find(([p]) => rel === p || rel.startsWith(p))?.[1];
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a source file, resolved to repository paths. */
export function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const specs = [...src.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => path.relative(ROOT, path.resolve(path.dirname(file), s)).split(path.sep).join('/'));
}

describe('layers', () => {
  const files = [...walk(path.join(ROOT, 'server')), ...walk(path.join(ROOT, 'workers'))];

  it('every server and worker module belongs to a layer', () => {
    const orphans = files.map((f) => path.relative(ROOT, f).split(path.sep).join('/')).filter((rel) => levelOf(rel) === undefined);
    expect(orphans).toEqual([]);
  });

  it('no module imports from a layer above its own', () => {
    const upward: string[] = [];
    for (const f of files) {
      const rel = path.relative(ROOT, f).split(path.sep).join('/');
      const mine = levelOf(rel)!;
      for (const dep of importsOf(f)) {
        const theirs = levelOf(dep);
        if (theirs !== undefined && theirs > mine) upward.push(`${rel} (${NAMES[mine]}) imports ${dep} (${NAMES[theirs]})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('no SQL outside the repositories (server/adapters/db) and the migrations', () => {
    const SQL = /sql`|\.(selectFrom|updateTable|insertInto|deleteFrom|selectNoFrom)\(|from 'kysely'/;
    const offenders = files
      .map((f) => path.relative(ROOT, f).split(path.sep).join('/'))
      .filter((rel) => !rel.startsWith('server/adapters/db/'))
      .filter((rel) => SQL.test(readFileSync(path.join(ROOT, rel), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('detects an upward import (the check itself works)', () => {
    expect(levelOf('server/adapters/db/audit.ts')! < levelOf('server/services/auth.ts')!).toBe(true);
  });
});
