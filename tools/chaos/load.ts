// The chaos run's load: forwarder accounts and a market (fixed listings and auctions closing during the
// run), then in-process forwarders that hold / confirm / release / let expire / cancel / bid at a bounded
// rate through any live server, recording every acknowledged write for the checks.
import { hashPassword } from '../../server/services/passwords.ts';
import { sleep } from '../../scripts/lib/procs.mjs';
import { call, lastCallError, signIn, type HttpAnswer, type Who } from './client.ts';
import { prng, type Rng } from '../../server/core/rng.ts';
import type { ChaosWorld } from './world.ts';
import { Extras } from './extras.ts';

/** During the Redis outage phase every request must be answered within this time (success or a clear 503). */
export const OUTAGE_ANSWER_MS = 2000;

export interface Market {
  /** The forwarders' sign-in addresses. */
  emails: string[];
  fixed: { listingId: string; departureId: string }[];
  auctions: { listingId: string; departureId: string; format: 'ascending' | 'sealed'; closesAt: number }[];
  departures: { id: string; corridorId: string }[];
}

/** What the clients were told succeeded: checked against Postgres at the end. */
export interface AckLog {
  holds: { id: string; teu: number; tonnes: number; listingId: string }[];
  /** `fi`: the forwarder whose client saw the 201. */
  bookings: { id: string; holdId: string; teu: number; fi: number }[];
  bids: { id: string; listingId: string }[];
  cancellations: { bookingId: string }[];
  releases: string[];
}

/** The Redis outage phase and what was sent during it. */
export interface Outage {
  seconds: number;
  /** Every request sent during the window must be answered within this (success or a clear 503). */
  answerMs: number;
  /** When the phase is due (the end of the load phase); redisOutage waits for the faults before it. */
  plannedStart: number;
  /** The window, set when Redis was really killed (Infinity until then). */
  start: number;
  end: number;
  requests: number;
  bad: string[];
}

/** The id of what a 201 answer created. */
const idOf = (a: HttpAnswer) => (a.json as { id: string }).id;

