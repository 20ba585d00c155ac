// What one batch of holds costs Postgres (cx_place_holds_multi), with the placing organisations already holding
// many active holds elsewhere (as after a few bench runs): N batches of B holds on fresh departures, timed from the
// client, one connection. A fresh database per run; PRE_SQL (as the schema owner) prices a schema change.
//   node scripts/with-stack.mjs tsx tools/bench/holds-profile.ts [batches=300] [perBatch=10] [heldElsewhere=20000]
import { sql } from 'kysely';
import { placeHoldsMulti } from '../../server/adapters/db/holds-repo.ts';
import { makeListings } from './measure.ts';
import { withScratchDb } from './scratch-db.ts';

const BATCHES = Number(process.argv[2] ?? 300);
const PER = Number(process.argv[3] ?? 10);
const ELSEWHERE = Number(process.argv[4] ?? 20_000);
await withScratchDb('holds_profile', async (db) => {
  const orgs = (
    await db.insertInto('organisations').values(Array.from({ length: 50 }, (_, i) => ({ slug: `hp-${i}`, name: `HP ${i}`, kind: 'forwarder' as const }))).returning('id').execute()
  ).map((o) => o.id);
  // the organisations' active holds elsewhere
  const far = await makeListings(db, 20, 1_000_000, 'fixed', 'far');
  for (let i = 0; i < ELSEWHERE; i += 5000) {
    await db
      .insertInto('holds')
      .values(Array.from({ length: Math.min(5000, ELSEWHERE - i) }, (_, k) => {
        const l = far[(i + k) % far.length]!;
        return { listing_id: l.listingId, departure_id: l.departureId, org_id: orgs[(i + k) % orgs.length]!, teu: 1, tonnes: 1, unit_price_cents: 50_000, expires_at: new Date(Date.now() + 3_600_000) };
      }))
      .execute();
  }
  const targets = await makeListings(db, BATCHES, 1000, 'fixed', 'target');
  if (process.env.PRE_SQL) await sql.raw(process.env.PRE_SQL).execute(db);
  await sql`vacuum analyze`.execute(db);
  const now = new Date();
  const item = (listingId: string, k: number) => ({
    listingId, teu: 1, tonnes: 1, unitPriceCents: 50_000, expiresAt: new Date(now.getTime() + 600_000).toISOString(), orgId: orgs[k % orgs.length]!, userId: '', apiKeyId: '',
  });
  await placeHoldsMulti(db, [{ departureId: targets[0]!.departureId, items: [item(targets[0]!.listingId, 0)] }], now, 600_000, 100); // warm
  const t0 = performance.now();
  let ok = 0;
  for (let b = 1; b < BATCHES; b++) {
    const t = targets[b]!;
    const res = await placeHoldsMulti(db, [{ departureId: t.departureId, items: Array.from({ length: PER }, (_, k) => item(t.listingId, b * PER + k)) }], now, 600_000, 100);
    ok += res[0]!.results.filter((r) => r.status === 'ok').length;
  }
  const ms = performance.now() - t0;
  console.table([{ batches: BATCHES - 1, 'holds per batch': PER, 'active holds elsewhere': ELSEWHERE, accepted: ok, ms: Math.round(ms), 'µs per hold': Math.round((1000 * ms) / ok) }]);
});
