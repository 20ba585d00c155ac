/** Process configuration, read once from the environment. Documented in README.md. */
export interface Config {
  databaseUrl: string;
  redisUrl: string;
  /** Prefix of every Redis key (and BullMQ queue prefix); tests give each file its own. */
  redisPrefix: string;
  host: string;
  port: number;
  logLevel: string;
  /** Session lifetime in milliseconds. */
  sessionTtlMs: number;
  /** Hold lifetime in milliseconds (issue: 10 minutes by default). */
  holdTtlMs: number;
  /** `true` when running behind a TLS-terminating proxy: cookies get `Secure`, client IPs come from X-Forwarded-For. */
  trustProxy: boolean;
  /** Origins allowed for Socket.IO handshakes (besides same-origin). */
  allowedOrigins: string[];
  /** Sign-in attempts allowed per minute per address and e-mail. */
  signInPerMinute: number;
  /** API requests per minute per session, key or address. */
  apiPerMinute: number;
  /** Days of departures the timetable roll keeps ahead. */
  departureWindowDays: number;
  clientDir: string;
  /** Soft close: a bid this close to the end of an ascending auction… */
  softCloseWindowMs: number;
  /** …moves the close to now + this (capped at the departure's cut-off). */
  softCloseExtendMs: number;
  /** Registers /api/bench/* (the naive baseline paths the benchmark compares against). Never in production. */
  benchRoutes: boolean;
  /** Platform fee on every settled amount, in basis points (300 = 3 %); fee = floor(amount × bps / 10 000). */
  platformFeeBps: number;
  /** VAT rate printed on invoices, in basis points (0: reverse charge note). */
  vatRateBps: number;
  /**
   * TEST-ONLY fault injection: when > 0, `settleBooking` sleeps this long inside its transaction after posting
   * the charge, so a test can SIGKILL the worker half way through a settlement. Never set it in production.
   */
  settlePauseMs: number;
  /** How long a server remembers who a session or API key is (0: ask Postgres every request). */
  principalCacheMs: number;
  /** Live updates a second each socket may get while the server has room (coalesced: newest state wins)… */
  liveFramesPerSocket: number;
  /** …and when its event loop is busy (trading comes before watching). */
  liveBusyFramesPerSocket: number;
}

function int(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

/** A rate in basis points, 0..10 000. */
function bp(name: string, def: number): number {
  const n = int(name, def);
  if (n > 10_000) throw new Error(`${name} is in basis points (0..10000), got ${n}`);
  return n;
}

export function loadConfig(overrides: Partial<Config> = {}): Config {
  const env = process.env;
  const cfg: Config = {
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:54329/cluster_exchange',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:63799',
    redisPrefix: env.REDIS_PREFIX ?? 'cx:',
    host: env.HOST ?? '127.0.0.1',
    port: int('PORT', 3000),
    logLevel: env.LOG_LEVEL ?? 'info',
    sessionTtlMs: int('SESSION_TTL_HOURS', 12) * 3_600_000,
    holdTtlMs: int('HOLD_TTL_SECONDS', 600) * 1000,
    trustProxy: env.TRUST_PROXY === 'true' || env.TRUST_PROXY === '1',
    allowedOrigins: (env.ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    signInPerMinute: int('SIGNIN_PER_MINUTE', 10),
    apiPerMinute: int('API_PER_MINUTE', 6000),
    departureWindowDays: int('DEPARTURE_WINDOW_DAYS', 14),
    clientDir: env.CLIENT_DIR ?? new URL('../dist/client', import.meta.url).pathname,
    benchRoutes: env.BENCH_ROUTES === '1',
    softCloseWindowMs: int('SOFT_CLOSE_WINDOW_SECONDS', 120) * 1000,
    softCloseExtendMs: int('SOFT_CLOSE_EXTEND_SECONDS', 120) * 1000,
    platformFeeBps: bp('PLATFORM_FEE_BPS', 300),
    vatRateBps: bp('VAT_RATE_BPS', 0),
    settlePauseMs: int('SETTLE_PAUSE_MS', 0),
    principalCacheMs: int('PRINCIPAL_CACHE_MS', 10_000),
    liveFramesPerSocket: Math.max(1, int('LIVE_FRAMES_PER_SOCKET', 20)),
    liveBusyFramesPerSocket: Math.max(1, int('LIVE_BUSY_FRAMES_PER_SOCKET', 1)),
  };
  return { ...cfg, ...overrides };
}
