import { idemKey } from '../adapters/db/idempotency.ts';
import type { RateLimiter } from '../adapters/redis/rate-limit.ts';
import type { CommandAnswer, SocketCommand } from '../adapters/realtime/socket-server.ts';
import type { Config } from '../config.ts';
import type { Context } from '../context.ts';
import { AppError } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import { BidPlaceMessage } from '../domain/schemas/auctions.ts';
import { body, CLIENT_DATA_ERRORS } from './plugins/errors.ts';
import { validatorOf } from './plugins/validation.ts';
import { apiBucket } from './plugins/limits.ts';

// validated as the REST body is (server/http/plugins/validation.ts: a JSON message's types are not converted), so a
// message gets the answer the REST call gets for the same body
const ajv = validatorOf('json');
const bidPlace = ajv.compile<BidPlaceMessage>(BidPlaceMessage);

/**
 * Commands on the live connection (issue 16, part 4): order entry as trading venues take it on persistent sessions.
 * Each answers exactly what its REST call would — `{ status, body }` with the same body or the same
 * `{ error: { code, message } }` — after the same checks: the principal of the connection (a revoked session or key
 * has its sockets cut at once), the API rate limit per principal (the same bucket as REST), the same schema, the
 * same service and guards (forwarders only, the listing's lock, the pure core), durable before the answer, and an
 * Idempotency-Key per message (`idempotencyKey`; the same key and body as a REST call get the same answer).
 *
 * - `bid:place` `{ listingId, teu, unitPriceCents, allOrNothing?, maxUnitPriceCents?, idempotencyKey? }` →
 *   `{ status: 201, body: BidAccepted }` as `POST /api/listings/:id/bids`. A cancel-replace is a new bid: every bid is
 *   independent and the auction ranks them (an auto-bid's maximum is how a bidder replaces its own).
 * - `noop` → `{ status: 200, body: { ok: true, at } }`: the live connection's ceiling, as `POST /api/noop` is REST's.
 */
export function socketCommands(ctx: Context, limiter: RateLimiter, cfg: Pick<Config, 'apiPerMinute'>): Record<string, SocketCommand> {
  const answer = async (p: Principal, run: () => Promise<CommandAnswer>): Promise<CommandAnswer> => {
    try {
      const v = await limiter.hit([apiBucket(cfg, p, '')]);
      if (!v.ok) return { status: 429, body: body('rate_limited', 'too many requests; slow down and retry later') };
      return await run();
    } catch (err) {
      if (err instanceof AppError) return { status: err.status, body: body(err.code, err.message, err.details) };
      const pg = (err as { code?: string } | null)?.code;
      if (pg && CLIENT_DATA_ERRORS.has(pg)) return { status: 400, body: body('invalid_input', 'a value is out of range or malformed') };
      throw err;
    }
  };
  return {
    noop: (p) => answer(p, async () => ({ status: 200, body: { ok: true, at: new Date().toISOString() } })),
    'bid:place': (p, payload) =>
      answer(p, async () => {
        if (!bidPlace(payload)) {
          const first = bidPlace.errors?.[0];
          return { status: 400, body: body('invalid_input', `message${first?.instancePath ?? ''} ${first?.message ?? 'does not match the schema'}`) };
        }
        const { listingId, idempotencyKey, ...input } = payload;
        const key = idemKey(p.orgId, idempotencyKey, `POST /api/listings/${listingId.toLowerCase()}/bids`, input);
        return { status: 201, body: await ctx.services.auctions.placeBid(p, listingId, input, key) };
      }),
  };
}
