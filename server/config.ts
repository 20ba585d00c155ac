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
  /**
   * Most of a departure's TEU capacity one organisation may hold (active holds) at once, in percent 1..100
   * (at least 1 TEU). Enforced in the hold transaction (cx_place_holds_multi). 100: no cap.
   */
  holdMaxSharePct: number;
  /**
   * Behind a TLS-terminating proxy: which proxies to believe. A hop count (the client address is the one
   * that many hops from us in X-Forwarded-For) or a list of proxy addresses / CIDRs; never "the leftmost
   * X-Forwarded-For", which any client can write. `false`: the socket's address. Cookies get `Secure`
   * when the trusted proxy says https.
   */
  trustProxy: false | number | string[];
  /** Origins allowed for Socket.IO handshakes (besides same-origin). */
  allowedOrigins: string[];
  /** Sign-in attempts allowed per minute per address and account (normalised e-mail). */
  signInPerMinute: number;
  /** Sign-in attempts allowed per minute per address, whatever the account (one address spraying many). */
  signInPerAddressPerMinute: number;
  /** Sign-in attempts allowed per hour per account, whatever the address (slow, long window: OWASP). */
  signInPerAccountPerHour: number;
  /** API requests per minute per principal (user or API key), or per address when signed out. */
  apiPerMinute: number;
  /** Credential look-ups (a cookie or key this server has not cached) per minute per address. */
  authLookupsPerMinute: number;
  /** A request-path Redis command fails after this long (and at once while disconnected): Postgres decides. */
  redisCommandTimeoutMs: number;
  /** How often each worker re-asserts the repeating jobs (and catches up if Redis lost them). */
  scheduleReassertMs: number;
  /** Days of departures the timetable roll keeps ahead. */
  departureWindowDays: number;
  clientDir: string;
  /** Soft close: a bid this close to the end of an ascending auction… */
  softCloseWindowMs: number;
  /** …moves the close to now + this (capped at the departure's cut-off). */
  softCloseExtendMs: number;
  /** Platform fee on every settled amount, in basis points (300 = 3 %); fee = floor(amount × bps / 10 000). */
  platformFeeBps: number;
  /** VAT rate printed on invoices, in basis points (0: reverse charge note). */
  vatRateBps: number;
  /** How long a server remembers who a session or API key is (0: ask Postgres every request). */
  principalCacheMs: number;
  /** Live updates a second each socket may get while the server has room (coalesced: newest state wins)… */
  liveFramesPerSocket: number;
  /** …and when its event loop is busy (trading comes before watching). */
  liveBusyFramesPerSocket: number;
  /** How often each server re-validates the principals of its connected sockets (one batched query). */
  socketRecheckMs: number;
  /** Sockets one session or API key may hold open on one server process. */
  socketsPerPrincipal: number;
  /** Rooms one socket may join through `subscribe`. */
  socketSubscriptionsMax: number;
  /** Socket.IO handshakes allowed per client address per minute (0: no limit). */
  socketHandshakesPerMinute: number;
  /** A dashboard room (`stats:update`) gets at most one update per this many ms (changes in between are merged). */
  statsPushMs: number;
  /**
   * Keep the settled departure days' parts of dashboard answers in memory (per process, 200 answers; exact:
   * dropped whenever such a day changes, migration 20261203T1600). STATS_CACHE=0: every day read per request.
   */
  statsCache: boolean;
  /** Solver time of one optimisation of the pool, seconds (OPTIMISER_TIME_LIMIT_SEC, 1..300). */
  optimiserTimeLimitSec: number;
  /** CO2e price of the optimiser's objective, cents per tonne (CO2_PRICE_EUR_PER_TONNE × 100; default €80, EU ETS range). */
  co2PriceCentsPerTonne: number;
  /** Webhooks (issue 15): README "Webhooks". Where deliveries may go and how they are retried. */
  webhooks: WebhookConfig;
  /** How long an offer of freed capacity is reserved for its offeree (OFFER_WINDOW_SECONDS, default 120; OFFER_WINDOW_MS overrides, for tests). */
  offerWindowMs: number;
}

