import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// An issuer's invoices read in number order when listed newest first: the issue time a counter hands out never goes
// back. Settlement runs in several lanes at once, each with the time it started; the lane that locked the counter
// first took the lower numbers, so a later-started lane could issue 7692 after an earlier-started one issued 7693 (an
// operator walking the demo saw 7692 listed above 7693). The counter now keeps the latest issue time it handed out
// (moved in the same upsert that moves the number), and a batch's invoices are issued at the later of their own time
// and that one.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table invoice_counters add column last_issued_at timestamptz not null default '-infinity'`.execute(db);
  await sql`
    update invoice_counters c set last_issued_at = coalesce(
      (select max(i.issued_at) from invoices i where i.issuer_org_id = c.issuer_org_id and i.year = c.year), '-infinity')`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table invoice_counters drop column last_issued_at`.execute(db);
}
