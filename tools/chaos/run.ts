// The chaos run behind `npm run chaos` (tools/chaos/chaos.ts) and test/integration/chaos.test.ts.
//
// A private world (world.ts: its own database and Redis, 2 server and 2 worker processes). In-process
// forwarders hold / confirm / release / let expire / cancel / bid at a bounded rate (load.ts), keep watches
// and accept / decline / ignore the offers of freed capacity, place bid groups (extras.ts), one of them
// with a webhook endpoint at the run's receiver (receiver.ts), while
// Socket.IO observers keep a live availability view like the real client does (observer.ts), and faults
// are injected at seeded random moments, then Redis is away for a while (faults.ts). When the load stops
// and the workers have drained (drain.ts), the invariants of DESIGN.md are checked against Postgres and
// against what the clients were told (checks.ts, checks-extra.ts). Loopback only; every loop is bounded in count and time;
// every process started here is killed by process group at the end.
import { sql } from 'kysely';
import type { Db } from '../../server/adapters/db/db.ts';
import { checkInvariants } from './checks.ts';
import { checkGroups, checkOffers, checkWebhooks, waitForWebhooks } from './checks-extra.ts';
import { signIn } from './client.ts';
import { converge, drain } from './drain.ts';
import { injectFaults, planFaults, redisOutage } from './faults.ts';
import { createMarket, Load, type Outage } from './load.ts';
import { setUpExtras } from './extras.ts';
import { Observer } from './observer.ts';
import { WebhookReceiver } from './receiver.ts';
import type { ChaosResult, Fault } from './report.ts';
import { prng } from '../../server/core/rng.ts';
import { ChaosWorld } from './world.ts';

export { formatChaos, type ChaosResult, type CheckRow } from './report.ts';
import { OUTAGE_ANSWER_MS } from './load.ts';
export { OUTAGE_ANSWER_MS };

export interface ChaosOptions {
  /** Length of the load phase in seconds. */
  seconds: number;
  /** The application role's URL on the Postgres server to use: the server and worker processes connect with it. */
  databaseUrl: string;
  /** The schema owner's URL on the same server (creates, migrates, seeds, checks and drops the private database); default `databaseUrl`. */
  ownerDatabaseUrl?: string | undefined;
  /** The redis-server binary (a private instance is started on a free loopback port). */
  redisBin?: string;
  /** PRNG seed; printed so that a run's schedule can be repeated. */
  seed?: number;
  forwarders?: number;
  observers?: number;
  /**
   * After the load phase with its faults, Redis is stopped for this many seconds while the load goes on
   * (0: no outage phase). Every request sent meanwhile must answer within OUTAGE_ANSWER_MS, with success
   * or a clear 503, and nothing may be committed that no client heard of.
   */
  redisOutageSeconds?: number;
  /**
   * The answer time the outage phase holds requests to (default OUTAGE_ANSWER_MS, 2 s: the CLI's figure).
   * The test suite passes a generous bound instead: on a loaded CI machine it checks liveness (no request
   * hangs until the client gives up), while speed is measured by the CLI, not asserted in tests.
   */
  outageAnswerMs?: number;
  /** Progress lines. */
  log?: (msg: string) => void;
  /** CLI: on SIGINT / SIGTERM kill every process started here, drop the database, exit 130. */
  handleSignals?: boolean;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const seconds = o.seconds;
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rng = prng(seed);
  const log = o.log ?? ((m: string) => process.stderr.write(`▸ ${m}\n`));
  const nForwarders = o.forwarders ?? 12;
  const nObservers = o.observers ?? 4;
  log(`chaos: seed ${seed}, ${seconds} s of load, ${nForwarders} forwarders, ${nObservers} live observers`);

