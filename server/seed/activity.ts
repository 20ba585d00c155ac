import type { Db } from '../adapters/db/db.ts';
import { bookingCountOfOrgs, departuresWithFixedListing } from '../adapters/db/activity-repo.ts';
import { userForSignIn } from '../adapters/db/users-repo.ts';
import { AppError } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import type { AuctionsService } from '../services/auctions.ts';
import type { BookingsService } from '../services/bookings.ts';
import type { HoldsService } from '../services/holds.ts';
import type { ListingsService } from '../services/listings.ts';
import { demoUsers, forwarders } from './network.ts';
import type { Progress } from './seed.ts';
import { prng } from '../core/rng.ts';

/** What the activity step needs of a context (server/context.ts builds it; the seed may not import it). */
export interface ActivityContext {
  db: Db;
  services: { holds: HoldsService; bookings: BookingsService; listings: ListingsService; auctions: AuctionsService };
}

export interface ActivitySummary {
  /** True when demo bookings already existed: nothing was done (the step runs once). */
  skipped: boolean;
  departures: number;
  departuresLoaded: number;
  averageLoadPct: number;
  extraListings: number;
  bookings: number;
  bookedTeu: number;
  activeHolds: number;
  ascendingAuctions: number;
  sealedAuctions: number;
  bids: number;
  fallingListings: number;
  refused: number;
}

export interface ActivityOptions {
  /** Departures whose cut-off lies within this many days (default 14, the demo window). */
  days?: number;
  /** PRNG seed: the same seed on the same network gives the same activity. */
  seed?: number;
  /** Departures worked on at once (holds of different departures share the group commit). */
  concurrency?: number;
}

type Dep = Awaited<ReturnType<typeof departuresWithFixedListing>>[number];
type Role = 'normal' | 'light' | 'ascending' | 'sealed' | 'falling';

interface Plan {
  dep: Dep;
  role: Role;
  /** Extra fixed TEU the operator releases to the market before the bookings. */
  extraTeu: number;
  bookings: { forwarder: number; teu: number; tonnes: number }[];
  /** An auction or falling listing of the departure (created before the bookings). */
  special?: { teu: number; closesAt?: Date; bids: { forwarder: number; teu: number; raise: number }[] };
  /** An active hold left open at the end. */
  hold?: { forwarder: number; teu: number; tonnes: number };
}

const HOUR = 3_600_000;

/** The principal of a demo user, built as a sign-in builds it (no session: the seed acts in-process). */
async function principalOf(db: Db, email: string): Promise<Principal> {
  const row = await userForSignIn(db, email);
  if (!row) throw new Error(`demo user ${email} not found: seed the demo network first`);
  return {
    kind: 'session', userId: row.id, email: row.email, name: row.name, orgId: row.org_id, orgName: row.org_name, orgKind: row.org_kind, role: row.role,
  };
}

/** Runs `fn` over `items`, `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Makes the demo network alive, through the services (the same rules, audit, outbox and settlement jobs as
 * the API): on most upcoming departures the operator releases more capacity and the four demo forwarders
 * hold and confirm bookings until the departure is 40–90 % booked (a few stay light: at risk); a few
 * ascending and sealed auctions run with bids, closing in hours to days; a couple of falling listings tick
 * down; a few holds stay active (they expire like any other). Holds are confirmed at once, so no forwarder
 * ever holds more than its share (HOLD_MAX_SHARE_PCT). Deterministic for a seed; runs once: it does nothing
 * when the demo forwarders already have bookings.
 */
