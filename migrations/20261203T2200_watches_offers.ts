import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// Watches and cascade re-offers of freed capacity (issue 14, parts 1 and 2; README "Watches and cascade re-offers").
// - watches: a forwarder's saved search (route or corridor, modes, departure window, minimum TEU / tonnes, maximum
//   unit price). `deleted` watches are kept (their matches and offers name them).
// - watch_matches: the in-app notification list. One row per (watch, departure, listing, dedupe_key): a match is told
//   once per change (`new` listing, `seq:<departure seq>` capacity freed, `price:<cents>` a falling price crossing the
//   maximum); the unique key is what makes "once" hold across processes and job retries.
// - offer_chains: one freed lot (an expired hold, a cancelled or no-show booking, an auction's unsold TEU) offered in
//   turn to matching watches. While the chain is `offering`, its TEU and tonnes are RESERVED: counted in the
//   departure's held_teu / held_tonnes and not in any listing's remaining TEU, so every capacity guard (hold path,
//   listings_promise_guard, CHECK constraints) keeps holding unchanged. `accepted` or `returned` (back on the board).
//   One chain per freed thing (unique reason + source).
// - offers: one exclusive right of first refusal in a chain. At most one `open` offer per chain (partial unique
//   index: never double-offered), each organisation at most once per chain. open → accepted | declined | expired |
//   withdrawn, decided under the departure's then the offer's row lock.
// - bookings.no_show_at: the departure's operator marked the booking not delivered (cancelled with a 100 % fee).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('watches')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('created_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('from_code', 'text')
    .addColumn('to_code', 'text')
    .addColumn('corridor_id', 'uuid', (c) => c.references('corridors.id'))
    .addColumn('modes', sql`text[]`)
    .addColumn('departs_after', 'timestamptz')
    .addColumn('departs_before', 'timestamptz')
    .addColumn('min_teu', 'integer', (c) => c.notNull().check(sql`min_teu >= 1`))
    .addColumn('min_tonnes', 'integer', (c) => c.check(sql`min_tonnes >= 1`))
    .addColumn('max_unit_price_cents', 'bigint', (c) => c.check(sql`max_unit_price_cents >= 1`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active').check(sql`status in ('active','deleted')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('deleted_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('watches_org_idx').on('watches').columns(['org_id', 'created_at']).execute();
  await sql`create index watches_active_idx on watches (created_at) where status = 'active'`.execute(db);

  await db.schema
    .createTable('watch_matches')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('watch_id', 'uuid', (c) => c.notNull().references('watches.id'))
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('departure_id', 'uuid', (c) => c.notNull().references('departures.id'))
    .addColumn('listing_id', 'uuid', (c) => c.notNull().references('listings.id'))
    .addColumn('free_teu', 'integer', (c) => c.notNull())
    .addColumn('unit_price_cents', 'bigint', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull().check(sql`trigger in ('listing','price','freed')`))
    .addColumn('dedupe_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('watch_matches_once_key', ['watch_id', 'departure_id', 'listing_id', 'dedupe_key'])
    .execute();
  await db.schema.createIndex('watch_matches_watch_idx').on('watch_matches').columns(['watch_id', 'created_at']).execute();

  await db.schema
    .createTable('offer_chains')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('departure_id', 'uuid', (c) => c.notNull().references('departures.id'))
    .addColumn('listing_id', 'uuid', (c) => c.notNull().references('listings.id'))
    .addColumn('teu', 'integer', (c) => c.notNull().check(sql`teu >= 1`))
    .addColumn('tonnes', 'integer', (c) => c.notNull())
    .addColumn('unit_price_cents', 'bigint', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull().check(sql`reason in ('expired_hold','cancellation','no_show','unsold','derating')`))
    .addColumn('source_id', 'uuid', (c) => c.notNull())
    .addColumn('freed_by_org_id', 'uuid', (c) => c.references('organisations.id'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('offering').check(sql`status in ('offering','accepted','returned')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('ended_at', 'timestamptz')
    .addCheckConstraint('offer_chains_tonnes_check', sql`tonnes >= teu`)
    .addUniqueConstraint('offer_chains_source_key', ['reason', 'source_id'])
    .execute();
  await db.schema.createIndex('offer_chains_departure_idx').on('offer_chains').columns(['departure_id', 'created_at']).execute();

  await db.schema
    .createTable('offers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('chain_id', 'uuid', (c) => c.notNull().references('offer_chains.id'))
    .addColumn('round', 'integer', (c) => c.notNull().check(sql`round >= 1`))
    .addColumn('departure_id', 'uuid', (c) => c.notNull().references('departures.id'))
    .addColumn('listing_id', 'uuid', (c) => c.notNull().references('listings.id'))
    .addColumn('watch_id', 'uuid', (c) => c.notNull().references('watches.id'))
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('teu', 'integer', (c) => c.notNull().check(sql`teu >= 1`))
    .addColumn('tonnes', 'integer', (c) => c.notNull())
    .addColumn('unit_price_cents', 'bigint', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open','accepted','declined','expired','withdrawn')`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('ended_at', 'timestamptz')
    .addColumn('hold_id', 'uuid', (c) => c.references('holds.id'))
    .addUniqueConstraint('offers_chain_round_key', ['chain_id', 'round'])
    .addUniqueConstraint('offers_chain_org_key', ['chain_id', 'org_id'])
    .execute();
  // never double-offered: one open offer per chain at any time
  await sql`create unique index offers_one_open_per_chain on offers (chain_id) where status = 'open'`.execute(db);
  await sql`create index offers_open_due_idx on offers (expires_at) where status = 'open'`.execute(db);
  await db.schema.createIndex('offers_org_idx').on('offers').columns(['org_id', 'status']).execute();

  await db.schema.alterTable('bookings').addColumn('no_show_at', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('bookings').dropColumn('no_show_at').execute();
  await db.schema.dropTable('offers').execute();
  await db.schema.dropTable('offer_chains').execute();
  await db.schema.dropTable('watch_matches').execute();
  await db.schema.dropTable('watches').execute();
}
