// The checks of issues 14 and 15 after a chaos run: cascade re-offers (never two offerees of one lot at once,
// never the same organisation twice, no accept after expiry, every chain ended), bid groups (never two
// winners, no withdrawn bid in a clearing) and webhooks (every acknowledged booking confirmation of the
// webhook forwarder delivered, signed, under one event id; no event for a booking that does not exist).
import { sql } from 'kysely';
import type { Db } from '../../server/adapters/db/db.ts';
import { sleep } from '../../scripts/lib/procs.mjs';
import { WEBHOOK_FORWARDER, type ExtrasLog } from './extras.ts';
import type { AckLog } from './load.ts';
import { validSignature, type WebhookReceiver } from './receiver.ts';

type Add = (check: string, checked: number, bad: string[]) => void;

/** An open offer is stuck once it is this far past its expiry (the sweep runs every 5 s). */
const OFFER_GRACE = '10 seconds';

export async function checkOffers(db: Db, x: ExtrasLog, add: Add) {
  const nOffers = (await db.selectFrom('offers').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
  const double = await sql<{ why: string }>`
    select 'chain ' || chain_id || ': ' || count(*) || ' open offers' as why from offers where status = 'open' group by chain_id having count(*) > 1
    union all
    select 'chain ' || a.chain_id || ': round ' || b.round || ' offered before round ' || a.round || ' ended'
      from offers a join offers b on b.chain_id = a.chain_id and b.round > a.round
     where a.ended_at is null or b.created_at < a.ended_at
    union all
    select 'chain ' || chain_id || ': offered ' || count(*) || ' times to org ' || org_id from offers group by chain_id, org_id having count(*) > 1
    union all
    select 'chain ' || c.id || ': offered to the organisation that freed it' from offer_chains c join offers o on o.chain_id = c.id where o.org_id = c.freed_by_org_id`.execute(db);
  add('double offers (one lot offered to two organisations at once, or twice to one)', nOffers, double.rows.map((r) => r.why));

  const late = await sql<{ id: string; hold_id: string | null; ended_at: Date | null; expires_at: Date; status: string }>`
    select id, hold_id, ended_at, expires_at, status from offers
     where (status = 'accepted' and (ended_at is null or ended_at > expires_at))
        or id in (${sql.join(x.accepted.length ? x.accepted.map((a) => a.offerId) : ['00000000-0000-0000-0000-000000000000'])})`.execute(db);
  const acked = new Map(x.accepted.map((a) => [a.offerId, a.holdId]));
  const bad: string[] = [];
  for (const o of late.rows) {
    if (o.status === 'accepted' && (!o.ended_at || o.ended_at > o.expires_at)) bad.push(`offer ${o.id}: accepted at ${o.ended_at?.toISOString()}, expired at ${o.expires_at.toISOString()}`);
    else if (acked.has(o.id) && (o.status !== 'accepted' || o.hold_id !== acked.get(o.id))) bad.push(`offer ${o.id}: accept acknowledged, but ${o.status} with hold ${o.hold_id}`);
  }
  for (const [id] of acked) if (!late.rows.some((r) => r.id === id)) bad.push(`offer ${id}: accept acknowledged, offer missing`);
  add('offers accepted after they expired (+ acknowledged accepts not in Postgres)', nOffers, bad);

  const unended = await sql<{ why: string }>`
    select 'offer ' || id || ': open, expired at ' || expires_at as why from offers where status = 'open' and expires_at < now() - ${OFFER_GRACE}::interval
    union all
    select 'chain ' || c.id || ': offering without an open offer' from offer_chains c
     where c.status = 'offering' and not exists (select 1 from offers o where o.chain_id = c.id and o.status = 'open')
    union all
    select 'chain ' || c.id || ': ' || c.status || ' with ' || (select count(*) from offers o where o.chain_id = c.id and o.status = 'accepted') || ' accepted offers'
      from offer_chains c
     where (c.status = 'accepted') <> ((select count(*) from offers o where o.chain_id = c.id and o.status = 'accepted') = 1)
        or (select count(*) from offers o where o.chain_id = c.id and o.status = 'accepted') > 1`.execute(db);
  const nChains = (await db.selectFrom('offer_chains').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
  add(`offer chains not ended once (an open offer ${OFFER_GRACE} past its expiry, or a chain without one outcome)`, nChains, unended.rows.map((r) => r.why));
}

export async function checkGroups(db: Db, x: ExtrasLog, add: Add) {
  const nGroups = (await db.selectFrom('bid_groups').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
  const bad = await sql<{ why: string }>`
    select 'group ' || g.id || ': ' || count(*) || ' winning bids' as why from bid_groups g join bids b on b.bid_group_id = g.id
     where b.status = 'won' group by g.id having count(*) > 1
    union all
    select 'group ' || g.id || ': ' || g.status || ', won bid ' || coalesce(g.won_bid_id::text, '-') || ' is ' || coalesce(w.status, 'missing')
      from bid_groups g left join bids w on w.id = g.won_bid_id
     where (g.status = 'won') <> (w.status is not distinct from 'won')
        or (g.status <> 'won' and exists (select 1 from bids b where b.bid_group_id = g.id and b.status = 'won'))
    union all
    select 'group ' || g.id || ': won, sibling bid ' || b.id || ' is ' || b.status from bid_groups g join bids b on b.bid_group_id = g.id
     where g.status = 'won' and b.id <> g.won_bid_id and b.status not in ('withdrawn', 'lost')
    union all
    select 'group ' || g.id || ': still ' || g.status || ' after its auctions closed' from bid_groups g
     where g.status = 'open' and not exists (select 1 from bids b join listings l on l.id = b.listing_id where b.bid_group_id = g.id and l.status = 'open')`.execute(db);
  const ids = x.groups.map((g) => g.id);
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 1000) {
    const part = ids.slice(i, i + 1000);
    if (part.length) for (const r of await db.selectFrom('bid_groups').select('id').where('id', 'in', part).execute()) found.add(r.id);
  }
  const lost = ids.filter((id) => !found.has(id)).map((id) => `group ${id}: acknowledged, missing in Postgres`);
  add('bid groups with two winners (or a won bid whose siblings are not withdrawn / lost, or undecided)', nGroups, [...bad.rows.map((r) => r.why), ...lost]);

  const counted = await sql<{ why: string }>`
    select 'bid ' || b.id || ': withdrawn but awarded ' || b.awarded_teu || ' TEU' as why from bids b where b.status = 'withdrawn' and coalesce(b.awarded_teu, 0) > 0
    union all
    select 'bid ' || b.id || ': withdrawn but booked (' || k.id || ')' from bids b join bookings k on k.bid_id = b.id where b.status = 'withdrawn'`.execute(db);
  const nWithdrawn = (await db.selectFrom('bids').select(sql<number>`count(*)::int`.as('n')).where('status', '=', 'withdrawn').executeTakeFirstOrThrow()).n;
  add('withdrawn bids counted in a clearing (awarded TEU or booked)', nWithdrawn, counted.rows.map((r) => r.why));
}

interface Event {
  id: string;
  bookingId: string;
}
const eventsOf = (rx: WebhookReceiver, type: string) =>
  rx.got.flatMap((d) => {
    if (d.type !== type || d.status !== 200) return [];
    try {
      const b = JSON.parse(d.body) as { id: string; data: { id: string } };
      return [{ id: b.id, bookingId: b.data.id } satisfies Event];
    } catch {
      return [];
    }
  });

/** Waits (at most ~30 s) until every acknowledged booking of the webhook forwarder was delivered; returns how long. */
export async function waitForWebhooks(rx: WebhookReceiver, ack: AckLog, log: (m: string) => void) {
  const t0 = Date.now();
  const want = ack.bookings.filter((b) => b.fi === WEBHOOK_FORWARDER).map((b) => b.id);
  let missing = want.length;
  for (let i = 0; i < 150; i++) {
    const got = new Set(eventsOf(rx, 'booking.confirmed').map((e) => e.bookingId));
    missing = want.filter((id) => !got.has(id)).length;
    if (missing === 0) break;
    await sleep(200);
  }
  log(`webhooks: ${rx.got.length} deliveries received, ${missing} of ${want.length} confirmations missing after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return Date.now() - t0;
}

export async function checkWebhooks(db: Db, rx: WebhookReceiver, x: ExtrasLog, ack: AckLog, orgId: string, add: Add) {
  const secret = x.webhook?.secret ?? '';
  const confirmed = eventsOf(rx, 'booking.confirmed');
  const mine = ack.bookings.filter((b) => b.fi === WEBHOOK_FORWARDER);
  const bad: string[] = [];
  for (const b of mine) {
    const ids = new Set(confirmed.filter((e) => e.bookingId === b.id).map((e) => e.id));
    if (ids.size === 0) bad.push(`booking ${b.id}: no booking.confirmed delivered`);
    else if (ids.size > 1) bad.push(`booking ${b.id}: booking.confirmed under ${ids.size} event ids`);
  }
  for (const d of rx.got) {
    if (!validSignature(secret, d.signature, d.body)) bad.push(`event ${d.eventId} (${d.type}): bad signature`);
    else if (!d.body.includes(`"id":"${d.eventId}"`)) bad.push(`event ${d.eventId}: cx-event-id differs from the body's id`);
  }
  add(`acknowledged bookings of forwarder ${WEBHOOK_FORWARDER} without their booking.confirmed webhook (signed, one event id)`, mine.length, bad);

  const all = [...confirmed, ...eventsOf(rx, 'booking.cancelled')];
  const bookingIds = [...new Set(all.map((e) => e.bookingId))];
  const rows = new Map<string, string>();
  for (let i = 0; i < bookingIds.length; i += 1000) {
    const part = bookingIds.slice(i, i + 1000);
    if (part.length) for (const r of await db.selectFrom('bookings').select(['id', 'forwarder_org_id']).where('id', 'in', part).execute()) rows.set(r.id, r.forwarder_org_id);
  }
  const ghost = bookingIds.filter((id) => rows.get(id) !== orgId).map((id) => `booking ${id}: ${rows.has(id) ? "another organisation's" : 'does not exist'}`);
  add('webhook events for a booking that does not exist (or is not the receiver\'s)', new Set(all.map((e) => e.id)).size, ghost);
}
