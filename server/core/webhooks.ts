import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhooks, the pure parts (issue 15): event types, the delivery body, Stripe-style signatures and the retry
 * schedule. No I/O; time and randomness are passed in.
 */

export { WEBHOOK_EVENT_TYPES, isWebhookEventType, type WebhookEventType } from './webhook-event-types.ts';

/** The body of a delivery: the same bytes for every attempt of one event (only the signature's `t` changes). */
export function webhookBody(e: { id: string; type: string; createdAt: Date; data: unknown }): string {
  return JSON.stringify({ id: e.id, type: e.type, createdAt: e.createdAt.toISOString(), data: e.data });
}

/** Hex HMAC-SHA256 of `${t}.${body}` with `secret` (the whole secret string, `whsec_…`, is the key). */
export function signatureV1(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}

/**
 * The `cx-signature` header: `t=<unix seconds>,v1=<hex>` — one `v1` per secret that signs now (during a rotation's
 * overlap the new one first, then the previous one), like Stripe's `Stripe-Signature`.
 */
export function signatureHeader(secrets: string[], nowMs: number, body: string): string {
  const t = Math.floor(nowMs / 1000);
  return [`t=${t}`, ...secrets.map((s) => `v1=${signatureV1(s, t, body)}`)].join(',');
}

/** The secrets that sign at `now`: the current one, and the previous one while its overlap lasts. */
export function signingSecrets(ep: { secret: string; previousSecret: string | null; previousSecretExpiresAt: Date | null }, now: Date): string[] {
  return ep.previousSecret && ep.previousSecretExpiresAt && ep.previousSecretExpiresAt > now ? [ep.secret, ep.previousSecret] : [ep.secret];
}

export type VerifyResult = { ok: true; t: number } | { ok: false; reason: 'malformed' | 'too_old' | 'no_match' };

/**
 * What a receiver does (README "Webhooks"): parse the header, refuse a timestamp further than `toleranceSec` from
 * now (replays), and compare each `v1` with the expected one in constant time.
 */
export function verifySignature(secret: string, header: string, body: string, nowMs: number, toleranceSec = 300): VerifyResult {
  let t: number | null = null;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/.test(v)) v1.push(v);
  }
  if (t === null || v1.length === 0) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowMs / 1000 - t) > toleranceSec) return { ok: false, reason: 'too_old' };
  const expected = Buffer.from(signatureV1(secret, t, body), 'hex');
  const match = v1.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  return match ? { ok: true, t } : { ok: false, reason: 'no_match' };
}

export interface RetryPolicy {
  /** Delay before the 2nd attempt, ms; doubled for every further one… */
  baseMs: number;
  /** …up to this. */
  maxMs: number;
  /** Attempts in all; after the last failed one the delivery is `failed`. */
  maxAttempts: number;
}

/**
 * Delay after the `attempt`-th failed attempt (1-based), or null when it was the last: min(base × 2^(attempt−1),
 * max) times a jitter factor in [0.8, 1.2) from `rand` ∈ [0, 1). Defaults (30 s, 4 h, 15 attempts): 30 s, 1, 2, 4,
 * 8, 16, 32, 64, 128 min, then 4 h five times — about 24 h from the first attempt to the last.
 */
export function retryDelayMs(p: RetryPolicy, attempt: number, rand: number): number | null {
  if (attempt >= p.maxAttempts) return null;
  const exp = Math.min(p.maxMs, p.baseMs * 2 ** Math.min(attempt - 1, 40));
  const r = Math.min(Math.max(rand, 0), 1 - Number.EPSILON);
  return Math.round(exp * (0.8 + 0.4 * r));
}

/** The nominal schedule (no jitter): delay after each failed attempt, for the README and tests. */
export function retrySchedule(p: RetryPolicy): number[] {
  const out: number[] = [];
  for (let a = 1; a < p.maxAttempts; a++) out.push(Math.min(p.maxMs, p.baseMs * 2 ** Math.min(a - 1, 40)));
  return out;
}

/**
 * Should an endpoint be disabled? After `failures` failed attempts in a row (no success in between) at least
 * `afterFailures`, spanning at least `afterMs` since the first of them.
 */
export function shouldDisable(failures: number, failingSince: Date | null, now: Date, o: { afterFailures: number; afterMs: number }): boolean {
  return failures >= o.afterFailures && failingSince !== null && now.getTime() - failingSince.getTime() >= o.afterMs;
}

/** At most `max` characters of a response body, for the delivery log (never more is kept). */
export function bodyPrefix(text: string, max = 256): string {
  // NUL cannot be stored in Postgres text: dropped
  return [...text.replaceAll('\u0000', '')].slice(0, max).join('');
}
