// A forwarder desk on the public API: signs in with e-mail and password (session cookie + CSRF token) and
// sends JSON requests. Nothing here knows the server's insides: only what ../shared/API.md documents.

export interface Reply<T = unknown> {
  status: number;
  body: T;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Desk {
  private cookie = '';
  private csrf = '';
  orgId = '';

  constructor(
    readonly base: string,
    readonly email: string,
  ) {}

  /** POST /api/session; throws ApiError when the sign-in is refused. */
  async signIn(password: string): Promise<void> {
    const res = await fetch(new URL('/api/session', this.base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: this.email, password }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json().catch(() => ({}))) as { csrfToken?: string; org?: { id: string }; error?: { code: string; message: string } };
    if (!res.ok || !body.csrfToken) throw new ApiError(res.status, body.error?.code ?? 'sign_in_failed', `${this.email}: ${body.error?.message ?? res.statusText}`);
    this.cookie = (res.headers.getSetCookie()[0] ?? '').split(';')[0]!;
    this.csrf = body.csrfToken;
    this.orgId = body.org?.id ?? '';
  }

  /** One request; the reply's status and JSON body (null when there is none). Never throws on an HTTP status. */
  async call<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<Reply<T>> {
    const res = await fetch(new URL(path, this.base), {
      method,
      headers: {
        cookie: this.cookie,
        ...(method !== 'GET' ? { 'x-csrf-token': this.csrf } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { error: { code: 'not_json', message: text.slice(0, 200) } };
    }
    return { status: res.status, body: parsed as T };
  }
}

/** The error code of a refused reply (API.md shape `{ error: { code, message } }`), or the status. */
export function errorCode(r: Reply): string {
  const code = (r.body as { error?: { code?: unknown } } | null)?.error?.code;
  return typeof code === 'string' ? code : `http_${r.status}`;
}