/** `nForwarders` forwarder organisations with one user each; 4 fixed listings; auctions closing over 30–85 % of the run. */
export async function createMarket(world: ChaosWorld, seconds: number, nForwarders: number): Promise<Market> {
  const { db, urls } = world;
  const hash = await hashPassword('cluster-demo');
  const tag = `chaos${Date.now().toString(36)}`;
  const emails: string[] = [];
  for (let i = 0; i < nForwarders; i++) {
    const org = await db.insertInto('organisations').values({ slug: `${tag}-fwd-${i}`, name: `Chaos Forwarder ${i}`, kind: 'forwarder' }).returning('id').executeTakeFirstOrThrow();
    const email = `${tag}-fwd-${i}@chaos.test`;
    const u = await db.insertInto('users').values({ email, name: `Chaos ${i}`, password_hash: hash }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('memberships').values({ user_id: u.id, org_id: org.id, role: 'admin' }).execute();
    emails.push(email);
  }
  const op = await signIn(urls[0]!, 'operator1@demo.test');
  const corridors = await db.selectFrom('corridors').select(['id', 'code']).where('code', 'in', ['DEDUI-ITBLQ-rail', 'ITBLQ-DEDUI-rail']).orderBy('code').execute();
  if (corridors.length === 0) throw new Error('seeded corridors missing');
  const cutoff = new Date(Date.now() + 2 * 86_400_000);
  const post = async <T>(url: string, body: Record<string, unknown>, what: string) => {
    const r = await call(urls[0]!, 'POST', url, op, body);
    if (r?.status !== 201) throw new Error(`create ${what}: ${r?.status} ${JSON.stringify(r?.json)}`);
    return r.json as T;
  };
  const newDeparture = (corridorId: string, teu: number, tonnes: number, name: string) =>
    post<{ id: string; corridorId: string }>('/api/departures', {
      corridorId, departsAt: new Date(cutoff.getTime() + 3_600_000).toISOString(), arrivesAt: new Date(cutoff.getTime() + 30 * 3_600_000).toISOString(),
      cutoffAt: cutoff.toISOString(), capacityTeu: teu, capacityTonnes: tonnes, assetName: name,
    }, 'departure');
  const market: Market = { emails, fixed: [], auctions: [], departures: [] };
  for (let i = 0; i < 4; i++) {
    const d = await newDeparture(corridors[i % corridors.length]!.id, 30, 420, `Chaos Shuttle ${i}`);
    const l = await post<{ id: string }>('/api/listings', { departureId: d.id, format: 'fixed', teu: 30, unitPriceCents: 40_000 + i * 1000 }, 'listing');
    market.fixed.push({ listingId: l.id, departureId: d.id });
    market.departures.push(d);
  }
  const nAuctions = Math.max(4, Math.round(seconds / 5));
  for (let i = 0; i < nAuctions; i++) {
    const d = await newDeparture(corridors[i % corridors.length]!.id, 12, 240, `Chaos Auction ${i}`);
    const format = i % 2 === 0 ? 'ascending' : 'sealed';
    // closes spread over 30 %..85 % of the run (ascending ones may be extended by the soft close)
    const closesAt = Date.now() + 4000 + Math.round(seconds * 1000 * (0.3 + (0.55 * i) / Math.max(1, nAuctions - 1)));
    const l = await post<{ id: string }>('/api/listings', { departureId: d.id, format, teu: 8, reservePriceCents: 20_000, minIncrementCents: 500, closesAt: new Date(closesAt).toISOString() }, 'listing');
    market.auctions.push({ listingId: l.id, departureId: d.id, format, closesAt });
    market.departures.push(d);
  }
  return market;
}

/** Sends the forwarders' requests and keeps the books: what was acknowledged, refused, or left unknown. */
export class Load {
  readonly ack: AckLog = { holds: [], bookings: [], bids: [], cancellations: [], releases: [] };
  readonly counts = { staleResets: 0, requests: 0, unknownOutcome: 0, refusedCapacity: 0, holdExpiredOnConfirm: 0, bidRefused: 0, otherErrors: 0, lateConfirms: 0 };
  /** Like a load balancer: any server, but one that just failed to answer is avoided for a second. */
  private readonly downUntil: number[];
  /** Watches, offers, bid groups and the webhook endpoint (issues 14 and 15). */
  readonly extras: Extras;

  constructor(
    private readonly urls: string[],
    private readonly market: Market,
    private readonly outage: Outage,
    /** The forwarders stop at this time (asked again at every step). */
    private readonly deadline: () => number,
    private readonly seed: number,
  ) {
    this.downUntil = urls.map(() => 0);
    this.extras = new Extras(this, market);
  }

  private pickUrl(r: Rng) {
    const up = this.urls.filter((_, i) => this.downUntil[i]! <= Date.now());
    return r.pick(up.length ? up : this.urls);
  }

  async req(r: Rng, method: string, url: string, who: Who, body?: unknown): Promise<HttpAnswer | null> {
    const { counts, outage } = this;
    counts.requests++;
    const target = this.pickUrl(r);
    const sent = Date.now();
    const a = await call(target, method, url, who, body);
    const tookMs = Date.now() - sent;
    if (outage.seconds > 0 && sent >= outage.start && sent < outage.end) {
      outage.requests++;
      // A reset at once on a pooled keep-alive connection is the client's stale socket to a server killed
      // earlier (fetch does not retry a POST), not an answer withheld: counted apart. A dead server shows
      // as refused connections, and the outage phase checks every process is still alive.
      const staleSocket = !a && tookMs < 100 && lastCallError().includes('ECONNRESET');
      if (staleSocket) counts.staleResets++;
      else if (!a || tookMs > outage.answerMs || (a.status >= 500 && a.status !== 503)) {
        outage.bad.push(`${method} ${url.replace(/[0-9a-f-]{36}/g, ':id')} → ${a ? a.status : `no answer (${lastCallError().slice(0, 80)})`} after ${tookMs} ms`);
      }
    }
    if (!a) {
      counts.unknownOutcome++;
      this.downUntil[this.urls.indexOf(target)] = Date.now() + 1000;
    } else if (a.status >= 500) counts.otherErrors++;
    return a;
  }

  /**
   * Forwarder `fi` until the deadline: cancels (10 %), bids on an open auction (25 %: a third of them bid
   * groups), a watcher looks at its offers (15 %), else holds.
   */
  async forwarder(fi: number, who: Who) {
    const r = prng(this.seed + 1000 + fi);
    const myBookings: string[] = [];
    for (let step = 0; step < 100_000 && Date.now() < this.deadline(); step++) {
      const x = r.next();
      const openAuctions = this.market.auctions.filter((a) => Date.now() < a.closesAt + 1000);
      if (x < 0.1 && myBookings.length > 0) {
        const id = myBookings.splice(r.int(0, myBookings.length - 1), 1)[0]!;
        const a = await this.req(r, 'DELETE', `/api/bookings/${id}`, who);
        if (a?.status === 200) this.ack.cancellations.push({ bookingId: id });
        else if (!a || a.status >= 500) myBookings.push(id); // unknown: may try again later
      } else if (x < 0.35 && openAuctions.length > 0) {
        if (openAuctions.length >= 2 && r.next() < 0.33) await this.extras.bidGroup(r, who, openAuctions);
        else await this.bid(r, who, r.pick(openAuctions));
      } else if (x < 0.5 && this.extras.isWatcher(fi)) {
        await this.extras.offers(r, who, fi, step, myBookings);
      } else {
        await this.hold(r, who, fi, step, myBookings);
      }
      await sleep(r.int(80, 300));
    }
  }

  private async bid(r: Rng, who: Who, auc: Market['auctions'][number]) {
    let price = 20_000 + r.int(0, 40) * 500;
    if (auc.format === 'ascending') {
      const l = await this.req(r, 'GET', `/api/listings/${auc.listingId}`, who);
      const min = l?.status === 200 ? (l.json as { minNextBidCents?: number } | null)?.minNextBidCents : undefined;
      if (typeof min === 'number') price = min + r.int(0, 3) * 500;
    }
    const body = { teu: r.int(1, 4), unitPriceCents: price, allOrNothing: r.next() < 0.2 };
    const a = await this.req(r, 'POST', `/api/listings/${auc.listingId}/bids`, who, body);
    if (a?.status === 201) this.ack.bids.push({ id: idOf(a), listingId: auc.listingId });
    else if (a?.status === 409) this.counts.bidRefused++;
  }

  /** A hold, then: confirm (45 %), release (30 %), confirm too late (3 %), or let it expire. */
  private async hold(r: Rng, who: Who, fi: number, step: number, myBookings: string[]) {
    const f = r.pick(this.market.fixed);
    const teu = r.int(1, 3);
    const tonnes = teu * r.int(8, 20);
    const a = await this.req(r, 'POST', '/api/holds', who, { listingId: f.listingId, teu, tonnes });
    if (a?.status === 409) this.counts.refusedCapacity++;
    if (a?.status !== 201) return;
    const holdId = idOf(a);
    this.ack.holds.push({ id: holdId, teu, tonnes, listingId: f.listingId });
    const confirm = (body: Record<string, unknown>) => this.confirm(r, who, fi, holdId, teu, body, myBookings);
    const y = r.next();
    if (y < 0.45) {
      await sleep(r.int(20, 600));
      await confirm({ reference: `chaos-${fi}-${step}` });
    } else if (y < 0.75) {
      await sleep(r.int(20, 600));
      const d = await this.req(r, 'DELETE', `/api/holds/${holdId}`, who);
      if (d?.status === 204) this.ack.releases.push(holdId);
    } else if (y < 0.78 && Date.now() + 6000 < this.deadline()) {
      // a confirm that comes too late: the worker must have expired it
      this.counts.lateConfirms++;
      await sleep(5600);
      await confirm({});
    } // else: let it expire by itself
  }

  /** Confirms a hold; a 201 is an acknowledged booking of forwarder `fi`. */
  async confirm(r: Rng, who: Who, fi: number, holdId: string, teu: number, body: Record<string, unknown>, myBookings: string[]) {
    const c = await this.req(r, 'POST', `/api/holds/${holdId}/confirm`, who, body);
    if (c?.status === 201) {
      this.ack.bookings.push({ id: idOf(c), holdId, teu, fi });
      myBookings.push(idOf(c));
    } else if (c?.status === 409) this.counts.holdExpiredOnConfirm++;
  }
}
