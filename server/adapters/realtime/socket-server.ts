import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Server, type DefaultEventsMap, type Socket as IoSocket } from 'socket.io';
import type { Db } from '../db/db.ts';
import { targetExists } from '../db/network-repo.ts';
import type { Redis } from '../redis/redis.ts';
import type { Config } from '../../config.ts';
import type { Role } from '../../domain/enums.ts';
import type { Principal } from '../../domain/principal.ts';
import type { RateLimiter } from '../redis/rate-limit.ts';
import { rooms } from './events.ts';
import { allowList, clientAddress, compileTrust, originAllowed } from './handshake.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How many subscribe targets a server remembers as found (see knownTargets in createSocketServer). */
const KNOWN_TARGETS_MAX = 100_000;

function parseCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

type Target = { corridorId: string } | { departureId: string } | { listingId: string } | { dashboard: 'network' | 'operator' };

/** Validates a subscribe payload: exactly one of corridorId / departureId / listingId (a UUID) or dashboard (network | operator). */
export function parseTarget(payload: unknown): Target | null {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return null;
  const keys = Object.keys(payload);
  if (keys.length !== 1) return null;
  const k = keys[0]!;
  const v = (payload as Record<string, unknown>)[k];
  if (k === 'dashboard') return v === 'network' || v === 'operator' ? { dashboard: v } : null;
  if (typeof v !== 'string' || !UUID.test(v)) return null;
  if (k === 'corridorId' || k === 'departureId' || k === 'listingId') return { [k]: v } as Target;
  return null;
}

/** What each live connection carries (`socket.data`). */
export interface SocketData {
  principal: Principal;
  /** The handshake's credential, in memory only: every command resolves it again (through the same cache as REST). */
  credential: { apiKey: string } | { cookie: string | undefined };
  /** When its session ends (ms since the epoch), if a timer is armed for it. */
  expiresAt?: number;
  expiryTimer?: NodeJS.Timeout;
}
export type LiveServer = Server<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SocketData>;
type Socket = IoSocket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SocketData>;

/**
 * What the socket server needs to know about callers (implemented by AuthService): who a key or cookie
 * belongs to, which of a set of principals are still valid, and a cache to forget stale principals in.
 */
export interface SocketAuth {
  fromApiKey(key: string | undefined): Promise<Principal | null>;
  fromSession(cookieValue: string | undefined): Promise<Principal | null>;
  /** The still-valid principals among live rooms (`session:<id>`, `apikey:<id>`), with their role and organisation now. */
  revalidate(liveRooms: string[]): Promise<Map<string, { role: Role; orgId: string; expiresAt: number | null }>>;
  principals: { evict(room: string): void };
}

