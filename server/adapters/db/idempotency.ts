import { createHash } from 'node:crypto';
import type { Tx } from './db.ts';
import { conflict } from '../../services/errors.ts';

/** An `Idempotency-Key` with the request it came with. */
export interface IdemKey {
  orgId: string;
  key: string;
  route: string;
  requestHash: string;
}

export function idemKey(orgId: string, key: string | undefined, route: string, body: unknown): IdemKey | undefined {
  if (!key) return undefined;
  const requestHash = createHash('sha256').update(`${route}\n${JSON.stringify(body ?? null)}`).digest('hex');
  return { orgId, key, route, requestHash };
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
  const row = await tx
    .selectFrom('idempotency_keys')
    .select(['route', 'request_hash', 'status_code', 'response'])
    .where('org_id', '=', k.orgId)
    .where('key', '=', k.key)
    .executeTakeFirstOrThrow();
  if (row.route !== k.route || row.request_hash !== k.requestHash) {
    throw conflict('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
  }
  return { kind: 'replay', status: row.status_code, body: row.response as T };
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
