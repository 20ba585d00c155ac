import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Server, type Socket } from 'socket.io';
import type { Db } from '../db/db.ts';
import type { Redis } from '../redis/redis.ts';
import type { AuthService } from '../../services/auth.ts';
import type { Principal } from '../../services/principal.ts';
import { rooms } from './events.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

type Target = { corridorId: string } | { departureId: string } | { listingId: string };

/** Validates a subscribe payload: exactly one of corridorId / departureId / listingId, a UUID. */
export function parseTarget(payload: unknown): Target | null {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return null;
  const keys = Object.keys(payload);
  if (keys.length !== 1) return null;
  const k = keys[0]!;
  const v = (payload as Record<string, unknown>)[k];
  if (typeof v !== 'string' || !UUID.test(v)) return null;
  if (k === 'corridorId' || k === 'departureId' || k === 'listingId') return { [k]: v } as Target;
  return null;
}

export interface SocketServerOptions {
  httpServer: HttpServer;
  redis: Redis;
  prefix: string;
  auth: AuthService;
  db: Db;
  allowedOrigins: string[];
  cookieName: string;
  /** Events one socket may send per 10 seconds before it is disconnected. */
  floodLimit?: number;
}

/**
 * Socket.IO on the API's port. Handshakes are authenticated by the same session cookie or API key as the
 * REST API and refused otherwise; Origin is checked against the request's own host and an allow list.
 * Rooms: corridor / departure / listing (joined on request), org and session (joined automatically).
 */
export function createSocketServer(o: SocketServerOptions): Server {
  const io = new Server(o.httpServer, {
    adapter: createAdapter(o.redis, { streamName: `${o.prefix}{live}:socket.io`, maxLen: 100_000 }),
    serveClient: false,
    maxHttpBufferSize: 16 * 1024,
    allowRequest: (req, cb) => {
      const origin = req.headers.origin;
      if (!origin) return cb(null, true); // non-browser clients (no Origin) authenticate with a key or cookie
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        return cb('bad origin', false);
      }
      cb(null, host === req.headers.host || o.allowedOrigins.includes(origin));
    },
  });

  io.use(async (socket, next) => {
    try {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      let p: Principal | null = null;
      if (typeof token === 'string') p = await o.auth.fromApiKey(token);
      else p = await o.auth.fromSession(parseCookie(socket.handshake.headers.cookie, o.cookieName));
      if (!p) return next(new Error('unauthorized'));
      socket.data.principal = p;
      next();
    } catch {
      next(new Error('unauthorized'));
    }
  });

  io.on('connection', (socket: Socket) => {
    const p = socket.data.principal as Principal;
    void socket.join(rooms.org(p.orgId));
    if (p.sessionId) void socket.join(rooms.session(p.sessionId));
    if (p.apiKeyId) void socket.join(rooms.apiKey(p.apiKeyId));

    const limit = o.floodLimit ?? 200;
    let count = 0;
    const reset = setInterval(() => (count = 0), 10_000);
    reset.unref();
    socket.on('disconnect', () => clearInterval(reset));
    socket.use((_packet, next) => {
      if (++count > limit) {
        socket.emit('error:flood', { message: 'too many events; disconnected' });
        socket.disconnect(true);
        return;
      }
      next();
    });

    const handle = (join: boolean) => async (payload: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (r: unknown) => void) : () => {};
      const t = parseTarget(payload);
      if (!t) return reply({ ok: false, error: 'expected { corridorId } or { departureId } or { listingId } with a UUID' });
      try {
        let room: string | null = null;
        if ('corridorId' in t) {
          const c = await o.db.selectFrom('corridors').select('id').where('id', '=', t.corridorId).executeTakeFirst();
          if (c) room = rooms.corridor(c.id);
        } else if ('departureId' in t) {
          const d = await o.db.selectFrom('departures').select('id').where('id', '=', t.departureId).executeTakeFirst();
          if (d) room = rooms.departure(d.id);
        } else {
          const l = await o.db.selectFrom('listings').select('id').where('id', '=', t.listingId).executeTakeFirst();
          if (l) room = rooms.listing(l.id);
        }
        if (!room) return reply({ ok: false, error: 'not_found' });
        if (join) await socket.join(room);
        else await socket.leave(room);
        reply({ ok: true });
      } catch {
        reply({ ok: false, error: 'unavailable' });
      }
    };
    socket.on('subscribe', handle(true));
    socket.on('unsubscribe', handle(false));
  });

  return io;
}
