import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
// Auctions (bids), the transactional outbox, the double-entry ledger and invoices.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('listings')
    .addColumn('bid_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('max_close_at', 'timestamptz')
    .addColumn('awarded_teu', 'integer')
    .addColumn('clearing_price_cents', 'bigint')
    .execute();

  await db.schema
    .createTable('bids')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('listing_id', 'uuid', (c) => c.notNull().references('listings.id'))
    .addColumn('org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('teu', 'integer', (c) => c.notNull().check(sql`teu > 0`))
    .addColumn('unit_price_cents', 'bigint', (c) => c.notNull().check(sql`unit_price_cents >= 0`))
    .addColumn('all_or_nothing', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('max_unit_price_cents', 'bigint')
    .addColumn('replaces_bid_id', 'uuid', (c) => c.references('bids.id'))
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('active').check(sql`status in ('active','replaced','won','lost')`),
    )
    .addColumn('awarded_teu', 'integer')
    .addColumn('placed_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('bids_listing_seq_key', ['listing_id', 'seq'])
    .execute();
  await db.schema.createIndex('bids_listing_status_idx').on('bids').columns(['listing_id', 'status']).execute();
  await db.schema.createIndex('bids_org_idx').on('bids').columns(['org_id', 'placed_at']).execute();

  await db.schema.alterTable('bookings').addColumn('bid_id', 'uuid', (c) => c.references('bids.id').unique()).execute();

  // Transactional outbox: jobs written in the same transaction as the business change, enqueued after
  // commit (and by the worker's drainer if the process died in between).
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('job_name', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull().unique())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('run_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('enqueued_at', 'timestamptz')
    .execute();
  await sql`create index outbox_pending_idx on outbox (id) where enqueued_at is null`.execute(db);

  // Double-entry ledger, insert-only.
  await db.schema
    .createTable('ledger_accounts')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('org_id', 'uuid', (c) => c.references('organisations.id'))
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('forwarder_payable','operator_receivable','platform_revenue','escrow')`),
    )
    .addColumn('currency', 'text', (c) => c.notNull().defaultTo('EUR'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index ledger_accounts_org_kind_key on ledger_accounts (coalesce(org_id, '00000000-0000-0000-0000-000000000000'::uuid), kind)`.execute(db);

  await db.schema
    .createTable('ledger_transactions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('booking_id', 'uuid', (c) => c.references('bookings.id'))
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('ledger_entries')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('transaction_id', 'uuid', (c) => c.notNull().references('ledger_transactions.id'))
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('ledger_accounts.id'))
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction in ('debit','credit')`))
    .addColumn('amount_cents', 'bigint', (c) => c.notNull().check(sql`amount_cents > 0`))
    .execute();
  await db.schema.createIndex('ledger_entries_account_idx').on('ledger_entries').column('account_id').execute();
  await db.schema.createIndex('ledger_entries_tx_idx').on('ledger_entries').column('transaction_id').execute();

  for (const t of ['ledger_transactions', 'ledger_entries']) {
    await sql`create trigger ${sql.raw(`${t}_append_only`)} before update or delete on ${sql.table(t)}
      for each row execute function refuse_change()`.execute(db);
  }
  // Every transaction balances: checked at commit (deferred), whatever code wrote it.
  await sql`
    create function ledger_check_balanced() returns trigger language plpgsql as $$
    declare d bigint; c bigint;
    begin
      select coalesce(sum(amount_cents) filter (where direction = 'debit'), 0),
             coalesce(sum(amount_cents) filter (where direction = 'credit'), 0)
        into d, c from ledger_entries where transaction_id = new.transaction_id;
      if d <> c then
        raise exception 'ledger transaction % is unbalanced: debits % credits %', new.transaction_id, d, c
          using errcode = 'check_violation';
      end if;
      return null;
    end $$`.execute(db);
  await sql`create constraint trigger ledger_entries_balanced after insert on ledger_entries
    deferrable initially deferred for each row execute function ledger_check_balanced()`.execute(db);

  await db.schema
    .createTable('invoice_counters')
    .addColumn('issuer_org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('year', 'integer', (c) => c.notNull())
    .addColumn('last_number', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('invoice_counters_pkey', ['issuer_org_id', 'year'])
    .execute();

  await db.schema
    .createTable('invoices')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('issuer_org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('recipient_org_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('year', 'integer', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('invoice').check(sql`kind in ('invoice','credit_note')`))
    .addColumn('net_cents', 'bigint', (c) => c.notNull())
    .addColumn('vat_cents', 'bigint', (c) => c.notNull())
    .addColumn('total_cents', 'bigint', (c) => c.notNull())
    .addColumn('vat_note', 'text')
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('invoices_issuer_year_seq_key', ['issuer_org_id', 'year', 'seq'])
    .execute();

  await db.schema
    .createTable('invoice_lines')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('invoice_id', 'uuid', (c) => c.notNull().references('invoices.id'))
    .addColumn('booking_id', 'uuid', (c) => c.references('bookings.id'))
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('quantity_teu', 'integer', (c) => c.notNull())
    .addColumn('unit_price_cents', 'bigint', (c) => c.notNull())
    .addColumn('amount_cents', 'bigint', (c) => c.notNull())
    .execute();
  for (const t of ['invoices', 'invoice_lines']) {
    await sql`create trigger ${sql.raw(`${t}_append_only`)} before update or delete on ${sql.table(t)}
      for each row execute function refuse_change()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['invoice_lines', 'invoices', 'invoice_counters', 'ledger_entries', 'ledger_transactions', 'ledger_accounts', 'outbox']) {
    await db.schema.dropTable(t).ifExists().cascade().execute();
  }
  await sql`drop function if exists ledger_check_balanced()`.execute(db);
  await db.schema.alterTable('bookings').dropColumn('bid_id').execute();
  await db.schema.dropTable('bids').ifExists().cascade().execute();
  await db.schema
    .alterTable('listings')
    .dropColumn('bid_seq')
    .dropColumn('max_close_at')
    .dropColumn('awarded_teu')
    .dropColumn('clearing_price_cents')
    .execute();
}
