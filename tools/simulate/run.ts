// `npm run simulate`: a day of the demo forwarders' activity played against a running app through its public
// API, compressed into a few minutes of wall clock, so that the board, the auctions and the dashboards move
// while someone watches. Bounded by its length; stops early and cleanly on an abort (Ctrl-C): no new actions,
// the holds it still has are confirmed or released, then the figures.
import { prng } from '../../server/core/rng.ts';
import { ApiError, Desk, errorCode, type Reply } from './client.ts';

export interface SimulateOptions {
  /** Base URL of the running app, e.g. http://127.0.0.1:3000. */
  url: string;
  /** Wall-clock length of the simulated day, minutes (0.05 … 1440). */
  minutes: number;
  /** Actions per second at the busiest hour of the day (0.1 … 50); quieter hours get fewer. */
  rate: number;
  /** Forwarder logins (default: forwarder1 … forwarder4@demo.test) and their password (default cluster-demo). */
  forwarders?: string[];
  password?: string;
  /** PRNG seed: which forwarder does what. */
  seed?: number;
  /** Most actions in flight at once (default 16). */
  concurrency?: number;
  /**
   * A demo water-level feed (issue 14): the scheduler reports the Kaub gauge every simulated 2 hours, falling through a
   * low-water dip in the afternoon (down to about 70 cm) and back — the Basel barges are derated and restored live.
   * Off unless asked (`npm run simulate` turns it on; `--no-water` off).
   */
  water?: { scheduler?: string };
}

export interface SimulateStats {
  /** Actions started (a browse, a hold, a bid, a cancellation). */
  actions: number;
  browsed: number;
  holds: number;
  confirmed: number;
  released: number;
  cancelled: number;
  bids: number;
  /** Water levels reported by the demo feed. */
  waterLevels: number;
  /** Offers the simulated desks accepted and declined. */
  offersAccepted: number;
  offersDeclined: number;
  /** Refusals by error code (sold out, share, cut-off, outbid …): the market saying no, not a failure. */
  refused: Record<string, number>;
  /** Failures: 5xx, network errors, unexpected answers. */
  errors: number;
  /** The last failure, for the report. */
  lastError: string | null;
  seconds: number;
  /** Hours of the simulated day played (24 when it ran its full length). */
  simulatedHours: number;
  stoppedBy: 'time' | 'signal';
}

interface BoardDeparture {
  id: string;
  departsAt: string;
  cutoffAt: string;
  freeTeu: number;
  freeTonnes: number;
  status: string;
}
interface ListingView {
  id: string;
  format: 'fixed' | 'falling' | 'ascending' | 'sealed';
  status: string;
  teu: number;
  remainingTeu: number;
  reservePriceCents?: number;
  minIncrementCents?: number;
  minNextBidCents?: number;
  closesAt?: string;
}
interface Booking {
  id: string;
  status: string;
}

/**
 * How busy each hour of a forwarder's day is (0..1): quiet at night, a morning peak as orders come in, a lunch
 * dip, a second peak before the afternoon cut-offs, an evening tail.
 */
export function activityAt(hour: number): number {
  const h = ((hour % 24) + 24) % 24;
  const peak = (c: number, w: number) => Math.exp(-((h - c) ** 2) / (2 * w * w));
  return Math.min(1, 0.08 + 0.92 * peak(10, 1.8) + 0.75 * peak(15.5, 1.8) + 0.25 * peak(19.5, 1.5));
}

const DEFAULT_FORWARDERS = [1, 2, 3, 4].map((i) => `forwarder${i}@demo.test`);