/** Webhook delivery settings (WEBHOOK_*). */
export interface WebhookConfig {
  /** http:// URLs accepted (default: only when NODE_ENV is development or test). */
  allowHttp: boolean;
  /** Loopback addresses (127/8, ::1, localhost) accepted (WEBHOOK_ALLOW_LOOPBACK; off by default). */
  allowLoopback: boolean;
  /** Private and CGNAT addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) accepted (WEBHOOK_ALLOW_PRIVATE; off). */
  allowPrivate: boolean;
  /** One attempt's time limit, connect to last byte (WEBHOOK_TIMEOUT_MS, default 5000). */
  timeoutMs: number;
  /** Attempts before a delivery is marked failed (WEBHOOK_MAX_ATTEMPTS, default 15: about a day with the defaults below). */
  maxAttempts: number;
  /** First retry delay (WEBHOOK_RETRY_BASE_MS, default 30 s); doubles per attempt… */
  retryBaseMs: number;
  /** …up to this (WEBHOOK_RETRY_MAX_MS, default 4 h); ±20 % jitter on each. */
  retryMaxMs: number;
  /** An endpoint is disabled after this many failed attempts in a row… (WEBHOOK_DISABLE_AFTER_FAILURES, default 50) */
  disableAfterFailures: number;
  /** …that span at least this long (WEBHOOK_DISABLE_AFTER_HOURS, default 72; WEBHOOK_DISABLE_AFTER_MS overrides, for tests). */
  disableAfterMs: number;
  /** How often each worker re-sends deliveries whose job was lost or whose worker died (WEBHOOK_SWEEP_MS, default 30 s). */
  sweepMs: number;
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

/**
 * TRUST_PROXY: unset / `false` / `0` → no proxy; a positive integer → that many proxy hops; `true` → one
 * hop (the proxy in front of us); otherwise a comma-separated list of proxy addresses or CIDRs.
 */
export function trustProxy(v: string | undefined): Config['trustProxy'] {
  const s = (v ?? '').trim();
  if (s === '' || s === 'false' || s === '0') return false;
  if (s === 'true') return 1;
  if (/^\d+$/.test(s)) return Number(s);
  const list = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of list) {
    if (!/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(x)) throw new Error(`TRUST_PROXY must be a hop count or proxy addresses / CIDRs, got ${x}`);
  }
  return list;
}

/** A percentage, 1..100. */
function pct(name: string, def: number): number {
  const n = int(name, def);
  if (n < 1 || n > 100) throw new Error(`${name} is a percentage (1..100), got ${n}`);
  return n;
}

/** A boolean flag: `1` / `true` on, `0` / `false` off, unset: `def`. */
function flag(name: string, def: boolean): boolean {
  const v = (process.env[name] ?? '').trim().toLowerCase();
  if (v === '') return def;
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new Error(`${name} must be 1 or 0, got ${v}`);
}

function webhookConfig(env: NodeJS.ProcessEnv): WebhookConfig {
  const devOrTest = env.NODE_ENV === 'development' || env.NODE_ENV === 'test';
  const disableMs = env.WEBHOOK_DISABLE_AFTER_MS !== undefined && env.WEBHOOK_DISABLE_AFTER_MS !== ''
    ? int('WEBHOOK_DISABLE_AFTER_MS', 0)
    : int('WEBHOOK_DISABLE_AFTER_HOURS', 72) * 3_600_000;
  return {
    allowHttp: flag('WEBHOOK_ALLOW_HTTP', devOrTest),
    allowLoopback: flag('WEBHOOK_ALLOW_LOOPBACK', false),
    allowPrivate: flag('WEBHOOK_ALLOW_PRIVATE', false),
    timeoutMs: Math.max(100, int('WEBHOOK_TIMEOUT_MS', 5000)),
    maxAttempts: Math.max(1, int('WEBHOOK_MAX_ATTEMPTS', 15)),
    retryBaseMs: int('WEBHOOK_RETRY_BASE_MS', 30_000),
    retryMaxMs: int('WEBHOOK_RETRY_MAX_MS', 4 * 3_600_000),
    disableAfterFailures: Math.max(1, int('WEBHOOK_DISABLE_AFTER_FAILURES', 50)),
    disableAfterMs: disableMs,
    sweepMs: Math.max(100, int('WEBHOOK_SWEEP_MS', 30_000)),
  };
}

