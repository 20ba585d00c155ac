import fs from 'node:fs';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Server } from 'socket.io';
import { RateLimiter } from '../adapters/redis/rate-limit.ts';
import { createRedis } from '../adapters/redis/redis.ts';
import { CoalescingSink } from '../adapters/realtime/emitter.ts';
import { StreamEventSink, type LiveEvent } from '../adapters/realtime/events.ts';
import { defaultFanoutOptions, LocalFanout } from '../adapters/realtime/fanout.ts';
import { socketRooms } from '../adapters/realtime/local-rooms.ts';
import { StreamRelay } from '../adapters/realtime/relay.ts';
import { createSocketServer } from '../adapters/realtime/socket-server.ts';
import { socketCommands } from './socket-commands.ts';
import { DashboardFeed, dashboardRooms } from '../adapters/realtime/dashboard-feed.ts';
import { departureKeys } from '../adapters/db/dashboard-repo.ts';
import { createContext, type Context, type ServiceHooks } from '../context.ts';
import type { Config } from '../config.ts';
import { registerAuth, SESSION_COOKIE } from './plugins/auth.ts';
import { API_VERSION, sharedSchemas, swaggerOptions } from './openapi/document.ts';
import { lookupLimit, registerLimits } from './plugins/limits.ts';
import { apiRoute } from './plugins/routes.ts';
import { registerSecurityHeaders } from './plugins/security-headers.ts';
import { body as errorBody, registerErrorHandling, rejectNonFiniteNumbers } from './plugins/errors.ts';
import { absentBodyIsEmpty, bodyValidation, normaliseIdParams } from './plugins/validation.ts';
import { healthRoutes } from './routes/health.ts';
import { networkRoutes } from './routes/network.ts';
import { sessionRoutes } from './routes/session.ts';
import { tradeRoutes } from './routes/trade.ts';
import { financeRoutes } from './routes/finance.ts';
import { auctionRoutes } from './routes/auctions.ts';
import { statsRoutes } from './routes/stats.ts';
import { itineraryRoutes } from './routes/itineraries.ts';
import { routeSearchRoutes } from './routes/routes.ts';
import { shipmentRoutes } from './routes/shipments.ts';
import { optimisationRoutes } from './routes/optimisations.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { waterLevelRoutes } from './routes/water-levels.ts';
import { watchRoutes } from './routes/watches.ts';
import { teamRoutes } from './routes/team.ts';

const trustHops = (hops: number) => (_addr: string, i: number) => i < hops;

export interface App {
  app: FastifyInstance;
  ctx: Context;
  io: Server;
}

export interface BuildOptions {
  logger?: boolean | object;
  /**
   * Registers more routes after the application's own (with its auth, limits and error handling), e.g. the
   * benchmark's baseline paths (tools/bench/server.ts). Never used by server/server.ts.
   */
  extend?: (app: FastifyInstance, ctx: Context) => Promise<void>;
}

/**
 * Builds the whole HTTP + Socket.IO application (not listening). Plugins are registered in the order
 * external → application → routes (→ `extend`); process concerns (signals, listen) live in server.ts.
 */