/** Plays the day; resolves with the figures once it ran its length or `signal` aborted it (and it cleaned up). */
export async function simulate(o: SimulateOptions, signal: AbortSignal, onProgress?: (s: SimulateStats) => void): Promise<SimulateStats> {
  if (!(o.minutes >= 0.05 && o.minutes <= 1440)) throw new RangeError('minutes must be 0.05 … 1440');
  if (!(o.rate >= 0.1 && o.rate <= 50)) throw new RangeError('rate must be 0.1 … 50 actions a second');
  const rng = prng(o.seed ?? 11);
  const started = performance.now();
  const lengthMs = o.minutes * 60_000;
  const stats: SimulateStats = {
    actions: 0, browsed: 0, holds: 0, confirmed: 0, released: 0, cancelled: 0, bids: 0, waterLevels: 0, offersAccepted: 0, offersDeclined: 0, refused: {}, errors: 0, lastError: null, seconds: 0,
    simulatedHours: 0, stoppedBy: 'time',
  };
  const hourNow = () => Math.min(24, (24 * (performance.now() - started)) / lengthMs);

  const desks = (o.forwarders ?? DEFAULT_FORWARDERS).map((e) => new Desk(o.url, e));
  for (const d of desks) await d.signIn(o.password ?? 'cluster-demo');
  const gauge = o.water ? new Desk(o.url, o.water.scheduler ?? 'scheduler@demo.test') : null;
  if (gauge) await gauge.signIn(o.password ?? 'cluster-demo');
  let nextReadingHour = 0;
  /**
   * The demo feed's readings: a low-water dip centred on the simulated 15:00 at Kaub (Basel barges) and, milder, at
   * Ruhrort (Rotterdam and Antwerp barges, which have direct trains: their moved bookings get first refusal on one).
   */
  const dip = (hour: number, normal: number, depth: number) => Math.round(normal - depth * Math.exp(-((hour - 15) ** 2) / (2 * 3 * 3)));
  const report = async () => {
    const h = hourNow();
    for (const [g, levelCm] of [['KAUB', dip(h, 190, 120)], ['RUHRORT', dip(h, 330, 190)]] as const) {
      const r = await gauge!.call('POST', '/api/water-levels', { gauge: g, levelCm, measuredAt: new Date(Date.now() - 1000).toISOString() });
      if (judge(r, 'water level')) stats.waterLevels++;
    }
  };

  let board: BoardDeparture[] = [];
  const auctions = new Map<string, ListingView>();
  const myBookings = new Map<Desk, string[]>(desks.map((d) => [d, []]));
  const openHolds = new Map<string, { desk: Desk; decideAt: number }>();

  const refuse = (r: Reply) => {
    const code = errorCode(r);
    stats.refused[code] = (stats.refused[code] ?? 0) + 1;
  };
  const fail = (what: string) => {
    stats.errors++;
    stats.lastError = what;
  };
  /** A reply: ok (2xx) → true; 4xx → a refusal; anything else → a failure. */
  const judge = (r: Reply, what: string) => {
    if (r.status >= 200 && r.status < 300) return true;
    if (r.status >= 400 && r.status < 500) refuse(r);
    else fail(`${what}: HTTP ${r.status} ${errorCode(r)}`);
    return false;
  };

  const browse = async (desk: Desk) => {
    stats.browsed++;
    const after = new Date(Date.now() + 30 * 60_000).toISOString();
    const r = await desk.call<BoardDeparture[]>('GET', `/api/departures?after=${encodeURIComponent(after)}&limit=300`);
    if (judge(r, 'board') && Array.isArray(r.body)) board = r.body.filter((d) => d.status === 'scheduled');
  };

  /** A departure's listings (and any auction on it remembered for bidding). */
  const listingsOf = async (desk: Desk, depId: string): Promise<ListingView[]> => {
    stats.browsed++;
    const r = await desk.call<{ listings: ListingView[] }>('GET', `/api/departures/${depId}`);
    if (!judge(r, 'departure') || !r.body) return [];
    for (const l of r.body.listings) {
      if ((l.format === 'ascending' || l.format === 'sealed') && l.status === 'open' && l.closesAt && Date.parse(l.closesAt) > Date.now() + 60_000) auctions.set(l.id, l);
    }
    return r.body.listings;
  };

  const hold = async (desk: Desk) => {
    const open = board.filter((d) => d.freeTeu > 0 && Date.parse(d.cutoffAt) > Date.now() + 30 * 60_000);
    if (open.length === 0) return browse(desk);
    const dep = open[Math.floor(rng.next() * open.length)]!;
    const listings = (await listingsOf(desk, dep.id)).filter((l) => (l.format === 'fixed' || l.format === 'falling') && l.status === 'open' && l.remainingTeu > 0);
    if (listings.length === 0) return;
    const l = listings[Math.floor(rng.next() * listings.length)]!;
    const teu = rng.int(1, Math.min(6, l.remainingTeu));
    const tonnes = Math.max(teu, Math.min(dep.freeTonnes, teu * rng.int(8, 14)));
    const r = await desk.call<{ id: string }>('POST', '/api/holds', { listingId: l.id, teu, tonnes });
    if (!judge(r, 'hold') || !r.body) return;
    stats.holds++;
    // a forwarder thinks a little before confirming (or letting go): 2–8 % of the day's length, at most 20 s
    openHolds.set(r.body.id, { desk, decideAt: Date.now() + Math.min(20_000, lengthMs * (0.002 + rng.next() * 0.006)) });
  };

  const decide = async (id: string, confirm: boolean) => {
    const h = openHolds.get(id);
    if (!h) return;
    openHolds.delete(id);
    if (confirm) {
      const r = await h.desk.call<Booking>('POST', `/api/holds/${id}/confirm`, { reference: `SIM-${id.slice(0, 8).toUpperCase()}` });
      if (judge(r, 'confirm') && r.body) {
        stats.confirmed++;
        myBookings.get(h.desk)!.push(r.body.id);
      }
    } else {
      const r = await h.desk.call('DELETE', `/api/holds/${id}`);
      if (judge(r, 'release')) stats.released++;
    }
  };

  const cancel = async (desk: Desk) => {
    const mine = myBookings.get(desk)!;
    if (mine.length === 0) return hold(desk);
    const id = mine.splice(Math.floor(rng.next() * mine.length), 1)[0]!;
    const r = await desk.call('DELETE', `/api/bookings/${id}`);
    if (judge(r, 'cancel')) stats.cancelled++;
  };

  const bid = async (desk: Desk) => {
    const live = [...auctions.values()].filter((l) => l.closesAt && Date.parse(l.closesAt) > Date.now() + 30_000);
    if (live.length === 0) {
      // find some: look at a few departures' listings
      const some = board.slice().sort(() => rng.next() - 0.5).slice(0, 3);
      for (const d of some) await listingsOf(desk, d.id);
      return;
    }
    const l = live[Math.floor(rng.next() * live.length)]!;
    const cur = await desk.call<ListingView>('GET', `/api/listings/${l.id}`);
    if (!judge(cur, 'listing') || !cur.body) return;
    if (cur.body.status !== 'open') {
      auctions.delete(l.id);
      return;
    }
    const step = cur.body.minIncrementCents ?? 500;
    const floor = cur.body.minNextBidCents ?? cur.body.reservePriceCents ?? 10_000;
    const unitPriceCents = floor + rng.int(0, 3) * step;
    const teu = rng.int(1, Math.max(1, Math.min(6, cur.body.teu)));
    const r = await desk.call('POST', `/api/listings/${l.id}/bids`, { teu, unitPriceCents });
    if (judge(r, 'bid')) stats.bids++;
    else if (errorCode(r) === 'auction_closed') auctions.delete(l.id);
  };

  /**
   * Offers of freed capacity (watches, pooled shipments, first refusal after low water): the simulated desks answer
   * theirs — accept (55 %; the hold is then confirmed or released like any other), decline (25 %) or let it run out.
   * The first two desks (forwarder 1 and 2 by default) never answer: their offers wait for you in the browser.
   */
  const answerOffers = async (desk: Desk) => {
    if (desks.indexOf(desk) < 2) return browse(desk);
    const r = await desk.call<{ id: string }[]>('GET', '/api/offers');
    if (!judge(r, 'offers') || !Array.isArray(r.body)) return;
    for (const o of r.body) {
      const x = rng.next();
      if (x < 0.55) {
        const a = await desk.call<{ id: string }>('POST', `/api/offers/${o.id}/accept`, {});
        if (judge(a, 'accept offer') && a.body) {
          stats.offersAccepted++;
          openHolds.set(a.body.id, { desk, decideAt: Date.now() + Math.min(20_000, lengthMs * 0.004) });
        }
      } else if (x < 0.8) {
        if (judge(await desk.call('POST', `/api/offers/${o.id}/decline`), 'decline offer')) stats.offersDeclined++;
      }
    }
  };

  const act = async () => {
    const desk = desks[Math.floor(rng.next() * desks.length)]!;
    const x = rng.next();
    stats.actions++;
    try {
      if (x < 0.12 || board.length === 0) await browse(desk);
      else if (x < 0.18) await answerOffers(desk);
      else if (x < 0.78) await hold(desk);
      else if (x < 0.84) await cancel(desk);
      else await bid(desk);
    } catch (err) {
      fail(err instanceof ApiError ? err.message : `network: ${(err as Error).message}`);
    }
  };

  // The day: actions arrive at random (Poisson) at the hour's rate, at most `concurrency` in flight.
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    const q = p.catch((err: unknown) => fail(`network: ${(err as Error).message}`));
    inFlight.add(q);
    void q.finally(() => inFlight.delete(q));
  };
  const limit = o.concurrency ?? 16;
  let lastProgress = 0;
  await browse(desks[0]!);
  while (!signal.aborted && performance.now() - started < lengthMs) {
    const rate = o.rate * activityAt(hourNow());
    const waitMs = Math.min(1000, (-Math.log(1 - rng.next() * 0.999) / rate) * 1000);
    await sleep(waitMs, signal);
    if (signal.aborted) break;
    for (const [id, h] of openHolds) if (h.decideAt <= Date.now() && inFlight.size < limit) track(decide(id, rng.next() < 0.82));
    if (inFlight.size < limit) track(act());
    if (gauge && hourNow() >= nextReadingHour) {
      nextReadingHour += 2;
      track(report());
    }
    if (performance.now() - lastProgress > 2000) {
      lastProgress = performance.now();
      stats.seconds = (performance.now() - started) / 1000;
      stats.simulatedHours = hourNow();
      onProgress?.(stats);
    }
  }
  if (signal.aborted) stats.stoppedBy = 'signal';
  stats.simulatedHours = hourNow();

  // Wind down: let what is in flight finish, then decide every hold still open (nothing is left held).
  await Promise.race([Promise.all(inFlight), sleep(20_000)]);
  const last = [...openHolds.keys()].map((id) => decide(id, !signal.aborted && rng.next() < 0.82).catch((err: unknown) => fail(`network: ${(err as Error).message}`)));
  await Promise.race([Promise.all(last), sleep(20_000)]);
  stats.seconds = (performance.now() - started) / 1000;
  return stats;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
