// The server and the worker as plain JavaScript: one ESM file each under .build/ (our code bundled, packages left
// as imports from node_modules), so that a process starts without TypeScript loader hooks. Started through tsx, a
// server spends ≈ 5 s of CPU before it answers (compiling and resolving ≈ 400 modules through the loader's thread);
// the bundle ≈ 1.5 s. The test harness starts ~40 server and worker processes, on two cores.
//
// The files the code reads beside itself resolve unchanged from .build/ (a direct child of the root, as server/
// and workers/ are): `../dist/client` (config.ts), `./lua/*.lua` (copied next to the bundles) and
// `./solve-worker.mjs` (the solver thread's entry, bundled there too, without the tsx loader it needs in source).
// Every file is written under a temporary name and renamed, so a process that starts meanwhile never reads half a
// file, and two runs in one checkout write the same content.
import fs from 'node:fs';
import path from 'node:path';
import { Managed, ROOT } from './procs.mjs';

export const BUILD_DIR = path.join(ROOT, '.build');
export const BUNDLES = { server: path.join(BUILD_DIR, 'server.mjs'), worker: path.join(BUILD_DIR, 'worker.mjs') };

const ENTRIES = {
  server: 'server/server.ts',
  worker: 'workers/worker.ts',
  'solve-worker': 'server/adapters/solver/solve-worker.ts',
};
const LUA_DIR = path.join(ROOT, 'server/adapters/redis/lua');

/** Bundles the process entries into .build/ (≈ 1 s). Returns the bundles' paths. */
export async function bundleProcesses() {
  const { build } = await import('esbuild');
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = path.join(BUILD_DIR, `.tmp-${tag}`);
  fs.mkdirSync(path.join(tmp, 'lua'), { recursive: true });
  try {
    await build({
      absWorkingDir: ROOT,
      entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([out, src]) => [out, path.join(ROOT, src)])),
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: false, // each entry whole: the solver thread's file must not import a chunk the others also load
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      logLevel: 'warning',
    });
    for (const f of fs.readdirSync(LUA_DIR)) fs.copyFileSync(path.join(LUA_DIR, f), path.join(tmp, 'lua', f));
    fs.mkdirSync(path.join(BUILD_DIR, 'lua'), { recursive: true });
    for (const f of fs.readdirSync(path.join(tmp, 'lua'))) fs.renameSync(path.join(tmp, 'lua', f), path.join(BUILD_DIR, 'lua', f));
    for (const out of Object.keys(ENTRIES)) {
      fs.renameSync(path.join(tmp, `${out}.mjs.map`), path.join(BUILD_DIR, `${out}.mjs.map`));
      fs.renameSync(path.join(tmp, `${out}.mjs`), path.join(BUILD_DIR, `${out}.mjs`));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return BUNDLES;
}

/** A process of a bundle (`server` or `worker`) run with plain Node, source maps on for stack traces. */
export function bundledProcess(name, which, opts = {}) {
  return new Managed(name, process.execPath, ['--enable-source-maps', BUNDLES[which]], opts);
}