export async function build(cfg: Config, opts: BuildOptions = {}): Promise<App> {
  const app = Fastify({
    logger: opts.logger ?? { level: cfg.logLevel },
    // A hop count trusts that many proxies nearest to us (only safe when the app cannot be reached but
    // through them; otherwise configure the proxies' addresses / CIDRs). Never "trust everything".
    trustProxy: typeof cfg.trustProxy === 'number' ? trustHops(cfg.trustProxy) : cfg.trustProxy,
    bodyLimit: 64 * 1024,
    // Query strings, path parameters and headers are text, so their numbers and booleans are converted (and a lone
    // value becomes a one-item array); a JSON body has types of its own and gets none of that (see bodyValidation).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    // Errors Fastify raises before routing (bad URL encoding, over-long parameters) in the API.md shape too.
    frameworkErrors: (err, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      (reply as unknown as { status(n: number): { header(k: string, v: string): { send(b: unknown): void } } })
        .status(status)
        .header('cache-control', 'no-store')
        .send(errorBody('bad_request', err.message));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Live events of this process are coalesced at the source and published to the Redis stream; every
  // server reads that stream (below) and delivers to its own sockets.
  let sink: CoalescingSink | undefined;
  const hooks: ServiceHooks = {};
  const ctx = createContext(cfg, (redis) => (sink = new CoalescingSink(new StreamEventSink(redis, cfg.redisPrefix))), hooks);
  // The request-path connection fails fast (no offline queue), so it must be up before the first request.
  await ctx.ready();
  const limiter = new RateLimiter(ctx.redis, cfg.redisPrefix);

  // external
  await app.register(cookie);
  registerSecurityHeaders(app, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
      },
    },
  });
  bodyValidation(app);
  for (const schema of sharedSchemas) app.addSchema(schema);
  await app.register(swagger, swaggerOptions({ port: cfg.port, version: API_VERSION }));
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  // application
  registerErrorHandling(app);
  rejectNonFiniteNumbers(app);
  normaliseIdParams(app);
  absentBodyIsEmpty(app);
  registerAuth(app, ctx.services.auth, lookupLimit(limiter, cfg));
  registerLimits(app, limiter, cfg);

  // routes
  await app.register(healthRoutes, { ctx });
  await app.register(sessionRoutes, { ctx });
  await app.register(networkRoutes, { ctx });
  await app.register(tradeRoutes, { ctx });
  await app.register(financeRoutes, { ctx });
  await app.register(auctionRoutes, { ctx });
  await app.register(statsRoutes, { ctx });
  await app.register(itineraryRoutes, { ctx });
  await app.register(routeSearchRoutes, { ctx });
  await app.register(shipmentRoutes, { ctx });
  await app.register(optimisationRoutes, { ctx });
  await app.register(webhookRoutes, { ctx });
  await app.register(teamRoutes, { ctx });
  await app.register(waterLevelRoutes, { ctx });
  await app.register(watchRoutes, { ctx });
  if (opts.extend) await opts.extend(app, ctx);

  if (fs.existsSync(cfg.clientDir)) {
    await app.register(fastifyStatic, { root: cfg.clientDir, prefix: '/', wildcard: true, index: 'index.html' });
  }

  const io = createSocketServer({
    httpServer: app.server,
    redis: createRedis(cfg.redisUrl, { name: 'cx-socket-adapter' }),
    prefix: cfg.redisPrefix,
    auth: ctx.services.auth,
    db: ctx.db,
    allowedOrigins: cfg.allowedOrigins,
    cookieName: SESSION_COOKIE,
    trustProxy: cfg.trustProxy,
    limiter,
    handshakesPerMinute: cfg.socketHandshakesPerMinute,
    socketsPerPrincipal: cfg.socketsPerPrincipal,
    subscriptionsMax: cfg.socketSubscriptionsMax,
    recheckMs: cfg.socketRecheckMs,
    commands: socketCommands(ctx, limiter, cfg),
    log: app.log,
  });
  // A revoked session or key: its sockets are cut on every server (through the adapter), and every server
  // forgets its cached principal (pub/sub; the revoking server has already forgotten it).
  const revokedChannel = `${cfg.redisPrefix}auth:revoked`;
  hooks.onRevoke = (room) => {
    io.in(room).disconnectSockets(true);
    void ctx.redis.publish(revokedChannel, room).catch(() => {});
  };
  const revocations = createRedis(cfg.redisUrl, { name: 'cx-revocations' });
  revocations.on('message', (_channel: string, room: string) => ctx.services.auth.principals.evict(room));
  await revocations.subscribe(revokedChannel);

  const localRooms = socketRooms(io, { framesPerSocket: cfg.liveFramesPerSocket, busyFramesPerSocket: cfg.liveBusyFramesPerSocket });
  const fanout = new LocalFanout(localRooms, defaultFanoutOptions);
  app.addHook('onResponse', async (req) => {
    if (req.method !== 'GET' && apiRoute(req)) localRooms.traded();
  });
  // The route search's timetable follows the same events (availability, listing updates and closes).
  const routes = ctx.services.routes;
  // After Redis was away, events may have been lost: every socket of this server is told to re-read, and the
  // route search reads its timetable again.
  const resync = () => {
    io.local.emit('live:resync', { at: new Date().toISOString() });
    routes.reload('full').catch((err: unknown) => app.log.warn({ err }, 'route search: reload after a resync failed'));
  };
  // Dashboard rooms: at most one merged `stats:update` per room every STATS_PUSH_MS, from the same events.
  const feed = new DashboardFeed(dashboardRooms(io), (ids) => departureKeys(ctx.db, ids), { intervalMs: cfg.statsPushMs, log: app.log });
  const deliver = (events: LiveEvent[]) => {
    fanout.deliver(events);
    feed.observe(events);
    routes.observe(events);
  };
  const relay = new StreamRelay(createRedis(cfg.redisUrl, { name: 'cx-relay' }), cfg.redisPrefix, deliver, app.log, resync);
  await relay.start();
  // Loaded in the background: a search before the first load waits for it.
  routes.start(app.log).catch((err: unknown) => app.log.warn({ err }, 'route search: first load failed; retried on the next search'));

  app.addHook('onClose', async () => {
    await sink?.flush();
    await relay.stop();
    routes.stop();
    feed.close();
    revocations.disconnect();
    fanout.flush();
    localRooms.close();
    await io.close();
    await ctx.close();
  });

  return { app, ctx, io };
}