export function loadConfig(overrides: Partial<Config> = {}): Config {
  const env = process.env;
  const cfg: Config = {
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:54329/cluster_exchange',
    // REDIS_CLUSTER_NODES=host:port,host:port… (or REDIS_URL=redis+cluster://host:port,…) names a Redis Cluster
    redisUrl: env.REDIS_CLUSTER_NODES ? `redis+cluster://${env.REDIS_CLUSTER_NODES}` : (env.REDIS_URL ?? 'redis://127.0.0.1:63799'),
    redisPrefix: env.REDIS_PREFIX ?? 'cx:',
    host: env.HOST ?? '127.0.0.1',
    port: int('PORT', 3000),
    logLevel: env.LOG_LEVEL ?? 'info',
    sessionTtlMs: int('SESSION_TTL_HOURS', 12) * 3_600_000,
    holdTtlMs: int('HOLD_TTL_SECONDS', 600) * 1000,
    holdMaxSharePct: pct('HOLD_MAX_SHARE_PCT', 50),
    trustProxy: trustProxy(env.TRUST_PROXY),
    allowedOrigins: (env.ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    signInPerMinute: int('SIGNIN_PER_MINUTE', 10),
    signInPerAddressPerMinute: int('SIGNIN_PER_ADDRESS_PER_MINUTE', 30),
    signInPerAccountPerHour: int('SIGNIN_PER_ACCOUNT_PER_HOUR', 60),
    apiPerMinute: int('API_PER_MINUTE', 6000),
    authLookupsPerMinute: int('AUTH_LOOKUPS_PER_MINUTE', 1200),
    redisCommandTimeoutMs: Math.max(50, int('REDIS_COMMAND_TIMEOUT_MS', 500)),
    scheduleReassertMs: Math.max(100, int('SCHEDULE_REASSERT_MS', 30_000)),
    departureWindowDays: int('DEPARTURE_WINDOW_DAYS', 14),
    clientDir: env.CLIENT_DIR ?? new URL('../dist/client', import.meta.url).pathname,
    softCloseWindowMs: int('SOFT_CLOSE_WINDOW_SECONDS', 120) * 1000,
    softCloseExtendMs: int('SOFT_CLOSE_EXTEND_SECONDS', 120) * 1000,
    platformFeeBps: bp('PLATFORM_FEE_BPS', 300),
    vatRateBps: bp('VAT_RATE_BPS', 0),
    principalCacheMs: int('PRINCIPAL_CACHE_MS', 10_000),
    liveFramesPerSocket: Math.max(1, int('LIVE_FRAMES_PER_SOCKET', 20)),
    liveBusyFramesPerSocket: Math.max(1, int('LIVE_BUSY_FRAMES_PER_SOCKET', 1)),
    socketRecheckMs: Math.max(100, int('SOCKET_RECHECK_MS', 30_000)),
    socketsPerPrincipal: Math.max(1, int('SOCKETS_PER_PRINCIPAL', 20)),
    socketSubscriptionsMax: Math.max(1, int('SOCKET_SUBSCRIPTIONS_MAX', 200)),
    socketHandshakesPerMinute: int('SOCKET_HANDSHAKES_PER_MINUTE', 60),
    statsPushMs: Math.max(100, int('STATS_PUSH_MS', 2000)),
    statsCache: env.STATS_CACHE !== '0',
    optimiserTimeLimitSec: Math.min(300, Math.max(1, int('OPTIMISER_TIME_LIMIT_SEC', 5))),
    co2PriceCentsPerTonne: int('CO2_PRICE_EUR_PER_TONNE', 80) * 100,
    webhooks: webhookConfig(env),
    offerWindowMs: Math.max(100, env.OFFER_WINDOW_MS ? int('OFFER_WINDOW_MS', 120_000) : int('OFFER_WINDOW_SECONDS', 120) * 1000),
  };
  const merged = { ...cfg, ...overrides };
  return { ...merged, redisPrefix: clusterSafePrefix(merged.redisUrl, merged.redisPrefix) };
}

/**
 * On a Redis Cluster every key used together in one script, transaction or BullMQ queue must hash to one slot: the
 * prefix of every key carries one hash tag (`{cx}:` for `cx:`). A prefix that already has one by Redis' rule (the
 * text between the first `{` and the first `}` after it, not empty) is kept; otherwise its braces are dropped and
 * what is left becomes the tag (an empty prefix: `{_}:`, never the default's). A single Redis keeps its prefix.
 */
export function clusterSafePrefix(redisUrl: string, prefix: string): string {
  if (!isClusterUrl(redisUrl) || hashTagOf(prefix) !== null) return prefix;
  const base = prefix.replace(/[{}]/g, '').replace(/:+$/, '');
  return `{${base || '_'}}:`;
}

/** The hash tag Redis Cluster hashes a key by, or null when it hashes the whole key. */
export function hashTagOf(key: string): string | null {
  const open = key.indexOf('{');
  if (open < 0) return null;
  const close = key.indexOf('}', open + 1);
  return close < 0 || close === open + 1 ? null : key.slice(open + 1, close);
}

/** A Redis Cluster URL with at least one node. */
export function isClusterUrl(url: string): boolean {
  return parseClusterUrl(url) !== null;
}

/** A Redis Cluster URL read: its nodes, credentials (as ioredis reads a single Redis URL's) and TLS. */
export interface ClusterUrl {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

/**
 * Reads `redis+cluster://[user:password@]host:port,host:port…` (`rediss+cluster://` with TLS; IPv6 as `[addr]:port`;
 * a missing port is 6379; path and query ignored). Null: not a cluster URL, or no node in it. A node with a port that
 * is not 1–65535, or an empty entry, is refused with a clear error (a configuration mistake, never a silent default).
 */
export function parseClusterUrl(url: string): ClusterUrl | null {
  const m = /^(rediss?)\+cluster:\/\/(.*)$/s.exec(url);
  if (!m) return null;
  const body = m[2]!;
  // the credentials end at the last '@' before the path (an unencoded '@' in a password stays in the password)
  const authorityEnd = body.search(/[/?#]/) < 0 ? body.length : body.search(/[/?#]/);
  const lastAt = body.lastIndexOf('@', Math.max(authorityEnd, body.lastIndexOf('@')));
  const userinfo = lastAt >= 0 ? body.slice(0, lastAt) : '';
  const rest = lastAt >= 0 ? body.slice(lastAt + 1) : body;
  const hosts = rest.split(/[/?#]/, 1)[0]!.trim();
  if (hosts === '') return null;
  const nodes = hosts.split(',').map((entry) => {
    const hp = entry.trim();
    const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(hp);
    const i = hp.lastIndexOf(':');
    const [host, port] = v6 ? [v6[1]!, v6[2]] : i >= 0 ? [hp.slice(0, i), hp.slice(i + 1)] : [hp, undefined];
    const n = port === undefined ? 6379 : /^\d{1,5}$/.test(port) ? Number(port) : NaN;
    if (!host || !(n >= 1 && n <= 65_535)) throw new Error(`Redis Cluster URL: "${hp}" is not host:port (port 1–65535)`);
    return { host, port: n };
  });
  const colon = userinfo.indexOf(':');
  const decode = (x: string) => {
    try {
      return decodeURIComponent(x);
    } catch {
      return x;
    }
  };
  const username = decode(colon >= 0 ? userinfo.slice(0, colon) : '');
  const password = colon >= 0 ? decode(userinfo.slice(colon + 1)) : '';
  return { nodes, ...(username ? { username } : {}), ...(password ? { password } : {}), tls: m[1] === 'rediss' };
}


