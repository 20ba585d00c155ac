import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressAllowed, checkWebhookUrl, classifyAddress, type AddressRules } from '../../core/webhooks-address.ts';
import { bodyPrefix } from '../../core/webhooks.ts';

/**
 * The HTTP side of webhook deliveries (issue 15): one POST with a hard time limit, no redirects followed (node:http
 * never follows them; a 3xx is a failed attempt), at most a small prefix of the answer read and kept, and the
 * address checked where the connection is made: a custom `lookup` refuses a host name any of whose DNS answers
 * is forbidden (so a name re-pointed at a private or metadata address after registration — DNS rebinding — is
 * caught), and an IP literal is checked before connecting.
 */

export interface SendRules extends AddressRules {
  allowHttp: boolean;
}

export interface SendResult {
  ok: boolean;
  status: number | null;
  durationMs: number;
  /** At most 256 characters of the answer. */
  body: string | null;
  /** Why the attempt failed (no secrets, no bodies): `address_refused: …`, `timeout`, `http_503`, a socket error code. */
  error: string | null;
}

/** Resolves `hostname` and refuses it when any answer is a forbidden address (or none is an address at all). */
export async function resolveAllowed(hostname: string, rules: AddressRules): Promise<{ ok: true } | { ok: false; reason: string }> {
  const cls = classifyAddress(hostname);
  if (cls) return addressAllowed(cls, rules) ? { ok: true } : { ok: false, reason: `${hostname} is a ${cls} address` };
  let answers: dns.LookupAddress[];
  try {
    answers = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  } catch (err) {
    return { ok: false, reason: `${hostname} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  for (const a of answers) {
    const c = classifyAddress(a.address);
    if (!c || !addressAllowed(c, rules)) return { ok: false, reason: `${hostname} resolves to a ${c ?? 'unknown'} address` };
  }
  return answers.length ? { ok: true } : { ok: false, reason: `${hostname} has no address` };
}

class AddressRefused extends Error {
  readonly code = 'ESSRF';
}

/** A `lookup` for node:net that refuses forbidden answers (connect time). */
export function guardedLookup(rules: AddressRules): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true, verbatim: true }, (err, answers) => {
      if (err) return callback(err, '', 0);
      const bad = answers.find((a) => {
        const c = classifyAddress(a.address);
        return !c || !addressAllowed(c, rules);
      });
      if (bad || answers.length === 0) {
        const c = bad ? classifyAddress(bad.address) : null;
        return callback(new AddressRefused(`address_refused: ${hostname} resolves to a ${c ?? 'unknown'} address`), '', 0);
      }
      if (options.all) return callback(null, answers);
      return callback(null, answers[0]!.address, answers[0]!.family);
    });
  };
}

const USER_AGENT = 'ClusterExchange-Webhooks/1';

/** POSTs `body` to `url` with `headers`; never throws. */
export function postWebhook(url: string, body: string, headers: Record<string, string>, o: { timeoutMs: number; rules: SendRules }): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const check = checkWebhookUrl(url, o.rules);
  if (!check.ok) {
    const error = check.code === 'address_not_allowed' ? `address_refused: ${check.message}` : `${check.code}: ${check.message}`;
    return Promise.resolve({ ok: false, status: null, durationMs: 0, body: null, error });
  }
  const mod = check.url.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    let status: number | null = null;
    const finish = (r: Omit<SendResult, 'durationMs' | 'status'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, status, durationMs: elapsed() });
      req.destroy();
    };
    const req = mod.request(check.url, {
      method: 'POST',
      agent: false, // a fresh connection (and DNS check) per attempt
      lookup: guardedLookup(o.rules),
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': USER_AGENT },
    });
    const timer = setTimeout(() => finish({ ok: false, body: null, error: `timeout after ${o.timeoutMs} ms` }), o.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const msg = err instanceof AddressRefused ? err.message : `${err.code ?? 'error'}: ${err.message}`;
      finish({ ok: false, body: null, error: msg.slice(0, 400) });
    });
    req.on('response', (res) => {
      status = res.statusCode ?? null;
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const text = bodyPrefix(Buffer.concat(chunks).subarray(0, 1024).toString('utf8'));
        const ok = status !== null && status >= 200 && status < 300;
        finish({ ok, body: text, error: ok ? null : status !== null && status >= 300 && status < 400 ? `http_${status} (redirects are not followed)` : `http_${status}` });
      };
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        size += c.length;
        if (size >= 1024) done(); // enough for the log: the rest is never read
      });
      res.on('end', done);
      res.on('error', done);
    });
    req.end(body);
  });
}
