import type { Db } from '../adapters/db/db.ts';
import { storeRefusal, type IdemKey } from '../adapters/db/idempotency.ts';
import { AppError } from '../domain/errors.ts';

/**
 * The refusals a key keeps (API.md: a repeat with the same key "gets the first answer again"): a decision on the
 * request against the state as it stood — `insufficient_capacity`, `hold_expired`, `bid_too_low`, `auction_closed`, ….
 * Not kept: 400 (the request never ran), 401/403 (who asks, not what), 404 (nothing of the caller's was there to
 * decide on — and a probe at another organisation's resource must change nothing, not even a key), 429 and 5xx (a
 * retry is what they ask for), `listing_not_open` and `auction_not_open` (they name the time to come back), and
 * `idempotency_key_reused` (the key answers another request).
 */
const KEPT_STATUS = new Set([409, 410, 422]);
/** Refusals that say "not yet" (the sale or the auction opens later): a retry at the time named is what they invite. */
const NOT_KEPT_CODES = new Set(['idempotency_key_reused', 'listing_not_open', 'auction_not_open']);

export function keepsRefusal(err: unknown): err is AppError {
  return err instanceof AppError && KEPT_STATUS.has(err.status) && !NOT_KEPT_CODES.has(err.code);
}

/**
 * Runs a keyed request; when it is refused, keeps the refusal as its key's answer before passing it on. An integrator
 * found a refused hold's key released: after capacity was freed, the same key made a new hold. Storing is best
 * effort: if Postgres fails here, the refusal still goes out (and a repeat is decided afresh, as before).
 */
export async function keepingRefusal<T>(db: Db, key: IdemKey | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (key && keepsRefusal(err)) await storeRefusal(db, key, err).catch(() => undefined);
    throw err;
  }
}
