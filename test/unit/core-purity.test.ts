import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const coreDir = fileURLToPath(new URL('../../server/core/', import.meta.url));
const FORBIDDEN = /^(fastify|@fastify\/.*|ioredis|bullmq|kysely|pg|socket\.io.*|node:(fs|net|http|https|child_process)(\/.*)?|fs|net|http|https)$/;

describe('pure core', () => {
  // every .ts file under server/core, sub-folders included (e.g. routing/search.ts)
  const files = (readdirSync(coreDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).sort();

  it('has modules to check', () => {
    expect(files).toEqual(expect.arrayContaining(['capacity.ts', 'co2.ts', 'fees.ts', 'pricing.ts', 'timetable.ts', 'routing/search.ts']));
  });

  it.each(files)('%s imports no I/O modules and only relative .ts files', (file) => {
    const src = readFileSync(coreDir + file, 'utf8');
    const specs = [...src.matchAll(/(?:import|export)[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
      (m) => m[1] ?? m[2]!,
    );
    for (const spec of specs) {
      expect(FORBIDDEN.test(spec), `${file} imports ${spec}`).toBe(false);
      if (spec.startsWith('.')) expect(spec, `${file} imports ${spec}`).toMatch(/\.ts$/);
    }
  });
});
