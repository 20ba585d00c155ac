// Types of procs.mjs (plain Node so that scripts/ run before `npm install`).
import type { ChildProcess, StdioOptions } from 'node:child_process';

export const ROOT: string;
export const TSX: string;
export function sleep(ms: number): Promise<void>;
export function alive(pid: number): boolean;
export function signalGroup(pid: number, sig: NodeJS.Signals): boolean;
export function stopGroup(pid: number, graceMs?: number): Promise<void>;
export function portFree(port: number): Promise<boolean>;
export function freePort(start?: number): Promise<number>;
/** Polls `fn` until it returns a truthy value (bounded); throws otherwise. No timing assertions. */
export function waitUntil<T>(fn: () => Promise<T | undefined | null | false>, what: string, tries?: number, everyMs?: number): Promise<T>;

export interface ManagedOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group, signalled as a whole (default true). */
  group?: boolean;
  /** 'capture' (default): stdout and stderr kept in `out`; anything else goes to spawn as is. */
  stdio?: 'capture' | StdioOptions;
}

export class Managed {
  constructor(name: string, cmd: string, args: string[], opts?: ManagedOptions);
  readonly name: string;
  child: ChildProcess | null;
  out: string;
  exited: Promise<void>;
  starts: number;
  start(): this;
  readonly pid: number | undefined;
  readonly alive: boolean;
  signal(sig: NodeJS.Signals): void;
  kill(waitMs?: number): Promise<void>;
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>;
}

export function killOnExit(procs: readonly (Managed | ChildProcess)[]): () => void;

export function redisPing(port: number, host?: string): Promise<boolean>;
export function redisSend(port: number, cmd: string, host?: string): Promise<void>;

export interface RedisOptions {
  port: number;
  dir?: string;
  appendfsync?: 'always' | 'everysec';
  /** More redis-server arguments, before the ones above (e.g. cluster mode). */
  extraArgs?: string[];
  daemonize?: { pidfile: string; logfile: string };
}
export function redisServerArgs(opts: RedisOptions): string[];

export class RedisServer {
  constructor(opts: RedisOptions & { bin?: string; group?: boolean });
  readonly port: number;
  readonly url: string;
  readonly proc: Managed;
  readonly alive: boolean;
  start(): Promise<this>;
  signal(sig: NodeJS.Signals): void;
  kill(): Promise<void>;
  stop(graceMs?: number): Promise<void>;
  shutdown(): Promise<void>;
}
export function startRedisServer(opts?: Partial<RedisOptions> & { bin?: string; group?: boolean }): Promise<RedisServer>;