export async function seedActivity(ctx: ActivityContext, now = new Date(), progress: Progress = () => {}, opts: ActivityOptions = {}): Promise<ActivitySummary> {
  const { db, services } = ctx;
  const days = opts.days ?? 14;
  const rng = prng(opts.seed ?? 20_261_203);
  const summary: ActivitySummary = {
    skipped: false, departures: 0, departuresLoaded: 0, averageLoadPct: 0, extraListings: 0, bookings: 0, bookedTeu: 0, activeHolds: 0,
    ascendingAuctions: 0, sealedAuctions: 0, bids: 0, fallingListings: 0, refused: 0,
  };

  const forwarderUsers = demoUsers.filter((u) => forwarders.some((f) => f.slug === u.orgSlug));
  const fwd = await Promise.all(forwarderUsers.map((u) => principalOf(db, u.email)));
  const operatorUsers = demoUsers.filter((u) => u.email.startsWith('operator'));
  const ops = new Map((await Promise.all(operatorUsers.map((u) => principalOf(db, u.email)))).map((p) => [p.orgId, p]));
  if ((await bookingCountOfOrgs(db, fwd.map((p) => p.orgId))) > 0) return { ...summary, skipped: true };

  // Departures still selling for at least an hour, within the demo window.
  const deps = await departuresWithFixedListing(db, new Date(now.getTime() + HOUR), new Date(now.getTime() + days * 24 * HOUR));
  summary.departures = deps.length;

  // 1. The plan, from the PRNG in departure order (deterministic, whatever order the pool runs it in).
  const auctionable = deps.filter((d) => d.cutoff_at.getTime() - now.getTime() > 8 * HOUR && ops.has(d.operator_org_id));
  const specials = new Map<string, Role>();
  const roles: Role[] = ['ascending', 'sealed', 'falling', 'ascending', 'sealed', 'falling', 'ascending', 'sealed'];
  for (let i = 0; i < roles.length && auctionable.length > 0; i++) {
    // spread over the window: the k-th special sits at ~k/roles of the auctionable departures
    const at = Math.min(auctionable.length - 1, Math.floor(((i + 0.5) / roles.length) * auctionable.length));
    const d = auctionable.find((x, j) => j >= at && !specials.has(x.id));
    if (d) specials.set(d.id, roles[i]!);
  }
  const plans: Plan[] = deps.map((dep) => {
    const role: Role = specials.get(dep.id) ?? (rng.next() < 0.12 ? 'light' : 'normal');
    const cap = dep.capacity_teu;
    const frac = role === 'light' ? 0.1 + rng.next() * 0.2 : role === 'normal' ? 0.45 + rng.next() * 0.42 : 0.42 + rng.next() * 0.23;
    const have = dep.booked_teu + dep.held_teu;
    const want = Math.max(0, Math.round(frac * cap) - have);
    const tonnesPerTeu = Math.max(1, Math.floor((0.8 * dep.capacity_tonnes) / cap));
    const bookings: Plan['bookings'] = [];
    for (let sum = 0; sum < want; ) {
      const teu = Math.min(want - sum, rng.int(2, Math.max(4, Math.round(cap / 8))));
      bookings.push({ forwarder: rng.int(0, fwd.length - 1), teu, tonnes: teu * rng.int(Math.ceil(tonnesPerTeu / 2), tonnesPerTeu) });
      sum += teu;
    }
    const plan: Plan = { dep, role, extraTeu: 0, bookings };
    const ops0 = ops.has(dep.operator_org_id);
    let special = 0;
    if (role === 'ascending' || role === 'sealed' || role === 'falling') {
      special = rng.int(6, 12);
      const untilCutoff = dep.cutoff_at.getTime() - now.getTime() - 30 * 60_000;
      const closesAt = new Date(now.getTime() + Math.min(untilCutoff, rng.int(3, 72) * HOUR));
      const bidders = [0, 1, 2, 3].sort(() => rng.next() - 0.5).slice(0, rng.int(2, 4));
      plan.special = {
        teu: special,
        ...(role === 'falling' ? {} : { closesAt }),
        bids: role === 'falling' ? [] : bidders.map((forwarder) => ({ forwarder, teu: rng.int(2, special), raise: rng.int(1, 4) })),
      };
    }
    if (rng.next() < 0.04) {
      const teu = rng.int(1, 3);
      plan.hold = { forwarder: rng.int(0, fwd.length - 1), teu, tonnes: teu * tonnesPerTeu };
    }
    // The operator releases what the bookings and a little spare need beyond the fixed listing; never more
    // than the departure has unpromised.
    const needed = want + (plan.hold?.teu ?? 0) + rng.int(2, 5);
    const unpromised = cap - have - dep.remaining_teu - special;
    plan.extraTeu = ops0 ? Math.max(0, Math.min(unpromised, needed - dep.remaining_teu)) : 0;
    return plan;
  });

  // 2. Carry it out through the services.
  let done = 0;
  const total = plans.length;
  progress('activity', 0, total);
  const refused = (err: unknown) => {
    if (!(err instanceof AppError)) throw err; // a refusal (sold out, cut-off passed) is skipped; anything else stops the step
    summary.refused++;
  };
  await pool(plans, opts.concurrency ?? 8, async (plan) => {
    const { dep } = plan;
    const op = ops.get(dep.operator_org_id);
    const listings: { id: string; remaining: number }[] = [{ id: dep.listing_id, remaining: dep.remaining_teu }];
    const price = dep.unit_price_cents ?? 50_000;
    if (op && plan.extraTeu > 0) {
      try {
        const l = await services.listings.createListing(op, { departureId: dep.id, format: 'fixed', teu: plan.extraTeu, unitPriceCents: price }, now);
        listings.push({ id: l.id, remaining: plan.extraTeu });
        summary.extraListings++;
      } catch (err) {
        refused(err);
      }
    }
    if (op && plan.special) await special(plan, op, price);
    for (const b of plan.bookings) {
      const l = listings.find((x) => x.remaining >= b.teu);
      if (!l) break;
      try {
        const h = await services.holds.create(fwd[b.forwarder]!, { listingId: l.id, teu: b.teu, tonnes: b.tonnes }, undefined, now);
        l.remaining -= b.teu;
        await services.bookings.confirm(fwd[b.forwarder]!, h.id, { reference: `DEMO-${dep.id.slice(0, 6).toUpperCase()}-${summary.bookings + 1}` }, undefined, now);
        summary.bookings++;
        summary.bookedTeu += b.teu;
      } catch (err) {
        refused(err);
      }
    }
    const loadTeu = dep.booked_teu + dep.held_teu + plan.bookings.reduce((s, b) => s + b.teu, 0);
    if (plan.bookings.length > 0 && loadTeu >= 0.4 * dep.capacity_teu) summary.departuresLoaded++;
    if (plan.hold) {
      const l = listings.find((x) => x.remaining >= plan.hold!.teu);
      if (l) {
        try {
          await services.holds.create(fwd[plan.hold.forwarder]!, { listingId: l.id, teu: plan.hold.teu, tonnes: plan.hold.tonnes }, undefined, new Date());
          l.remaining -= plan.hold.teu;
          summary.activeHolds++;
        } catch (err) {
          refused(err);
        }
      }
    }
    progress('activity', ++done, total);
  });
  const loads = plans.map((p) => (p.dep.booked_teu + p.dep.held_teu + p.bookings.reduce((s, b) => s + b.teu, 0)) / p.dep.capacity_teu);
  summary.averageLoadPct = loads.length ? Math.round((100 * loads.reduce((a, b) => a + b, 0)) / loads.length) : 0;
  return summary;

  /** An auction with its bids, or a falling listing, on `plan`'s departure. */
  async function special(plan: Plan, op: Principal, price: number) {
    const s = plan.special!;
    const dep = plan.dep;
    try {
      if (plan.role === 'falling') {
        const floor = Math.round((price * 0.7) / 100) * 100;
        await services.listings.createListing(
          op,
          { departureId: dep.id, format: 'falling', teu: s.teu, unitPriceCents: Math.round((price * 1.15) / 100) * 100, floorPriceCents: floor, stepEveryMinutes: 60 },
          now,
        );
        summary.fallingListings++;
        return;
      }
      const reserve = Math.round((price * 0.8) / 100) * 100;
      const increment = 500;
      const l = await services.listings.createListing(
        op,
        { departureId: dep.id, format: plan.role as 'ascending' | 'sealed', teu: s.teu, reservePriceCents: reserve, minIncrementCents: increment, closesAt: s.closesAt!.toISOString() },
        now,
      );
      if (plan.role === 'ascending') summary.ascendingAuctions++;
      else summary.sealedAuctions++;
      let floor = reserve;
      for (const b of s.bids) {
        const unitPriceCents = plan.role === 'ascending' ? floor + b.raise * increment : reserve + b.raise * 2_500;
        try {
          const a = await services.auctions.placeBid(fwd[b.forwarder]!, l.id, { teu: Math.min(b.teu, s.teu), unitPriceCents });
          floor = Math.max(floor, a.minNextBidCents ?? unitPriceCents);
          summary.bids++;
        } catch (err) {
          refused(err);
        }
      }
    } catch (err) {
      refused(err);
    }
  }
}
