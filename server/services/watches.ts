import { audit } from '../adapters/db/audit.ts';
import { inTransaction, type Db } from '../adapters/db/db.ts';
import { corridorExists, type DepartureLoad } from '../adapters/db/departures-repo.ts';
import { currentUnitPrice, type ListingRow } from '../adapters/db/listings-repo.ts';
import { allClusters } from '../adapters/db/network-repo.ts';
import {
  activeWatchesOfOrg, candidateWatches, countActiveWatches, deleteWatchOfOrg, departureForWatches, factsOf, insertMatches, insertWatch,
  latestMatches, openHoldableListings, openListingsForWatch, type WatchMatchRow, type WatchRow,
} from '../adapters/db/watches-repo.ts';
import { kickOutbox } from '../adapters/db/outbox.ts';
import type { JobDataMap, Queues } from '../adapters/queue/jobs.ts';
import type { EventSink } from '../adapters/realtime/events.ts';
import { watchMatchEvent } from '../adapters/realtime/offer-events.ts';
import { notOpenYet } from '../core/capacity.ts';
import { crossedMax, matchesWatch, type Lot, type WatchCriteria } from '../core/watches.ts';
import { badRequest, conflict, notFound } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';
import { MAX_WATCHES_PER_ORG, type NewWatchBody, type Watch, type WatchCreated, type WatchMatch } from '../domain/schemas/watches.ts';
import { tellWebhooks } from './webhook-events.ts';

/** How many listings a new watch's "on sale now" looks at, at most. */
const ON_SALE_NOW_LIMIT = 500;

type Load = Pick<DepartureLoad, 'capacity_teu' | 'capacity_tonnes' | 'held_teu' | 'held_tonnes' | 'booked_teu' | 'booked_tonnes'>;

/** What a watch could take of a listing now: its remaining TEU within the departure's free capacity, at today's price. */
function lotOf(l: ListingRow, d: Load, now: Date): Lot | undefined {
  const price = currentUnitPrice(l, now);
  if (price === undefined) return undefined;
  return { teu: Math.min(l.remaining_teu, d.capacity_teu - d.held_teu - d.booked_teu), tonnes: d.capacity_tonnes - d.held_tonnes - d.booked_tonnes, unitPriceCents: price };
}

/** A `listing` match job that runs this much or less before its listing opens (by this host's clock) is retried. */
const EARLY_RETRY_MS = 60_000;

function toMatch(m: WatchMatchRow): WatchMatch {
  return {
    id: m.id, watchId: m.watch_id, departureId: m.departure_id, listingId: m.listing_id, freeTeu: m.free_teu, unitPriceCents: Number(m.unit_price_cents),
    trigger: m.trigger, at: new Date(m.created_at).toISOString(),
  };
}

function toWatch(w: WatchRow, matches: WatchMatchRow[]): Watch {
  return {
    id: w.id,
    ...(w.from_code ? { from: w.from_code } : {}),
    ...(w.to_code ? { to: w.to_code } : {}),
    ...(w.corridor_id ? { corridorId: w.corridor_id } : {}),
    ...(w.modes ? { modes: w.modes } : {}),
    ...(w.departs_after ? { departsAfter: w.departs_after.toISOString() } : {}),
    ...(w.departs_before ? { departsBefore: w.departs_before.toISOString() } : {}),
    minTeu: w.min_teu,
    ...(w.min_tonnes !== null ? { minTonnes: w.min_tonnes } : {}),
    ...(w.max_unit_price_cents !== null ? { maxUnitPriceCents: w.max_unit_price_cents } : {}),
    createdAt: w.created_at.toISOString(),
    matches: matches.map(toMatch),
  };
}

/**
 * Watches (issue 14, part 1): a forwarder's saved search, and telling it — live (`watch:match` to its organisation),
 * in its notification list (the watch's `matches`) and by webhook (`watch.matched`) — when capacity it can take
 * appears: a new listing, a falling price crossing its maximum, capacity back on the board. The `watches.match` job
 * decides (its inputs read afresh); each match is told once per change (unique key in Postgres).
 */
