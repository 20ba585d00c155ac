// The naive baseline the benchmark compares the hold path against: POST /api/bench/naive-holds, one Postgres
// transaction with SELECT … FOR UPDATE per hold and no Redis. Correct (same rules: cut-off, capacity in TEU
// and tonnes, ≥ 1 t per TEU, the per-organisation held share), but every request — accepted or refused —
// queues on the row lock. Benchmark code: registered only by tools/bench/server.ts, never in production.
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { inTransaction } from '../../server/adapters/db/db.ts';
import { audit } from '../../server/adapters/db/audit.ts';
import { currentUnitPrice } from '../../server/adapters/db/listings-repo.ts';
import { toHold } from '../../server/adapters/db/holds-repo.ts';
import type { Context } from '../../server/context.ts';
import { checkHold, checkHoldShare, holdExpiresAt } from '../../server/core/capacity.ts';
import { conflict, notFound } from '../../server/domain/errors.ts';
import { policy, type Principal } from '../../server/domain/principal.ts';
import { errors } from '../../server/domain/schemas/common.ts';
import { Hold, NewHoldBody } from '../../server/domain/schemas/trade.ts';
import { principalOf } from '../../server/http/plugins/auth.ts';
import { holdRefusal } from '../../server/services/hold-batch.ts';

/** Registers POST /api/bench/naive-holds (options: the server's Context). */
export const naiveHoldsPlugin: FastifyPluginCallbackTypebox<{ ctx: Context }> = (app, { ctx }, done) => {
  app.post(
    '/api/bench/naive-holds',
    { schema: { hide: true, body: NewHoldBody, response: { 201: Hold, ...errors(400, 401, 403, 404, 409) } } },
    async (req, reply) => reply.status(201).send(await createNaive(ctx, principalOf(req), req.body)),
  );
  done();
};

async function createNaive(ctx: Context, p: Principal, input: NewHoldBody, now = new Date()): Promise<Hold> {
  policy.requireOrgKind(p, 'forwarder');
  const sharePct = ctx.cfg.holdMaxSharePct ?? 50;
  return inTransaction(ctx.db, async (tx) => {
    const l = await tx.selectFrom('listings').selectAll().where('id', '=', input.listingId).forUpdate().executeTakeFirst();
    if (!l) throw notFound('listing');
    const d = await tx.selectFrom('departures').selectAll().where('id', '=', l.departure_id).forUpdate().executeTakeFirstOrThrow();
    const check = checkHold(
      { capacityTeu: d.capacity_teu, capacityTonnes: d.capacity_tonnes, heldTeu: d.held_teu, heldTonnes: d.held_tonnes, bookedTeu: d.booked_teu, bookedTonnes: d.booked_tonnes, cutoffAt: d.cutoff_at },
      input,
      now,
    );
    if (!check.ok) throw holdRefusal(check.code, sharePct, check.message);
    if (l.status !== 'open' || l.remaining_teu < input.teu) throw holdRefusal('insufficient_capacity', sharePct);
    const held = await tx
      .selectFrom('holds')
      .select(sql<number>`coalesce(sum(teu), 0)::int`.as('n'))
      .where('departure_id', '=', d.id)
      .where('org_id', '=', p.orgId)
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow();
    const share = checkHoldShare(d.capacity_teu, held.n, input.teu, sharePct);
    if (!share.ok) throw conflict(share.code, share.message);
    await tx.updateTable('listings').set({ remaining_teu: l.remaining_teu - input.teu }).where('id', '=', l.id).execute();
    await tx
      .updateTable('departures')
      .set({ held_teu: d.held_teu + input.teu, held_tonnes: d.held_tonnes + input.tonnes, seq: Number(d.seq) + 1 })
      .where('id', '=', d.id)
      .execute();
    const row = await tx
      .insertInto('holds')
      .values({
        listing_id: l.id, departure_id: d.id, org_id: p.orgId, user_id: p.userId, teu: input.teu, tonnes: input.tonnes,
        unit_price_cents: currentUnitPrice(l, now) ?? 0, expires_at: holdExpiresAt(now, ctx.cfg.holdTtlMs), created_at: now,
      })
      .returning(['id', 'listing_id', 'departure_id', 'teu', 'tonnes', 'unit_price_cents', 'status', 'expires_at', 'created_at'])
      .executeTakeFirstOrThrow();
    await audit(tx, p, 'hold.create', { type: 'hold', id: row.id }, { naive: true });
    return toHold(row);
  });
}