  const world = new ChaosWorld({ databaseUrl: o.databaseUrl, ownerDatabaseUrl: o.ownerDatabaseUrl, redisBin: o.redisBin, log });
  if (o.handleSignals) world.handleSignals();
  const observers: Observer[] = [];
  const receiver = new WebhookReceiver(0.1, seed);
  try {
    await receiver.start();
    await world.setUp();
    const { urls } = world;
    const market = await createMarket(world, seconds, nForwarders);
    log(`${market.fixed.length} fixed listings (30 TEU / 420 t each), ${market.auctions.length} auctions closing during the run`);
    const fwds = await Promise.all(market.emails.map((e, i) => signIn(urls[i % 2]!, e)));
    for (let i = 0; i < nObservers; i++) {
      const who = await signIn(urls[i % 2]!, market.emails[i % market.emails.length]!);
      const ob = new Observer(`observer${i + 1}@server${(i % 2) + 1}`, urls[i % 2]!, who, market.departures, i < nObservers / 2 ? 'corridor' : 'departure');
      ob.start();
      observers.push(ob);
    }

    const extras = await setUpExtras(urls, fwds, receiver.url, market);
    log(`${extras.watches} watches on the run's corridors; webhook endpoint ${receiver.url} (booking.confirmed, booking.cancelled; 10 % answered 500)`);

    // ---- load, with the faults and then the outage phase
    const loadStart = Date.now();
    const outageSeconds = o.redisOutageSeconds ?? 20;
    // The outage window opens when Redis is really killed: after the last fault, later than planned when
    // restarts were slow. The load goes on through it and 3 s past it (at most 2 minutes past the plan).
    const outage: Outage = { seconds: outageSeconds, answerMs: o.outageAnswerMs ?? OUTAGE_ANSWER_MS, plannedStart: loadStart + seconds * 1000, start: Infinity, end: Infinity, requests: 0, bad: [] };
    const planned = loadStart + (seconds + outageSeconds) * 1000 + 3000;
    const deadline = () => (outageSeconds > 0 ? Math.min(Math.max(planned, outage.end + 3000), planned + 120_000) : loadStart + seconds * 1000);
    const load = new Load(urls, market, outage, deadline, seed);
    Object.assign(load.extras.log, extras);
    const faults: Fault[] = [];
    const plan = planFaults(rng, seconds);
    log(`load: ${seconds} s; ${plan.length} faults planned (${plan.join(', ')})${outageSeconds > 0 ? `, then ${outageSeconds} s without Redis` : ''}`);
    const { ack, counts } = load;
    const ticker = setInterval(() => {
      log(`t+${((Date.now() - loadStart) / 1000).toFixed(0)} s: ${ack.holds.length} holds, ${ack.bookings.length} bookings, ${ack.bids.length} bids, ${ack.cancellations.length} cancellations, ${counts.unknownOutcome} unknown outcomes`);
    }, 5000);
    try {
      await Promise.all([
        injectFaults(world, plan, rng, loadStart, seconds, faults, log).then(() => redisOutage(world, outage, loadStart, faults, log)),
        ...fwds.map((who, i) => load.forwarder(i, who)),
      ]);
    } finally {
      clearInterval(ticker);
    }
    log(`load stopped after ${((Date.now() - loadStart) / 1000).toFixed(1)} s`);

    // ---- drain, converge, check
    const auctionIds = market.auctions.map((a) => a.listingId);
    const quiesceMs = await drain(world.db, auctionIds, log);
    const { convergeMs, divergent } = await converge(world.db, observers, market.departures.map((d) => d.id), log);
    const webhookWaitMs = await waitForWebhooks(receiver, ack, log);
    const { checks, auctionStates } = await checkInvariants(world.db, ack, market, outage, observers.length, divergent);
    const add = (check: string, checked: number, bad: string[]) => checks.push({ check, checked, violations: bad.length, examples: bad.slice(0, 5) });
    await checkOffers(world.db, load.extras.log, add);
    await checkGroups(world.db, load.extras.log, add);
    await checkWebhooks(world.db, receiver, load.extras.log, ack, fwds[0]!.orgId, add);

    const { loadSummary, faultCounts } = await summarise(world.db, load, receiver, auctionIds, auctionStates, observers, faults);
    return { seed, seconds, ok: checks.every((c) => c.violations === 0), load: loadSummary, faults, faultCounts, checks, quiesceMs: quiesceMs + webhookWaitMs, convergeMs };
  } finally {
    for (const ob of observers) await ob.stop().catch(() => {});
    await receiver.close().catch(() => {});
    await world.tearDown();
  }
}

