// The chaos load of issues 14 and 15: watches on the run's corridors and the offers they get (accepted,
// declined or left to time out), bid groups over the run's auctions, and one forwarder's webhook endpoint
// pointing at the run's receiver. Called from load.ts's forwarders; checked in checks-extra.ts.
import type { Rng } from '../../server/core/rng.ts';
import { call, type Who } from './client.ts';
import type { Load, Market } from './load.ts';

/** Forwarders 1..WATCHERS keep watches (forwarder 0 owns the webhook endpoint). */
const WATCHERS = 4;
/** The forwarder whose bookings the webhook check follows. */
export const WEBHOOK_FORWARDER = 0;

/** What the clients were told about offers and bid groups, and the webhook endpoint. */
export interface ExtrasLog {
  watches: number;
  webhook: { id: string; secret: string } | null;
  /** Offers accepted with a 201: the offer and the hold it became. */
  accepted: { offerId: string; holdId: string }[];
  declined: string[];
  offersSeen: Set<string>;
  acceptExpired: number;
  acceptRefused: number;
  groups: { id: string; bidIds: string[] }[];
  groupRefused: number;
}

export class Extras {
  readonly log: ExtrasLog = { watches: 0, webhook: null, accepted: [], declined: [], offersSeen: new Set(), acceptExpired: 0, acceptRefused: 0, groups: [], groupRefused: 0 };

  constructor(
    private readonly load: Load,
    private readonly market: Market,
  ) {}

  isWatcher(fi: number) {
    return fi >= 1 && fi <= WATCHERS;
  }

  /** A watcher looks at its open offers and accepts (40 %), declines (30 %) or ignores (times out) each. */
  async offers(r: Rng, who: Who, fi: number, step: number, myBookings: string[]) {
    const a = await this.load.req(r, 'GET', '/api/offers', who);
    if (a?.status !== 200 || !Array.isArray(a.json)) return;
    for (const o of a.json as { id: string; listingId: string; teu: number; tonnes: number }[]) {
      const first = !this.log.offersSeen.has(o.id);
      this.log.offersSeen.add(o.id);
      if (!first) continue; // an ignored offer stays ignored: it times out
      const y = r.next();
      if (y < 0.4) {
        const c = await this.load.req(r, 'POST', `/api/offers/${o.id}/accept`, who, {});
        if (c?.status === 201) {
          const holdId = (c.json as { id: string }).id;
          this.log.accepted.push({ offerId: o.id, holdId });
          this.load.ack.holds.push({ id: holdId, teu: o.teu, tonnes: o.tonnes, listingId: o.listingId });
          if (r.next() < 0.6) await this.load.confirm(r, who, fi, holdId, o.teu, { reference: `chaos-offer-${fi}-${step}` }, myBookings);
        } else if (c?.status === 409 && (c.json as { error?: { code?: string } } | null)?.error?.code === 'offer_expired') this.log.acceptExpired++;
        else if (c?.status === 409) this.log.acceptRefused++;
      } else if (y < 0.7) {
        const d = await this.load.req(r, 'POST', `/api/offers/${o.id}/decline`, who);
        if (d?.status === 204) this.log.declined.push(o.id);
      }
    }
  }

  /** Either-or bids on 2–3 of the open auctions (at each ascending one's minimum next bid or a little above). */
  async bidGroup(r: Rng, who: Who, open: Market['auctions']) {
    const pool = [...open];
    const n = Math.min(pool.length, r.int(2, 3));
    const bids: { listingId: string; teu: number; unitPriceCents: number; allOrNothing: boolean }[] = [];
    for (let i = 0; i < n; i++) {
      const auc = pool.splice(r.int(0, pool.length - 1), 1)[0]!;
      let price = 20_000 + r.int(0, 40) * 500;
      if (auc.format === 'ascending') {
        const l = await this.load.req(r, 'GET', `/api/listings/${auc.listingId}`, who);
        const min = l?.status === 200 ? (l.json as { minNextBidCents?: number } | null)?.minNextBidCents : undefined;
        if (typeof min === 'number') price = min + r.int(0, 3) * 500;
      }
      bids.push({ listingId: auc.listingId, teu: r.int(1, 4), unitPriceCents: price, allOrNothing: r.next() < 0.2 });
    }
    const a = await this.load.req(r, 'POST', '/api/bid-groups', who, { bids });
    if (a?.status === 201) {
      const g = a.json as { id: string; bids: { id: string; listingId: string }[] };
      this.log.groups.push({ id: g.id, bidIds: g.bids.map((b) => b.id) });
      for (const b of g.bids) this.load.ack.bids.push({ id: b.id, listingId: b.listingId });
    } else if (a?.status === 409) this.log.groupRefused++;
  }
}

/** Before the load: the watchers' watches on the run's corridors, and forwarder 0's webhook endpoint at `receiverUrl`. */
export async function setUpExtras(urls: string[], fwds: Who[], receiverUrl: string, market: Market): Promise<Pick<ExtrasLog, 'watches' | 'webhook'>> {
  const corridors = [...new Set(market.departures.map((d) => d.corridorId))];
  let watches = 0;
  for (let fi = 1; fi <= WATCHERS && fi < fwds.length; fi++) {
    for (const corridorId of corridors) {
      const r = await call(urls[fi % 2]!, 'POST', '/api/watches', fwds[fi]!, { corridorId, minTeu: 1 });
      if (r?.status !== 201) throw new Error(`watch: ${r?.status} ${JSON.stringify(r?.json)}`);
      watches++;
    }
  }
  const w = await call(urls[0]!, 'POST', '/api/webhooks', fwds[WEBHOOK_FORWARDER]!, {
    url: receiverUrl, events: ['booking.confirmed', 'booking.cancelled'], description: 'chaos receiver',
  });
  if (w?.status !== 201) throw new Error(`webhook: ${w?.status} ${JSON.stringify(w?.json)}`);
  return { watches, webhook: w.json as { id: string; secret: string } };
}
