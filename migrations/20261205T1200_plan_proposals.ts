import { type Kysely, sql } from 'kysely';

// Frozen in time: never edit after it has landed; add a new migration instead.
//
// A proposal may belong to several plans: a new plan that only repeats an open proposal keeps it, with its id
// (server/core/pooling/carry-over.ts), instead of superseding it and issuing a copy under a new id. Each plan's
// proposals are listed here; `proposals.optimisation_id` stays the plan that first proposed it. Every proposal
// written so far belongs to its own plan.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('plan_proposals')
    .addColumn('optimisation_id', 'uuid', (c) => c.notNull().references('optimisations.id').onDelete('cascade'))
    .addColumn('proposal_id', 'uuid', (c) => c.notNull().references('proposals.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('plan_proposals_pkey', ['optimisation_id', 'proposal_id'])
    .execute();
  await sql`create index plan_proposals_proposal_idx on plan_proposals (proposal_id)`.execute(db);
  await sql`insert into plan_proposals (optimisation_id, proposal_id) select optimisation_id, id from proposals`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('plan_proposals').execute();
}
