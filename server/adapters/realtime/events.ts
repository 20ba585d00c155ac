import type { Booking } from '../../domain/schemas/trade.ts';
import type { DepartureLoad } from '../db/departures-repo.ts';
import type { Redis } from '../redis/redis.ts';

/** A live event bound for Socket.IO rooms. `coalesceKey` marks events where only the latest matters. */
export interface LiveEvent {
  rooms: string[];
  event: string;
  payload: unknown;
  /** Events with the same key carry the whole latest state: they are coalesced (last value wins), see LocalFanout. */
  coalesceKey?: string;
  /** For coalesced events: a newer state has a higher version (a departure's seq); older ones are dropped. */
  version?: number;
}

/** Where services send live events: servers and workers publish them to a Redis stream (see StreamRelay, LocalFanout). */
export interface EventSink {
  emit(events: LiveEvent[]): Promise<void>;
}

export const rooms = {
  corridor: (id: string) => `corridor:${id}`,
  departure: (id: string) => `departure:${id}`,
  listing: (id: string) => `listing:${id}`,
  org: (id: string) => `org:${id}`,
  session: (id: string) => `session:${id}`,
  apiKey: (id: string) => `apikey:${id}`,
  /** The network dashboard (schedulers, the platform): `stats:update` for every change. */
  networkDashboard: () => 'dashboard:network',
  /** One operator's dashboard: `stats:update` for changes on its own departures only. */
  operatorDashboard: (orgId: string) => `dashboard:operator:${orgId}`,
};

/** `departure:availability`: a departure's free TEU and tonnes after a change (a state: coalesced by its `seq`). */
export function availabilityEvent(d: DepartureLoad): LiveEvent {
  return {
    rooms: [rooms.departure(d.id), rooms.corridor(d.corridor_id)],
    event: 'departure:availability',
    payload: {
      departureId: d.id,
      seq: Number(d.seq),
      freeTeu: d.capacity_teu - d.held_teu - d.booked_teu,
      freeTonnes: d.capacity_tonnes - d.held_tonnes - d.booked_tonnes,
      // what makes up the load (public in GET /api/departures too): the departure page's booked / held / minimum follows
      heldTeu: d.held_teu,
      bookedTeu: d.booked_teu,
      /** When the server committed the change (epoch ms): lets clients and the benchmark measure push latency. */
      at: Date.now(),
    },
    coalesceKey: `avail:${d.id}`,
    version: Number(d.seq),
  };
}

type ListingState = { id: string; status: string; remaining_teu: number };

function listingUpdatePayload(l: ListingState, currentPriceCents?: number) {
  return { listingId: l.id, status: l.status, remainingTeu: l.remaining_teu, ...(currentPriceCents !== undefined ? { currentPriceCents } : {}) };
}

/** `listing:update` after a hold, release or cancellation moved its remaining TEU (a state: coalesced, newest wins). */
export function listingUpdateEvent(l: ListingState, currentPriceCents?: number): LiveEvent {
  return { rooms: [rooms.listing(l.id)], event: 'listing:update', payload: listingUpdatePayload(l, currentPriceCents), coalesceKey: `listing:${l.id}` };
}

/** `listing:update` for a price step or the listing's cancellation: never coalesced, each one is delivered. */
export function listingNoticeEvent(l: ListingState, currentPriceCents?: number): LiveEvent {
  return { rooms: [rooms.listing(l.id)], event: 'listing:update', payload: listingUpdatePayload(l, currentPriceCents) };
}

/** `hold:expired` to the holder's organisation: its hold expired or its listing was cancelled (`reason`). */
export function holdEndedEvent(h: { id: string; listing_id: string; org_id: string }, reason: 'expired' | 'cancelled'): LiveEvent {
  return { rooms: [rooms.org(h.org_id)], event: 'hold:expired', payload: { holdId: h.id, listingId: h.listing_id, reason } };
}

/** `booking:confirmed` to the buyer's and the operator's organisations. */
export function bookingConfirmedEvent(b: Booking, operatorOrgId: string): LiveEvent {
  return { rooms: [rooms.org(b.forwarderOrgId), rooms.org(operatorOrgId)], event: 'booking:confirmed', payload: b };
}

/** `webhook:disabled` to an organisation: one of its webhook endpoints kept failing and was disabled (issue 15). */
export function webhookDisabledEvent(orgId: string, payload: { webhookId: string; url: string; consecutiveFailures: number }): LiveEvent {
  return { rooms: [rooms.org(orgId)], event: 'webhook:disabled', payload };
}

/** Stream every process writes its live events to; every server reads all of it and delivers to its own sockets. */
export const eventStreamKey = (prefix: string) => `${prefix}{live}:events`;

/** Appends live events to the capped Redis stream that every server reads. */
export class StreamEventSink implements EventSink {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}
  async emit(events: LiveEvent[]): Promise<void> {
    if (events.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const e of events) {
      // `k` / `v`: the coalescing key and version beside the JSON, so a reader that is behind can skip
      // superseded states without parsing them. The stream is only a transport (readers start at its end): kept short.
      const key = e.coalesceKey ? ['k', e.coalesceKey, ...(e.version !== undefined ? ['v', String(e.version)] : [])] : [];
      pipe.xadd(eventStreamKey(this.prefix), 'MAXLEN', '~', '20000', '*', ...key, 'e', JSON.stringify(e));
    }
    await pipe.exec();
  }
}
