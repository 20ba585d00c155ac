// Types of bundle.mjs.
import type { Managed, ManagedOptions } from './procs.mjs';
export const BUILD_DIR: string;
export const BUNDLES: { server: string; worker: string };
export function bundleProcesses(): Promise<{ server: string; worker: string }>;
export function bundledProcess(name: string, which: 'server' | 'worker', opts?: ManagedOptions): Managed;
