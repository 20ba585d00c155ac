import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Hardening (issue 9), decided in the database transaction:
//
// 1. cx_place_holds_multi(p_batches, p_now, p_ttl_ms, p_max_share_pct) replaces the two-argument version
//    (same p_batches items, same result shape, plus `expiresAt` in each accepted result):
//    - a hold expires at the database clock (clock_timestamp(), read once per departure after its row lock)
//      + the TTL: p_ttl_ms when given, else the item's `ttlMs`, else (callers not yet passing a TTL) the
//      item's `expiresAt` − p_now. The expiry passed by the application is never stored as such.
//    - each item needs tonnes ≥ teu (1 t per TEU), else `invalid_quantity`;
//    - one organisation's active holds on a departure stay within greatest(1, floor(capacity × pct / 100))
//      TEU (p_max_share_pct, 100 = no cap), else `hold_share_exceeded`.
//    The two trailing arguments have defaults, so `cx_place_holds_multi(batches, now)` still resolves.
// 2. listings_promise_guard: a deferred constraint trigger on every new listing — at commit, the departure's
//    booked + held TEU + what its open listings still offer must not exceed its capacity (invariant 8).
//    (Holds move TEU from a listing's remaining to held, confirmations from held to booked, releases back:
//    none of these can raise that sum, so only a new listing is checked.)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function cx_place_holds_v2(p_departure uuid, p_items jsonb, p_now timestamptz, p_ttl_ms bigint, p_max_share_pct int)
    returns jsonb language plpgsql as $$
    declare
      d record;
      it jsonb;
      l record;
      v_teu int;
      v_tonnes int;
      v_org uuid;
      v_hold uuid;
      v_clock timestamptz;
      v_expires timestamptz;
      v_cap int;
      v_org_held int;
      add_teu int := 0;
      add_tonnes int := 0;
      results jsonb := '[]'::jsonb;
    begin
      select * into d from departures where id = p_departure for update;
      if not found then
        return jsonb_build_object('results', (select jsonb_agg(jsonb_build_object('status', 'listing_closed')) from jsonb_array_elements(p_items)));
      end if;
      v_clock := clock_timestamp();
      v_cap := case when p_max_share_pct >= 100 then d.capacity_teu
                    else greatest(1, floor(d.capacity_teu * p_max_share_pct / 100.0)::int) end;
      for it in select value from jsonb_array_elements(p_items) loop
        v_teu := (it->>'teu')::int;
        v_tonnes := (it->>'tonnes')::int;
        v_org := (it->>'orgId')::uuid;
        if v_teu is null or v_teu < 1 or v_tonnes is null or v_tonnes < v_teu then
          results := results || jsonb_build_array(jsonb_build_object('status', 'invalid_quantity'));
          continue;
        end if;
        if d.status <> 'scheduled' then
          results := results || jsonb_build_array(jsonb_build_object('status', 'listing_closed'));
          continue;
        end if;
        if d.cutoff_at <= p_now then
          results := results || jsonb_build_array(jsonb_build_object('status', 'past_cutoff'));
          continue;
        end if;
        if d.held_teu + d.booked_teu + add_teu + v_teu > d.capacity_teu
           or d.held_tonnes + d.booked_tonnes + add_tonnes + v_tonnes > d.capacity_tonnes then
          results := results || jsonb_build_array(jsonb_build_object('status', 'insufficient_capacity'));
          continue;
        end if;
        -- this organisation's active holds on the departure, including the ones placed earlier in this batch
        select coalesce(sum(teu), 0)::int into v_org_held from holds
          where departure_id = p_departure and org_id = v_org and status = 'active';
        if v_org_held + v_teu > v_cap then
          results := results || jsonb_build_array(jsonb_build_object('status', 'hold_share_exceeded', 'capTeu', v_cap, 'heldTeu', v_org_held));
          continue;
        end if;
        update listings set remaining_teu = remaining_teu - v_teu, updated_at = p_now
          where id = (it->>'listingId')::uuid and departure_id = p_departure and status = 'open'
            and format in ('fixed', 'falling') and remaining_teu >= v_teu
          returning id, remaining_teu into l;
        if not found then
          results := results || jsonb_build_array(jsonb_build_object('status',
            case when exists (select 1 from listings where id = (it->>'listingId')::uuid and status = 'open')
                 then 'insufficient_capacity' else 'listing_closed' end));
          continue;
        end if;
        v_expires := v_clock + make_interval(secs => coalesce(
          p_ttl_ms, (it->>'ttlMs')::bigint,
          (extract(epoch from ((it->>'expiresAt')::timestamptz - p_now)) * 1000)::bigint, 600000) / 1000.0);
        insert into holds (listing_id, departure_id, org_id, user_id, teu, tonnes, unit_price_cents, expires_at, created_at)
          values (l.id, p_departure, v_org, nullif(it->>'userId', '')::uuid, v_teu, v_tonnes,
                  (it->>'unitPriceCents')::bigint, v_expires, p_now)
          returning id into v_hold;
        insert into audit_log (at, actor_user_id, actor_org_id, api_key_id, action, entity_type, entity_id, data)
          values (p_now, nullif(it->>'userId', '')::uuid, v_org, nullif(it->>'apiKeyId', '')::uuid,
                  'hold.create', 'hold', v_hold::text,
                  jsonb_build_object('listingId', l.id, 'teu', v_teu, 'tonnes', v_tonnes));
        add_teu := add_teu + v_teu;
        add_tonnes := add_tonnes + v_tonnes;
        results := results || jsonb_build_array(jsonb_build_object('status', 'ok', 'id', v_hold, 'listingId', l.id,
          'listingRemaining', l.remaining_teu, 'expiresAt', v_expires));
      end loop;
      if add_teu > 0 or add_tonnes > 0 then
        update departures set held_teu = held_teu + add_teu, held_tonnes = held_tonnes + add_tonnes, seq = seq + 1, updated_at = p_now
          where id = p_departure
          returning * into d;
      end if;
      return jsonb_build_object(
        'results', results,
        'departure', jsonb_build_object('id', d.id, 'corridor_id', d.corridor_id, 'operator_org_id', d.operator_org_id, 'seq', d.seq,
          'capacity_teu', d.capacity_teu, 'capacity_tonnes', d.capacity_tonnes, 'held_teu', d.held_teu, 'held_tonnes', d.held_tonnes,
          'booked_teu', d.booked_teu, 'booked_tonnes', d.booked_tonnes),
        'changed', add_teu > 0 or add_tonnes > 0);
    end $$`.execute(db);

  await sql`drop function if exists cx_place_holds_multi(jsonb, timestamptz)`.execute(db);
  await sql`
    create or replace function cx_place_holds_multi(p_batches jsonb, p_now timestamptz, p_ttl_ms bigint default null, p_max_share_pct int default 50)
    returns jsonb language plpgsql as $$
    declare
      b jsonb;
      out jsonb := '[]'::jsonb;
    begin
      for b in select value from jsonb_array_elements(p_batches) order by (value->>'departureId')::uuid loop
        out := out || jsonb_build_array(jsonb_build_object(
          'departureId', b->>'departureId',
          'r', cx_place_holds_v2((b->>'departureId')::uuid, b->'items', p_now, p_ttl_ms, coalesce(p_max_share_pct, 50))));
      end loop;
      return out;
    end $$`.execute(db);

  await sql`
    create function cx_listings_promise_guard() returns trigger language plpgsql as $$
    declare d record; listed int;
    begin
      select capacity_teu, held_teu, booked_teu into d from departures where id = new.departure_id for update;
      select coalesce(sum(remaining_teu), 0)::int into listed from listings where departure_id = new.departure_id and status = 'open';
      if d.held_teu + d.booked_teu + listed > d.capacity_teu then
        raise exception 'departure % would promise % TEU of % (booked %, held %, listed %)', new.departure_id,
          d.held_teu + d.booked_teu + listed, d.capacity_teu, d.booked_teu, d.held_teu, listed
          using errcode = 'check_violation', constraint = 'listings_promise_guard';
      end if;
      return null;
    end $$`.execute(db);
  await sql`create constraint trigger listings_promise_guard after insert on listings
    deferrable initially deferred for each row execute function cx_listings_promise_guard()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists listings_promise_guard on listings`.execute(db);
  await sql`drop function if exists cx_listings_promise_guard()`.execute(db);
  await sql`drop function if exists cx_place_holds_multi(jsonb, timestamptz, bigint, int)`.execute(db);
  await sql`drop function if exists cx_place_holds_v2(uuid, jsonb, timestamptz, bigint, int)`.execute(db);
  await sql`
    create function cx_place_holds_multi(p_batches jsonb, p_now timestamptz) returns jsonb
    language plpgsql as $$
    declare
      b jsonb;
      out jsonb := '[]'::jsonb;
    begin
      for b in select value from jsonb_array_elements(p_batches) order by (value->>'departureId')::uuid loop
        out := out || jsonb_build_array(jsonb_build_object(
          'departureId', b->>'departureId',
          'r', cx_place_holds((b->>'departureId')::uuid, b->'items', p_now)));
      end loop;
      return out;
    end $$`.execute(db);
}
