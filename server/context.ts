import type { Config } from './config.ts';
import { createDb, type Db } from './adapters/db/db.ts';
import { createRedis, type Redis } from './adapters/redis/redis.ts';
import type { EventSink } from './adapters/realtime/events.ts';
import { AuthService } from './services/auth.ts';
import { NetworkService } from './services/network.ts';

/** Everything a process needs to serve requests or run jobs. Built the same way by server, worker and CLI. */
export interface Context {
  cfg: Config;
  db: Db;
  redis: Redis;
  events: EventSink;
  services: Services;
  close(): Promise<void>;
}

export interface Services {
  auth: AuthService;
  network: NetworkService;
}

export interface ServiceHooks {
  /** Called with a Socket.IO room whose sockets must be disconnected (revoked session or key). */
  onRevoke?: (room: string) => void;
}

export function createServices(deps: { cfg: Config; db: Db; redis: Redis; events: EventSink }, hooks: ServiceHooks = {}): Services {
  return {
    auth: new AuthService(deps.db, { sessionTtlMs: deps.cfg.sessionTtlMs }, (room) => hooks.onRevoke?.(room)),
    network: new NetworkService(deps.db),
  };
}

export function createContext(cfg: Config, events: (redis: Redis) => EventSink, hooks: ServiceHooks = {}): Context {
  const db = createDb(cfg.databaseUrl);
  const redis = createRedis(cfg.redisUrl, { name: 'cx-main' });
  const sink = events(redis);
  const services = createServices({ cfg, db, redis, events: sink }, hooks);
  return {
    cfg,
    db,
    redis,
    events: sink,
    services,
    async close() {
      await db.destroy().catch(() => {});
      redis.disconnect();
    },
  };
}
