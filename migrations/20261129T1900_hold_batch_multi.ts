import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// cx_place_holds_multi: places the holds of SEVERAL departures in one statement and one commit — group
// commit across departures. p_batches = [{ "departureId": uuid, "items": [...] }, …]; the departures are
// taken in id order (so concurrent batches lock them in the same order and never deadlock) and each goes
// through cx_place_holds exactly as on its own. Returns [{ "departureId", "r": <cx_place_holds result> }].
export async function up(db: Kysely<any>): Promise<void> {
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

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function if exists cx_place_holds_multi(jsonb, timestamptz)`.execute(db);
}