/** The load table and the fault counts of the result. */
async function summarise(db: Db, load: Load, rx: WebhookReceiver, auctionIds: string[], auctionStates: { why: string }[], observers: Observer[], faults: Fault[]) {
  const { ack, counts } = load;
  const bookings = (where: 'settled' | 'auction') =>
    db
      .selectFrom('bookings')
      .select(sql<number>`count(*)::int`.as('n'))
      .$if(where === 'settled', (q) => q.where('status', '=', 'settled'))
      .$if(where === 'auction', (q) => q.where('listing_id', 'in', auctionIds))
      .executeTakeFirstOrThrow()
      .then((r) => r.n);
  const faultCounts = {
    'server SIGKILL': faults.filter((f) => f.kind.startsWith('server')).length,
    'worker SIGKILL': faults.filter((f) => f.kind.startsWith('worker')).length,
    'redis restart': faults.filter((f) => f.kind.startsWith('redis') && f.kind !== 'redis outage').length,
    'redis outage': faults.filter((f) => f.kind === 'redis outage').length,
  };
  const loadSummary = {
    'requests sent': counts.requests,
    'holds acknowledged': ack.holds.length,
    'bookings acknowledged (confirms)': ack.bookings.length,
    'holds released': ack.releases.length,
    'bookings cancelled': ack.cancellations.length,
    'bids acknowledged': ack.bids.length,
    'auctions closed': auctionStates.length - auctionStates.filter((r) => r.why?.startsWith('not closed')).length,
    'auction bookings': await bookings('auction'),
    'bookings settled': await bookings('settled'),
    '409 insufficient capacity': counts.refusedCapacity,
    '409 on confirm (hold expired)': counts.holdExpiredOnConfirm,
    '409 on bid': counts.bidRefused,
    'unknown outcomes (connection lost)': counts.unknownOutcome,
    '  of which stale pooled connections reset during the Redis outage': counts.staleResets,
    '5xx answers': counts.otherErrors,
    'live events received': observers.reduce((s, ob) => s + ob.stats.events, 0),
    'observer (re)connects': observers.reduce((s, ob) => s + ob.stats.connects, 0),
    'observer seq gaps': observers.reduce((s, ob) => s + ob.stats.gaps, 0),
    ...(await extrasSummary(db, load, rx)),
    'faults injected': faults.length,
  };
  return { loadSummary, faultCounts };
}

/** The load rows of issues 14 and 15 (offers, bid groups, webhooks). */
async function extrasSummary(db: Db, load: Load, rx: WebhookReceiver) {
  const x = load.extras.log;
  const n = (table: 'offers' | 'offer_chains' | 'bid_groups' | 'bids', status?: string) =>
    db
      .selectFrom(table)
      .select(sql<number>`count(*)::int`.as('n'))
      .$if(status !== undefined, (q) => q.where(sql.ref('status'), '=', status))
      .executeTakeFirstOrThrow()
      .then((r) => r.n);
  return {
    'offers made (cascade re-offers)': await n('offers'),
    '  accepted (201)': x.accepted.length,
    '  declined (204)': x.declined.length,
    '  timed out': await n('offers', 'expired'),
    '  409 offer_expired on accept': x.acceptExpired,
    '  other 409 on accept': x.acceptRefused,
    'offer chains back on the board': await n('offer_chains', 'returned'),
    'bid groups acknowledged': x.groups.length,
    '  groups won': await n('bid_groups', 'won'),
    '  groups lost': await n('bid_groups', 'lost'),
    '  bids withdrawn by their group': await n('bids', 'withdrawn'),
    '409 on bid group': x.groupRefused,
    'webhook deliveries received': rx.got.length,
    '  answered 500 (retried)': rx.got.filter((d) => d.status !== 200).length,
  };
}
