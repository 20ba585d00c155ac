// The chaos run's HTTP client: one request with a time limit, and sign-in with retries.
import { sleep } from '../../scripts/lib/procs.mjs';

export interface HttpAnswer {
  status: number;
  json: unknown;
}
export interface Who {
  cookie: string;
  csrf: string;
}

let lastError = '';
/** Why the last `call` got no answer (for the outage report). */
export const lastCallError = () => lastError;

/** One request with a time limit; null when the outcome is unknown (connection refused, reset, timeout). */
export async function call(base: string, method: string, url: string, who: Who | null, body?: unknown, timeoutMs = 10_000): Promise<HttpAnswer | null> {
  try {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (who) {
      headers.cookie = who.cookie;
      if (method !== 'GET') headers['x-csrf-token'] = who.csrf;
    }
    const res = await fetch(`${base}${url}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? (JSON.parse(text) as unknown) : null;
    } catch {
      json = null;
    }
    return { status: res.status, json };
  } catch (err) {
    lastError = String((err as { cause?: unknown }).cause ?? err);
    return null;
  }
}

export async function signIn(base: string, email: string): Promise<Who & { orgId: string }> {
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${base}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'cluster-demo' }),
      signal: AbortSignal.timeout(15_000),
    }).catch(() => null);
    if (res?.status === 200) {
      const me = (await res.json()) as { csrfToken: string; org: { id: string } };
      return { cookie: res.headers.getSetCookie()[0]!.split(';')[0]!, csrf: me.csrfToken, orgId: me.org.id };
    }
    await sleep(250);
  }
  throw new Error(`sign-in failed for ${email}`);
}