export interface SocketServerOptions {
  httpServer: HttpServer;
  redis: Redis;
  prefix: string;
  auth: SocketAuth;
  db: Db;
  allowedOrigins: string[];
  cookieName: string;
  /** Events one socket may send per 10 seconds before it is disconnected (commands are limited by their own rules). */
  floodLimit?: number;
  /**
   * Commands a client may send with an acknowledgement (order entry on the live connection, issue 16): each gets the
   * socket's principal and the payload and answers what the REST call would (`{ status, body }`). Built outside
   * (server/http/socket-commands.ts): this adapter knows no service.
   */
  commands?: Record<string, SocketCommand>;
  /** Which proxies' X-Forwarded-* headers count (client address, same-origin protocol and host). */
  trustProxy?: Config['trustProxy'];
  /** Counts handshakes per client address (Redis, hashed keys; in-process while Redis is away). */
  limiter?: RateLimiter;
  /** Handshakes per address per minute (0: no limit). */
  handshakesPerMinute?: number;
  /** Sockets one session or API key may hold on this server. */
  socketsPerPrincipal?: number;
  /** Rooms one socket may join through `subscribe`. */
  subscriptionsMax?: number;
  /** How often the principals of this server's sockets are re-validated (one query for all of them). */
  recheckMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

/** A command's answer, as the REST call's: its status and body (`{ error: { code, message } }` when refused). */
export interface CommandAnswer {
  status: number;
  body: unknown;
}
export type SocketCommand = (p: Principal, payload: unknown) => Promise<CommandAnswer>;

/** A refused handshake: the client's `connect_error` carries `message` and `data: { code, message }`. */
function refusal(code: string, message: string): Error {
  return Object.assign(new Error(code), { data: { code, message } });
}

/** The live room naming who a socket is: `session:<id>` or `apikey:<id>`. */
const principalRoom = (p: Principal) => (p.sessionId ? rooms.session(p.sessionId) : rooms.apiKey(p.apiKeyId ?? ''));

/**
 * The dashboard room `p` may watch: the network's for schedulers and the platform, its own organisation's
 * for an operator; null for anyone else (forwarders).
 */
function dashboardRoom(p: Principal, dashboard: 'network' | 'operator'): string | null {
  if (dashboard === 'network') return p.orgKind === 'scheduler' || p.orgKind === 'platform' ? rooms.networkDashboard() : null;
  return p.orgKind === 'operator' ? rooms.operatorDashboard(p.orgId) : null;
}

/** Longest delay setTimeout honours; a later session expiry is left to the periodic re-check. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Socket.IO on the API's port. Handshakes are authenticated by the same session cookie or API key as the
 * REST API and refused otherwise; Origin must match the request's own origin (scheme, host and port) or an
 * allow-list entry exactly. Handshakes are rate-limited per address, sockets capped per principal and
 * subscriptions per socket. Every `recheckMs` this server re-validates the principals of all its sockets in
 * one query and cuts those that ended (session expired or revoked, user disabled, membership removed, key
 * revoked, role or organisation changed); a session's sockets are also cut at its known expiry.
 * Rooms: corridor / departure / listing and dashboard (joined on request; see DashboardFeed), org and session
 * (joined automatically).
 */
export function createSocketServer(o: SocketServerOptions): LiveServer {
  const trust = compileTrust(o.trustProxy ?? false);
  const allowed = allowList(o.allowedOrigins);
  const perPrincipal = o.socketsPerPrincipal ?? 20;
  const maxSubscriptions = o.subscriptionsMax ?? 200;
  const handshakesPerMinute = o.handshakesPerMinute ?? 0;
  /** This server's sockets by principal room: the per-principal cap and the re-check read it. */
  const byPrincipal = new Map<string, Set<Socket>>();

  const io = new Server<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SocketData>(o.httpServer, {
    adapter: createAdapter(o.redis, { streamName: `${o.prefix}{live}:socket.io`, maxLen: 100_000 }),
    serveClient: false,
    maxHttpBufferSize: 16 * 1024,
    allowRequest: (req, cb) => (originAllowed(req, allowed, trust) ? cb(null, true) : cb('origin not allowed', false)),
  });

  /** Ends a socket with a reason it can read (`auth:ended`), then disconnects it. */
  const end = (socket: Socket, reason: 'expired' | 'revoked' | 'changed') => {
    if (!socket.connected) return;
    socket.emit('auth:ended', {
      reason,
      message: reason === 'expired' ? 'session expired; sign in again' : reason === 'changed' ? 'role or organisation changed; reconnect' : 'credentials no longer valid',
    });
    socket.disconnect(true);
  };

  const expiryTimer = (socket: Socket, at: number | undefined) => {
    clearTimeout(socket.data.expiryTimer);
    if (at === undefined) return;
    const delay = Math.max(0, at - Date.now());
    if (delay > MAX_TIMER_MS) return;
    socket.data.expiresAt = at;
    socket.data.expiryTimer = setTimeout(() => end(socket, 'expired'), delay);
    socket.data.expiryTimer.unref();
  };

  const resolve = (c: SocketData['credential']): Promise<Principal | null> => ('apiKey' in c ? o.auth.fromApiKey(c.apiKey) : o.auth.fromSession(c.cookie));
  const authenticate = async (socket: Socket, next: (err?: Error) => void) => {
    try {
      if (handshakesPerMinute > 0 && o.limiter) {
        const address = clientAddress(socket.request, trust);
        const v = await o.limiter.hit([{ name: 'socket-handshake', identity: address, max: handshakesPerMinute, windowMs: 60_000, whenRedisDown: 'local' }]);
        if (!v.ok && v.reason === 'limited') return next(refusal('rate_limited', 'too many connection attempts from this address; retry in a minute'));
      }
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      const credential = typeof token === 'string' ? { apiKey: token } : { cookie: parseCookie(socket.handshake.headers.cookie, o.cookieName) };
      const p = await resolve(credential);
      if (!p) return next(new Error('unauthorized'));
      if ((byPrincipal.get(principalRoom(p))?.size ?? 0) >= perPrincipal) {
        return next(refusal('too_many_connections', `at most ${perPrincipal} live connections per session or API key`));
      }
      socket.data.principal = p;
      socket.data.credential = credential;
      next();
    } catch {
      next(new Error('unauthorized'));
    }
  };
  io.use((socket, next) => void authenticate(socket, next));

  /**
   * Corridors, departures and listings a subscribe found, per server: rows that exist are never deleted (a cancellation
   * is a status), so a yes is kept and only a first subscribe asks Postgres — a board's 28 corridor joins each asked,
   * and under load their acknowledgements took 5 s. Bounded: forgotten at once when full. A no is never kept.
   */
  const knownTargets = new Set<string>();
  const exists = async (table: 'corridors' | 'departures' | 'listings', id: string) => {
    const key = `${table}:${id.toLowerCase()}`;
    if (knownTargets.has(key)) return true;
    if (!(await targetExists(o.db, table, id))) return false;
    if (knownTargets.size >= KNOWN_TARGETS_MAX) knownTargets.clear();
    knownTargets.add(key);
    return true;
  };

  // Re-validation of every principal with a socket here: one query per round, never one per socket. A failed
  // query (Postgres away) keeps the sockets and tries again next round; revocations through the API still
  // cut at once (app.ts), and a session still ends at its expiry timer.
  let rechecking = false;
  const recheck = async () => {
    if (rechecking || byPrincipal.size === 0) return;
    rechecking = true;
    try {
      const live = [...byPrincipal.keys()];
      const valid = await o.auth.revalidate(live);
      for (const room of live) {
        const v = valid.get(room);
        for (const socket of byPrincipal.get(room) ?? []) {
          const p = socket.data.principal;
          if (!v) end(socket, 'revoked');
          else if (v.role !== p.role || v.orgId !== p.orgId) {
            o.auth.principals.evict(room); // the cached principal is stale too: a reconnect reads the new role
            end(socket, 'changed');
          } else if (v.expiresAt !== null && v.expiresAt !== socket.data.expiresAt) expiryTimer(socket, v.expiresAt);
        }
      }
    } catch (err) {
      o.log?.warn({ err: (err as Error).message }, 'socket principal re-check failed; retrying next round');
    } finally {
      rechecking = false;
    }
  };
  const recheckTimer = setInterval(() => void recheck(), Math.max(50, o.recheckMs ?? 30_000));
  recheckTimer.unref();
  o.httpServer.once('close', () => clearInterval(recheckTimer));

  io.on('connection', (socket: Socket) => {
    const p = socket.data.principal;
    const who = principalRoom(p);
    // the cap again, synchronously: two handshakes of one principal may have passed the middleware together
    const mine = byPrincipal.get(who) ?? new Set<Socket>();
    if (mine.size >= perPrincipal) {
      socket.emit('error:limit', { code: 'too_many_connections', message: `at most ${perPrincipal} live connections per session or API key` });
      socket.disconnect(true);
      return;
    }
    mine.add(socket);
    byPrincipal.set(who, mine);
    expiryTimer(socket, p.sessionExpiresAt);

    void socket.join(rooms.org(p.orgId));
    if (p.sessionId) void socket.join(rooms.session(p.sessionId));
    if (p.apiKeyId) void socket.join(rooms.apiKey(p.apiKeyId));

    const limit = o.floodLimit ?? 200;
    let count = 0;
    const reset = setInterval(() => (count = 0), 10_000);
    reset.unref();
    socket.on('disconnect', () => {
      clearInterval(reset);
      clearTimeout(socket.data.expiryTimer);
      mine.delete(socket);
      if (mine.size === 0 && byPrincipal.get(who) === mine) byPrincipal.delete(who);
    });
    const commands = o.commands ?? {};
    socket.use((packet, next) => {
      // a command (with its acknowledgement) is counted by its own limits — the API's, per principal — not the
      // flood guard's; a command without one is nobody's order and counts like any event
      if (typeof packet[0] === 'string' && Object.hasOwn(commands, packet[0]) && typeof packet.at(-1) === 'function') return next();
      if (++count > limit) {
        socket.emit('error:flood', { message: 'too many events; disconnected' });
        socket.disconnect(true);
        return;
      }
      next();
    });

    /** Rooms this socket joined through `subscribe` (capped at `maxSubscriptions`). */
    const subscribed = new Set<string>();
    const handle = (join: boolean) => async (payload: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (r: unknown) => void) : () => {};
      const t = parseTarget(payload);
      // every refusal: `{ ok: false, error: <snake_case code>, message }` (API.md: `{ ok: false, error }`)
      if (!t) return reply({ ok: false, error: 'invalid_room', message: 'expected { corridorId } or { departureId } or { listingId } with a UUID, or { dashboard: "network" | "operator" }' });
      try {
        let room: string | null = null;
        if ('dashboard' in t) {
          room = dashboardRoom(p, t.dashboard);
          if (!room) return reply({ ok: false, error: 'forbidden', message: `the ${t.dashboard} dashboard is not open to ${p.orgKind} organisations` });
        } else if ('corridorId' in t) {
          if (await exists('corridors', t.corridorId)) room = rooms.corridor(t.corridorId);
        } else if ('departureId' in t) {
          if (await exists('departures', t.departureId)) room = rooms.departure(t.departureId);
        } else if (await exists('listings', t.listingId)) room = rooms.listing(t.listingId);
        if (!room) return reply({ ok: false, error: 'not_found', message: 'no such corridor, departure or listing' });
        if (join) {
          // checked and counted in one synchronous step, so concurrent subscribes cannot pass the cap together
          if (!subscribed.has(room) && subscribed.size >= maxSubscriptions) {
            return reply({ ok: false, error: 'too_many_subscriptions', message: `at most ${maxSubscriptions} subscriptions per connection; unsubscribe first` });
          }
          subscribed.add(room);
          await socket.join(room);
        } else {
          subscribed.delete(room);
          await socket.leave(room);
        }
        reply({ ok: true });
      } catch {
        reply({ ok: false, error: 'unavailable', message: 'briefly unavailable; try again in a few seconds' });
      }
    };
    socket.on('subscribe', handle(true));
    socket.on('unsubscribe', handle(false));
    for (const [name, run] of Object.entries(commands)) {
      socket.on(name, (...args: unknown[]) => {
        // the acknowledgement is the last argument; the payload the first (none: undefined)
        const ack = args.at(-1);
        if (typeof ack !== 'function') return; // a command without an acknowledgement is ignored: nobody would hear its answer
        const reply = ack as (a: CommandAnswer) => void;
        const payload = args.length > 1 ? args[0] : undefined;
        void (async () => {
          // the credential resolved again, as every REST request does (same cache): a user disabled, a session or
          // key revoked, a role changed is refused at once, not at the next periodic re-check
          let now: Principal | null;
          try {
            now = await resolve(socket.data.credential);
          } catch {
            return reply({ status: 503, body: { error: { code: 'unavailable', message: 'briefly unavailable; try again in a few seconds' } } });
          }
          const was = socket.data.principal;
          if (!now || now.role !== was.role || now.orgId !== was.orgId) {
            reply({ status: 401, body: { error: { code: 'unauthorized', message: 'credentials no longer valid; sign in again' } } });
            end(socket, now ? 'changed' : 'revoked');
            return;
          }
          reply(await run(now, payload));
        })().catch((err: unknown) => {
          o.log?.warn({ err: (err as Error).message, command: name }, 'socket command failed');
          reply({ status: 500, body: { error: { code: 'internal', message: 'something went wrong on our side' } } });
        });
      });
    }
  });

  return io;
}
