import type { Config } from './config.ts';
import { createDb, type Db } from './adapters/db/db.ts';
import { Queues } from './adapters/queue/jobs.ts';
import { AvailabilityCache } from './adapters/redis/availability.ts';
import { createRedis, redisReady, type Redis } from './adapters/redis/redis.ts';
import type { EventSink } from './adapters/realtime/events.ts';
import { AuthService } from './services/auth.ts';
import { TeamService } from './services/team.ts';
import { HoldsService } from './services/holds.ts';
import { BookingsService } from './services/bookings.ts';
import { DeparturesService } from './services/departures.ts';
import { ManifestService } from './services/manifest.ts';
import { ListingsService } from './services/listings.ts';
import { LedgerService } from './services/ledger/index.ts';
import type { SettlementHooks } from './services/ledger/settlement.ts';
import { AuctionsService } from './services/auctions.ts';
import { NetworkService } from './services/network.ts';
import { StatsService } from './services/stats.ts';
import { ItinerariesService } from './services/itineraries.ts';
import { RouteSearchService } from './services/routes.ts';
import { OperatingCostsService, ShipmentsService, type PoolChange } from './services/shipments.ts';
import { OptimiserService } from './services/optimiser.ts';
import { ProposalsService } from './services/proposals.ts';
import { WebhooksService } from './services/webhooks.ts';
import { WebhookDelivery } from './services/webhook-delivery.ts';
import { MergesService } from './services/merges.ts';
import { WaterLevelsService } from './services/water-levels.ts';
import { OfferCascade } from './services/offers/cascade.ts';
import { OffersService } from './services/offers/offers.ts';
import { WatchesService } from './services/watches.ts';

/** Everything a process needs to serve requests or run jobs. Built the same way by server, worker and CLI. */
export interface Context {
  cfg: Config;
  db: Db;
  redis: Redis;
  events: EventSink;
  queues: Queues;
  cache: AvailabilityCache;
  services: Services;
  /** Resolves when the (fail-fast) Redis connections are up: call before serving requests or jobs. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface Services {
  auth: AuthService;
  team: TeamService;
  network: NetworkService;
  holds: HoldsService;
  bookings: BookingsService;
  departures: DeparturesService;
  /** Who rides on a departure and who holds room on it (its operator). */
  manifest: ManifestService;
  listings: ListingsService;
  ledger: LedgerService;
  auctions: AuctionsService;
  stats: StatsService;
  itineraries: ItinerariesService;
  /** Route search over an in-memory timetable: started (loaded, refreshed) by servers only; elsewhere it loads on first use. */
  routes: RouteSearchService;
  /** The pool: forwarders' shipment requests. */
  shipments: ShipmentsService;
  /** Operators' operating costs and minimum loads of departures. */
  operatingCosts: OperatingCostsService;
  /** Runs of the pool's re-optimisation (the `pool.optimise` job runs them). */
  optimiser: OptimiserService;
  /** The plans' proposals, accepted or declined by the forwarders and operators concerned. */
  proposals: ProposalsService;
  /** Organisations' webhook endpoints (their admins). */
  webhooks: WebhooksService;
  /** Delivery of webhook events (the `webhook.deliver` job). */
  webhookDelivery: WebhookDelivery;
  /** Forwarders' saved searches and their matches (issue 14). */
  watches: WatchesService;
  /** Offers of freed capacity to watches, cascading (issue 14). */
  offers: OffersService;
  /** Water levels and low-water derating of barge capacity (issue 14). */
  waterLevels: WaterLevelsService;
}

export interface ServiceHooks {
  /** Called with a Socket.IO room whose sockets must be disconnected (revoked session or key). */
  onRevoke?: (room: string) => void;
  /** Seams inside the settlement transaction (tests only: see test/helpers/worker-with-settle-pause.ts). */
  ledger?: SettlementHooks;
}