export class WatchesService {
  constructor(
    private readonly db: Db,
    private readonly events: EventSink,
    private readonly queues: Queues | null,
  ) {}

  /** POST /api/watches */
  async create(p: Principal, input: NewWatchBody, now = new Date()): Promise<WatchCreated> {
    policy.requireOrgKind(p, 'forwarder');
    const codes = new Set((await allClusters(this.db)).map((c) => c.code));
    for (const [name, code] of [['from', input.from], ['to', input.to]] as const) {
      if (code !== undefined && !codes.has(code)) throw badRequest('unknown_cluster', `${name}: ${code} is not a cluster of the network`);
    }
    if (input.from !== undefined && input.from === input.to) throw badRequest('same_cluster', 'from and to are the same cluster');
    if (input.corridorId !== undefined && !(await corridorExists(this.db, input.corridorId))) throw badRequest('unknown_corridor', 'no such corridor');
    if (input.departsAfter && input.departsBefore && Date.parse(input.departsBefore) < Date.parse(input.departsAfter)) {
      throw badRequest('invalid_window', 'departsBefore is before departsAfter');
    }
    if ((await countActiveWatches(this.db, p.orgId)) >= MAX_WATCHES_PER_ORG) {
      throw conflict('too_many_watches', `an organisation keeps at most ${MAX_WATCHES_PER_ORG} watches; delete one first`);
    }
    // what it matches on sale now, read before it is saved: a failure here saves nothing (a retry adds no second watch)
    const onSaleNow = await this.onSaleNow({
      id: '', orgId: p.orgId, from: input.from ?? null, to: input.to ?? null, corridorId: input.corridorId ?? null, modes: input.modes ?? null,
      departsAfter: input.departsAfter ? new Date(input.departsAfter) : null, departsBefore: input.departsBefore ? new Date(input.departsBefore) : null,
      minTeu: input.minTeu, minTonnes: input.minTonnes ?? null, maxUnitPriceCents: input.maxUnitPriceCents ?? null, createdAt: now,
    }, now);
    const row = await inTransaction(this.db, async (tx) => {
      const w = await insertWatch(tx, {
        org_id: p.orgId, created_by: p.userId, from_code: input.from ?? null, to_code: input.to ?? null, corridor_id: input.corridorId ?? null,
        modes: input.modes ?? null, departs_after: input.departsAfter ?? null, departs_before: input.departsBefore ?? null, min_teu: input.minTeu,
        min_tonnes: input.minTonnes ?? null, max_unit_price_cents: input.maxUnitPriceCents ?? null, created_at: now,
      });
      await audit(tx, p, 'watch.create', { type: 'watch', id: w.id });
      return w;
    });
    return { ...toWatch(row, []), onSaleNow };
  }

  /** What a watch matches among the listings on sale now (not told as matches: a watch tells of changes). */
  private async onSaleNow(w: WatchCriteria, now: Date): Promise<WatchCreated['onSaleNow']> {
    const found = (await openListingsForWatch(this.db, w, now, ON_SALE_NOW_LIMIT)).flatMap((l) => {
      const lot = lotOf(l, l, now);
      return lot && matchesWatch(w, factsOf(l), lot) ? [{ departureId: l.departure_id, lot }] : [];
    });
    return {
      listings: found.length,
      departures: new Set(found.map((f) => f.departureId)).size,
      teu: found.reduce((n, f) => n + f.lot.teu, 0),
      fromUnitPriceCents: found.length ? Math.min(...found.map((f) => f.lot.unitPriceCents)) : null,
    };
  }

  /** GET /api/watches — my organisation's watches with their latest matches (the notification list). */
  async list(p: Principal): Promise<Watch[]> {
    policy.requireOrgKind(p, 'forwarder');
    const watches = await activeWatchesOfOrg(this.db, p.orgId);
    const matches = await latestMatches(this.db, watches.map((w) => w.id));
    return watches.map((w) => toWatch(w, matches.filter((m) => m.watch_id === w.id)));
  }

