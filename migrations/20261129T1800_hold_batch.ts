import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// cx_place_holds: places a batch of holds on ONE departure in one statement (one round trip, one commit).
// Locks the departure row first (the lock order every capacity path follows: departure → listing), then
// decides each item in order against the running totals, exactly as the single-hold conditional updates
// would. The CHECK constraints on departures and listings remain the last guard.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function cx_place_holds(p_departure uuid, p_items jsonb, p_now timestamptz) returns jsonb
    language plpgsql as $$
    declare
      d record;
      it jsonb;
      l record;
      v_teu int;
      v_tonnes int;
      v_hold uuid;
      add_teu int := 0;
      add_tonnes int := 0;
      results jsonb := '[]'::jsonb;
      v_seq bigint;
    begin
      select * into d from departures where id = p_departure for update;
      if not found then
        return jsonb_build_object('results', (select jsonb_agg(jsonb_build_object('status', 'listing_closed')) from jsonb_array_elements(p_items)));
      end if;
      for it in select value from jsonb_array_elements(p_items) loop
        v_teu := (it->>'teu')::int;
        v_tonnes := (it->>'tonnes')::int;
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
        insert into holds (listing_id, departure_id, org_id, user_id, teu, tonnes, unit_price_cents, expires_at, created_at)
          values (l.id, p_departure, (it->>'orgId')::uuid, nullif(it->>'userId', '')::uuid, v_teu, v_tonnes,
                  (it->>'unitPriceCents')::bigint, (it->>'expiresAt')::timestamptz, p_now)
          returning id into v_hold;
        insert into audit_log (at, actor_user_id, actor_org_id, api_key_id, action, entity_type, entity_id, data)
          values (p_now, nullif(it->>'userId', '')::uuid, (it->>'orgId')::uuid, nullif(it->>'apiKeyId', '')::uuid,
                  'hold.create', 'hold', v_hold::text,
                  jsonb_build_object('listingId', l.id, 'teu', v_teu, 'tonnes', v_tonnes));
        add_teu := add_teu + v_teu;
        add_tonnes := add_tonnes + v_tonnes;
        results := results || jsonb_build_array(jsonb_build_object('status', 'ok', 'id', v_hold, 'listingId', l.id, 'listingRemaining', l.remaining_teu));
      end loop;
      v_seq := d.seq;
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
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function if exists cx_place_holds(uuid, jsonb, timestamptz)`.execute(db);
}