export function createContext(cfg: Config, events: (redis: Redis) => EventSink, hooks: ServiceHooks = {}): Context {
  const db = createDb(cfg.databaseUrl);
  // Request-path connections fail fast: nothing waits behind a reconnect back-off; Postgres decides alone.
  const redis = createRedis(cfg.redisUrl, { name: 'cx-main', failFastMs: cfg.redisCommandTimeoutMs });
  // Queue producer (outbox drain, scheduled jobs): fails fast too, so a drain never hangs with rows locked.
  const bull = createRedis(cfg.redisUrl, { forBullmq: true, name: 'cx-queues', failFastMs: Math.max(2000, 4 * cfg.redisCommandTimeoutMs) });
  const queues = new Queues(bull, cfg.redisPrefix);
  const cache = new AvailabilityCache(redis, db, cfg.redisPrefix);
  const sink = events(redis);
  const cascade = new OfferCascade({ windowMs: cfg.offerWindowMs });
  const offers = new OffersService(db, cache, sink, queues, cascade, { holdTtlMs: cfg.holdTtlMs, holdMaxSharePct: cfg.holdMaxSharePct });
  const holds = new HoldsService(db, cache, sink, queues, { holdTtlMs: cfg.holdTtlMs, holdMaxSharePct: cfg.holdMaxSharePct, offers: cascade });
  const auctions = new AuctionsService(db, cache, sink, queues, {
    softCloseWindowMs: cfg.softCloseWindowMs,
    softCloseExtendMs: cfg.softCloseExtendMs,
    offers: cascade,
  });
  const itineraries = new ItinerariesService(db, cache, sink, queues, { holdTtlMs: cfg.holdTtlMs, holdMaxSharePct: cfg.holdMaxSharePct });
  // a change to the pool asks for an optimisation 30 s later (debounced: one delayed job, removed once it ran)
  const onPoolChange = (change?: PoolChange) => {
    void queues
      .add('pool.schedule', { trigger: 'pool' }, { jobId: 'pool.schedule-pool', delay: 30_000, removeOnComplete: true, removeOnFail: true })
      .catch(() => {});
    // an offer of freed capacity made for a shipment's old terms no longer stands once it changed or was withdrawn
    if (change?.kind === 'shipment') void offers.withdrawForShipment(change.shipmentId).catch(() => {});
  };
  const routes = new RouteSearchService(db);
  const auth = new AuthService(db, { sessionTtlMs: cfg.sessionTtlMs, principalCacheMs: cfg.principalCacheMs }, (room) => hooks.onRevoke?.(room));
  const services: Services = {
    auth,
    team: new TeamService(db, auth),
    network: new NetworkService(db, (p, ls) => auctions.views(p, ls)),
    holds,
    bookings: new BookingsService(db, cache, sink, queues, cascade),
    departures: new DeparturesService(db),
    manifest: new ManifestService(db),
    listings: new ListingsService(db, cache, sink, holds, queues, auctions, offers),
    ledger: new LedgerService(db, cfg, hooks.ledger),
    auctions,
    stats: new StatsService(db, { cache: cfg.statsCache }),
    itineraries,
    routes,
    shipments: new ShipmentsService(db, { onPoolChange }),
    operatingCosts: new OperatingCostsService(db, { onPoolChange }),
    optimiser: new OptimiserService(db, sink, queues, { timeLimitSec: cfg.optimiserTimeLimitSec, co2PriceCentsPerTonne: cfg.co2PriceCentsPerTonne }),
    proposals: new ProposalsService(db, itineraries, cache, sink, new MergesService(db, cache, sink)),
    webhooks: new WebhooksService(db, queues, cfg.webhooks),
    webhookDelivery: new WebhookDelivery(db, queues, sink, cfg.webhooks),
    watches: new WatchesService(db, sink, queues),
    offers,
    waterLevels: new WaterLevelsService(db, routes, holds, cache, sink, queues, offers),
  };
  return {
    cfg,
    db,
    redis,
    events: sink,
    queues,
    cache,
    services,
    async ready() {
      await Promise.all([redisReady(redis), redisReady(bull)]);
    },
    async close() {
      services.routes.stop();
      await queues.close().catch(() => {});
      bull.disconnect();
      await db.destroy().catch(() => {});
      redis.disconnect();
    },
  };
}
