import type { FastifyInstance, InjectOptions } from 'fastify';
import { build, type App } from '../../server/http/app.ts';
import type { Config } from '../../server/config.ts';

export async function buildApp(cfg: Config): Promise<App> {
  const built = await build(cfg, { logger: false });
  await built.app.ready();
  return built;
}

export interface Session {
  cookie: string;
  csrf: string;
  me: { user: { id: string; email: string }; org: { id: string; kind: string; name: string }; role: string };
}

export async function signIn(app: FastifyInstance, email: string, password = 'cluster-demo'): Promise<Session> {
  const res = await app.inject({ method: 'POST', url: '/api/session', payload: { email, password } });
  if (res.statusCode !== 200) throw new Error(`sign-in of ${email} failed: ${res.statusCode} ${res.body}`);
  const set = res.headers['set-cookie'];
  const raw = Array.isArray(set) ? set[0]! : String(set);
  const me = res.json();
  return { cookie: raw.split(';')[0]!, csrf: me.csrfToken, me };
}

/** An inject call as a signed-in person (cookie + CSRF header on changes). */
export function as(app: FastifyInstance, s: Session | null) {
  return (opts: InjectOptions & { url: string }) =>
    app.inject({
      ...opts,
      headers: {
        ...(s ? { cookie: s.cookie, 'x-csrf-token': s.csrf } : {}),
        ...(opts.headers ?? {}),
      },
    });
}

export function expectErrorShape(body: unknown): asserts body is { error: { code: string; message: string } } {
  const b = body as { error?: { code?: unknown; message?: unknown } };
  if (!b || typeof b.error?.code !== 'string' || typeof b.error?.message !== 'string' || !/^[a-z_]+$/.test(b.error.code)) {
    throw new Error(`not the API.md error shape: ${JSON.stringify(body)}`);
  }
}

/** Holds and confirms `teu` / `tonnes` on a listing as `s` through the API; the booking's id (throws on any refusal). */
export async function bookVia(app: FastifyInstance, s: Session, listingId: string, teu: number, tonnes: number): Promise<string> {
  const h = await as(app, s)({ method: 'POST', url: '/api/holds', payload: { listingId, teu, tonnes } });
  if (h.statusCode !== 201) throw new Error(`hold refused: ${h.statusCode} ${h.body}`);
  const b = await as(app, s)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} });
  if (b.statusCode !== 201) throw new Error(`confirm refused: ${b.statusCode} ${b.body}`);
  return b.json().id as string;
}