  /** DELETE /api/watches/:id — no more matches or offers for it (an offer already open stays open). */
  async remove(p: Principal, id: string, now = new Date()): Promise<void> {
    policy.requireOrgKind(p, 'forwarder');
    const done = await inTransaction(this.db, async (tx) => {
      const r = await deleteWatchOfOrg(tx, id, p.orgId, now);
      if (r) await audit(tx, p, 'watch.delete', { type: 'watch', id });
      return r;
    });
    if (!done) throw notFound('watch');
  }

  /**
   * The `watches.match` job: which active watches can take what a departure's open fixed / falling listings offer
   * now (free TEU = the listing's remaining within the departure's free capacity), each told once per change: a new
   * listing (key `new`), a price step that crossed the watch's maximum (`price:<cents>`), capacity freed
   * (`seq:<departure seq>`). Returns how many matches were told.
   */
  async match(data: JobDataMap['watches.match'], now = new Date()): Promise<{ told: number }> {
    const d = await departureForWatches(this.db, data.departureId);
    if (!d || d.status !== 'scheduled' || d.cutoff_at <= now) return { told: 0 };
    const facts = factsOf(d);
    const all = (await openHoldableListings(this.db, d.id)).filter((l) => !data.listingId || l.id === data.listingId);
    // A listing not open yet sells nothing: it is matched when it opens, by its `listing` job, due at its opensAt on the
    // database's clock. Should this host's clock be behind, the job fails and BullMQ tries it again shortly (backoff).
    const early = data.trigger === 'listing' ? all.find((l) => notOpenYet(l.opens_at, now)) : undefined;
    if (early && early.opens_at!.getTime() - now.getTime() < EARLY_RETRY_MS) {
      throw new Error(`listing ${early.id} opens at ${early.opens_at!.toISOString()}, after this host's clock (${now.toISOString()}): retried`);
    }
    const listings = all.filter((l) => !notOpenYet(l.opens_at, now));
    const watches = await candidateWatches(this.db, facts);
    if (listings.length === 0 || watches.length === 0) return { told: 0 };
    const rows = listings.flatMap((l) => {
      const lot = lotOf(l, d, now);
      if (lot === undefined) return [];
      const price = lot.unitPriceCents;
      const previous = l.format === 'falling' ? currentUnitPrice(l, new Date(now.getTime() - (l.step_every_minutes ?? 60) * 60_000)) ?? price : price;
      const key = data.trigger === 'listing' ? 'new' : data.trigger === 'price' ? `price:${price}` : `seq:${Number(d.seq)}`;
      return watches
        .filter((w) => matchesWatch(w, facts, lot) && (data.trigger !== 'price' || crossedMax(w, previous, price)))
        .map((w) => ({
          watch_id: w.id, org_id: w.orgId, departure_id: d.id, listing_id: l.id, free_teu: lot.teu, unit_price_cents: price, trigger: data.trigger,
          dedupe_key: key, created_at: now,
        }));
    });
    if (rows.length === 0) return { told: 0 };
    const told = await inTransaction(this.db, async (tx) => {
      const inserted = await insertMatches(tx, rows);
      await tellWebhooks(tx, inserted.map((m) => ({
        orgId: m.org_id, type: 'watch.matched', objectKey: `watch:${m.watch_id}`,
        data: { watchId: m.watch_id, departureId: m.departure_id, listingId: m.listing_id, freeTeu: m.free_teu, unitPriceCents: Number(m.unit_price_cents), trigger: m.trigger },
      })));
      return inserted;
    });
    if (told.length) kickOutbox(this.db, this.queues);
    await this.events
      .emit(told.map((m) => watchMatchEvent(m.org_id, {
        watchId: m.watch_id, departureId: m.departure_id, listingId: m.listing_id, freeTeu: m.free_teu, unitPriceCents: Number(m.unit_price_cents), trigger: m.trigger,
      })))
      .catch(() => {});
    return { told: told.length };
  }
}
