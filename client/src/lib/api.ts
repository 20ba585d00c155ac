/**
 * Tiny typed fetch wrapper for the Cluster Exchange API.
 * Errors from the server come as `{ error: { code, message } }` and are thrown as ApiError.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** the whole `error` object of the answer (extra fields such as `minUnitPriceCents`) */
  readonly details: Record<string, unknown>;
  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
  /** true when the request never reached the server (network down, server restarting) */
  get isNetwork() {
    return this.status === 0;
  }
}

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null) {
  csrfToken = token;
}

/** Called when any request (other than sign-in / me) answers 401. */
export function setUnauthorizedHandler(fn: (() => void) | null) {
  onUnauthorized = fn;
}

export function newIdempotencyKey(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') {
    try {
      return crypto.randomUUID();
    } catch {
      /* insecure context */
    }
  }
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

type Query = Record<string, string | number | undefined | null>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** do not trigger the global 401 handler */
  quiet401?: boolean;
  /** sees the response's headers (a page cursor, say) before its body is read */
  onHeaders?: (headers: Headers) => void;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  let url = '/api' + path;
  if (opts.query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) {
      if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
    }
    const s = qs.toString();
    if (s) url += '?' + s;
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (MUTATING.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;

  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
  }

  opts.onHeaders?.(res.headers);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } & Record<string, unknown> } | undefined)?.error;
    const code = err?.code ?? defaultCode(res.status);
    const message = err?.message ?? defaultMessage(res.status);
    if (res.status === 401 && !opts.quiet401) onUnauthorized?.();
    throw new ApiError(res.status, code, message, err && typeof err === 'object' ? err : {});
  }
  return data as T;
}

function defaultCode(status: number) {
  switch (status) {
    case 400: return 'invalid_input';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 409: return 'conflict';
    case 429: return 'rate_limited';
    default: return status >= 500 ? 'server_error' : 'error';
  }
}

function defaultMessage(status: number) {
  switch (status) {
    case 400: return 'The request was not valid.';
    case 401: return 'You are not signed in.';
    case 403: return 'You are not allowed to do this.';
    case 404: return 'Not found.';
    case 409: return 'This conflicts with the current state.';
    case 429: return 'Too many requests. Please wait a moment and try again.';
    default: return `Server error (${status}). Please try again.`;
  }
}

export const api = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('POST', path, { ...opts, body }),
  del: <T>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, opts),
};

/** Human message for an error thrown by the API client, with friendly texts for known codes. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    const known: Record<string, string> = {
      insufficient_capacity: 'Not enough free capacity left on this departure for that amount.',
      past_cutoff: 'The cut-off time for this departure has passed.',
      hold_expired: 'This hold has expired; the capacity was released.',
      auction_closed: 'This auction is closed.',
      bid_too_low: 'Your bid is too low.',
      auction_not_open: 'This auction is not open for bids yet.',
      csrf: 'Your session token is stale. Reload the page and try again.',
      rate_limited: 'Too many requests. Please wait a moment and try again.',
    };
    // prefer server's message for validation errors; friendly text for known conflicts
    if (e.status === 409 && known[e.code]) return `${known[e.code]}${e.message && e.message !== known[e.code] ? ` (${e.message})` : ''}`;
    return e.message || known[e.code] || 'Something went wrong.';
  }
  if (e instanceof Error) return e.message;
  return 'Something went wrong.';
}
