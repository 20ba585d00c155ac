import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { Config } from '../../config.ts';

/**
 * Who and where a Socket.IO handshake comes from, behind or without a proxy (the Engine.IO request is
 * outside Fastify, so `req.ip` / `req.protocol` are not available here).
 *
 * `trustProxy` as in Config: `false` → the socket's own address and protocol, X-Forwarded-* ignored;
 * a hop count n → the n nearest hops are proxies; a list → addresses / CIDRs of the proxies.
 */
export type Trust = (addr: string, hop: number) => boolean;

export function compileTrust(trustProxy: Config['trustProxy']): Trust | null {
  if (trustProxy === false) return null;
  if (typeof trustProxy === 'number') return trustProxy > 0 ? (_addr, hop) => hop < trustProxy : null;
  return trustProxy.length ? proxyAddr.compile(trustProxy) : null;
}

const lastEntry = (v: string | string[] | undefined): string | undefined => {
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  if (!s) return undefined;
  const i = s.lastIndexOf(',');
  return (i === -1 ? s : s.slice(i + 1)).trim() || undefined;
};

/** The nearest peer is a trusted proxy: its X-Forwarded-* headers count. */
function fromTrustedProxy(req: IncomingMessage, trust: Trust | null): boolean {
  return !!trust && !!req.socket.remoteAddress && trust(req.socket.remoteAddress, 0);
}

/** The client's address: the socket's own, or the first untrusted hop of X-Forwarded-For. */
export function clientAddress(req: IncomingMessage, trust: Trust | null): string {
  if (!trust) return req.socket.remoteAddress ?? 'unknown';
  const all = proxyAddr.all(req, trust);
  return all[all.length - 1] ?? req.socket.remoteAddress ?? 'unknown';
}

/**
 * The origin (scheme://host[:port]) the client addressed: TLS on the socket, or a trusted proxy's
 * X-Forwarded-Proto / X-Forwarded-Host (last entry, as Fastify reads them); null without a Host.
 */
export function requestOrigin(req: IncomingMessage, trust: Trust | null): string | null {
  const proxied = fromTrustedProxy(req, trust);
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const proto = encrypted ? 'https' : (proxied && lastEntry(req.headers['x-forwarded-proto'])?.toLowerCase()) || 'http';
  const host = (proxied && lastEntry(req.headers['x-forwarded-host'])) || req.headers.host;
  if (!host || (proto !== 'http' && proto !== 'https')) return null;
  return normalizeOrigin(`${proto}://${host}`);
}

/**
 * `scheme://host[:port]` in its canonical form (lower case, default port dropped), or null when `s` is not a
 * bare origin (a path, query, credentials, `null`, another scheme).
 */
export function normalizeOrigin(s: string): string | null {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) return null;
  return u.origin;
}

/**
 * The handshake's Origin check: scheme, host and port must match exactly — the request's own origin
 * (same-origin) or an allow-list entry. No Origin at all is a non-browser client (it still authenticates).
 */
export function originAllowed(req: IncomingMessage, allowed: ReadonlySet<string>, trust: Trust | null): boolean {
  const raw = req.headers.origin;
  if (raw === undefined) return true;
  const origin = normalizeOrigin(raw);
  if (!origin) return false;
  return origin === requestOrigin(req, trust) || allowed.has(origin);
}

/** ALLOWED_ORIGINS entries in canonical form; a malformed entry is a configuration error. */
export function allowList(entries: string[]): Set<string> {
  const out = new Set<string>();
  for (const e of entries) {
    const o = normalizeOrigin(e);
    if (!o) throw new Error(`ALLOWED_ORIGINS: not an origin (scheme://host[:port]): ${e}`);
    out.add(o);
  }
  return out;
}
