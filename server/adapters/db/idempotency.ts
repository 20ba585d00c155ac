import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db, Tx } from './db.ts';
import { AppError, conflict } from '../../domain/errors.ts';

/** An `Idempotency-Key` with the request it came with. */
export interface IdemKey {
  orgId: string;
  key: string;
  route: string;
  /** SHA-256 of the route and the canonical JSON of the body (keys sorted, no whitespace). */
  requestHash: string;
  /**
   * The hash of keys stored before canonical hashing (the body as serialised in arrival order). Such keys
   * are purged 24 h after their creation; until then a repeat of the same request still replays.
   */
  legacyHash?: string;
}

/**
 * The canonical JSON of a value: object keys sorted (recursively, by code unit), no whitespace, `undefined`
 * members left out as JSON.stringify does. Two bodies that differ only in key order or spacing hash alike.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((v as { toJSON(): unknown }).toJSON());
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined || typeof x === 'function' ? 'null' : canonicalJson(x))).join(',')}]`;
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(o).sort()) {
    const x = o[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(x)}`);
  }
  return `{${parts.join(',')}}`;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function idemKey(orgId: string, key: string | undefined, route: string, body: unknown): IdemKey | undefined {
  if (!key) return undefined;
  const requestHash = sha256(`${route}\n${canonicalJson(body ?? null)}`);
  const legacyHash = sha256(`${route}\n${JSON.stringify(body ?? null)}`);
  return { orgId, key, route, requestHash, ...(legacyHash !== requestHash ? { legacyHash } : {}) };
}

export type Claim<T> = { kind: 'claimed' } | { kind: 'replay'; status: number; body: T };

/**
 * Claims an idempotency key inside the business transaction. A concurrent request with the same key
 * waits on the unique index until the first one commits (then replays its answer) or rolls back (then
 * claims it itself) — so a repeated request can never have a second effect.
 */
export async function claimKey<T>(tx: Tx, k: IdemKey): Promise<Claim<T>> {
  const inserted = await tx
    .insertInto('idempotency_keys')
    .values({ org_id: k.orgId, key: k.key, route: k.route, request_hash: k.requestHash, status_code: 0, response: null })
    .onConflict((oc) => oc.columns(['org_id', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  if (inserted) return { kind: 'claimed' };
  const row = await keyRow(tx, k).executeTakeFirstOrThrow();
  return { kind: 'replay', ...answerOf<T>(row, k) };
}

/** The stored row of a key. */
function keyRow(db: Db | Tx, k: IdemKey) {
  return db.selectFrom('idempotency_keys').select(['route', 'request_hash', 'status_code', 'response']).where('org_id', '=', k.orgId).where('key', '=', k.key);
}

/**
 * What a stored key answers `k`: 409 `idempotency_key_reused` for a different request, a kept refusal thrown again,
 * else its status and body (status 0: still being answered).
 */
function answerOf<T>(row: { route: string; request_hash: string; status_code: number; response: unknown }, k: IdemKey): { status: number; body: T } {
  if (row.route !== k.route || (row.request_hash !== k.requestHash && row.request_hash !== k.legacyHash)) {
    throw conflict('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
  }
  if (row.status_code >= 400) throw refusalOf(row.status_code, row.response);
  return { status: row.status_code, body: row.response as T };
}

/**
 * A key's answer if one is stored, looked at before a request is decided at all (outside its transaction): a retry
 * of a hold that succeeded replays it even once the listing closed or its cut-off passed (an outside test got 409
 * `past_cutoff` for a hold it still had). Null when the key is unknown or still being answered (the transaction's
 * claim then waits for it); a different request under the key is 409 `idempotency_key_reused`, a kept refusal is
 * thrown again.
 */
export async function storedAnswer<T>(db: Db, k: IdemKey): Promise<{ status: number; body: T } | null> {
  const row = await keyRow(db, k).executeTakeFirst();
  if (!row) return null;
  const a = answerOf<T>(row, k);
  return a.status === 0 ? null : a;
}

/** A stored refusal (`{ error: { code, message, …details } }`) as the error it was. */
function refusalOf(status: number, stored: unknown): AppError {
  const e = ((stored as { error?: Record<string, unknown> } | null)?.error ?? {});
  const { code, message, ...details } = e;
  return new AppError(status, typeof code === 'string' ? code : 'conflict', typeof message === 'string' ? message : 'refused', Object.keys(details).length ? details : undefined);
}

/**
 * Keeps a refusal as the answer of a key that nothing else claimed (its own short statement, after the refused
 * request rolled back): a repeat with the same key gets the same refusal, even once the state that caused it has
 * changed. A key already claimed or answered is left as it is.
 */
export async function storeRefusal(db: Db, k: IdemKey, err: AppError): Promise<void> {
  await db
    .insertInto('idempotency_keys')
    .values({
      org_id: k.orgId, key: k.key, route: k.route, request_hash: k.requestHash, status_code: err.status,
      response: JSON.stringify({ error: { code: err.code, message: err.message, ...(err.details ?? {}) } }),
    })
    .onConflict((oc) => oc.columns(['org_id', 'key']).doNothing())
    .execute();
}

/** Stores the answer for a claimed key, in the same transaction as the effect. */
export async function storeAnswer(tx: Tx, k: IdemKey, status: number, body: unknown): Promise<void> {
  await tx
    .updateTable('idempotency_keys')
    .set({ status_code: status, response: JSON.stringify(body) })
    .where('org_id', '=', k.orgId)
    .where('key', '=', k.key)
    .execute();
}

/**
 * Gives a claimed key up again, in the transaction that claimed it, when that request had no effect after all
 * (one refused item of a batch whose other items commit): as after a rollback, a retry may claim it anew.
 */
export async function releaseKey(tx: Tx, k: IdemKey): Promise<void> {
  await tx.deleteFrom('idempotency_keys').where('org_id', '=', k.orgId).where('key', '=', k.key).execute();
}

/** API.md: keys are kept at least 24 hours. */
export const IDEMPOTENCY_KEEP_MS = 24 * 3_600_000;

/**
 * Deletes idempotency keys older than `keepMs`, oldest first, `batch` rows per statement (each its own short
 * transaction, so even a huge backlog never holds many row locks or a long one), until none is left or
 * `maxBatches` ran (the next scheduled run goes on). Rows locked by a running request are skipped. Idempotent.
 */
export async function purgeIdempotencyKeys(
  db: Db,
  o: { keepMs?: number; batch?: number; maxBatches?: number; now?: Date } = {},
): Promise<{ deleted: number; batches: number; more: boolean }> {
  const batch = Math.max(1, o.batch ?? 1000);
  const maxBatches = Math.max(1, o.maxBatches ?? 1000);
  const cutoff = new Date((o.now ?? new Date()).getTime() - (o.keepMs ?? IDEMPOTENCY_KEEP_MS));
  let deleted = 0;
  let batches = 0;
  while (batches < maxBatches) {
    const r = await sql`
      delete from idempotency_keys
       where (org_id, key) in (
         select org_id, key from idempotency_keys
          where created_at < ${cutoff}
          order by created_at
          limit ${batch}
          for update skip locked)`.execute(db);
    const n = Number(r.numAffectedRows ?? 0);
    batches++;
    deleted += n;
    if (n < batch) return { deleted, batches, more: false };
  }
  return { deleted, batches, more: true };
}
