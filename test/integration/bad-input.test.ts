import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';
import { buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

type Auth = 'none' | 'session' | 'sessionNoCsrf' | 'apiKey' | 'memberKey' | 'garbageBearer' | 'garbageCookie';

interface Case {
  name: string;
  method: InjectOptions['method'];
  url: string;
  auth: Auth;
  /** A JS value sent as JSON, unless `raw` is given. */
  body?: unknown;
  /** Sent as is, with `contentType` (default application/json). */
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** The expected status (or any of several); every case must be 4xx in the error shape regardless. */
  status: number | number[];
  code?: string;
}

const LONG = 'a'.repeat(10_000);
const ODD = ['\u202e\u0000evil', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 ﷽', '\ud800', '%00%ff', "'; drop table users; --", '<script>alert(1)</script>', 'ｅｘａｍｐｌｅ＠ｄｅｍｏ.test'];
const BIG = JSON.stringify({ email: 'forwarder1@demo.test', password: 'x'.repeat(70 * 1024) });
const BAD_UUIDS = ['not-a-uuid', '123', '00000000-0000-0000-0000-00000000000g', '{00000000-0000-4000-8000-000000000000}', encodeURIComponent("1' or '1'='1"), '%F0%9F%98%80', '%E0%A4%A', '%', 'a'.repeat(300)];
const MISSING_UUID = '00000000-0000-4000-8000-000000000000';

function cases(): Case[] {
  const out: Case[] = [];
  const add = (c: Case) => out.push(c);

  // ---- POST /api/session ----------------------------------------------------------------------
  const signInUrl = '/api/session';
  add({ name: 'sign-in: no body', method: 'POST', url: signInUrl, auth: 'none', status: 400 });
  add({ name: 'sign-in: empty JSON body', method: 'POST', url: signInUrl, auth: 'none', raw: '', status: 400 });
  add({ name: 'sign-in: {}', method: 'POST', url: signInUrl, auth: 'none', body: {}, status: 400, code: 'invalid_input' });
  add({ name: 'sign-in: missing password', method: 'POST', url: signInUrl, auth: 'none', body: { email: 'forwarder1@demo.test' }, status: 400 });
  add({ name: 'sign-in: missing email', method: 'POST', url: signInUrl, auth: 'none', body: { password: 'cluster-demo' }, status: 400 });
  add({ name: 'sign-in: extra field', method: 'POST', url: signInUrl, auth: 'none', body: { email: 'forwarder1@demo.test', password: 'cluster-demo', role: 'admin' }, status: 400 });
  add({ name: 'sign-in: email object', method: 'POST', url: signInUrl, auth: 'none', body: { email: { $gt: '' }, password: 'cluster-demo' }, status: 400 });
  add({ name: 'sign-in: password object', method: 'POST', url: signInUrl, auth: 'none', body: { email: 'forwarder1@demo.test', password: { $gt: '' } }, status: 400 });
  add({ name: 'sign-in: email null', method: 'POST', url: signInUrl, auth: 'none', body: { email: null, password: 'x' }, status: 400 });
  add({ name: 'sign-in: two-element arrays', method: 'POST', url: signInUrl, auth: 'none', body: { email: ['a@b.c', 'd@e.f'], password: ['x', 'y'] }, status: 400 });
  add({ name: 'sign-in: array body', method: 'POST', url: signInUrl, auth: 'none', body: [{ email: 'forwarder1@demo.test', password: 'cluster-demo' }], status: 400 });
  add({ name: 'sign-in: JSON string body', method: 'POST', url: signInUrl, auth: 'none', raw: '"forwarder1@demo.test"', status: 400 });
  add({ name: 'sign-in: JSON null body', method: 'POST', url: signInUrl, auth: 'none', raw: 'null', status: 400 });
  add({ name: 'sign-in: JSON number body', method: 'POST', url: signInUrl, auth: 'none', raw: '1e999', status: 400 });
  add({ name: 'sign-in: huge email', method: 'POST', url: signInUrl, auth: 'none', body: { email: LONG, password: 'x' }, status: 400 });
  add({ name: 'sign-in: huge password', method: 'POST', url: signInUrl, auth: 'none', body: { email: 'forwarder1@demo.test', password: LONG }, status: 400 });
  for (const s of ODD) {
    // NUL and a lone surrogate cannot be stored in Postgres text/jsonb: refusing them as invalid input (400)
    // is as right as invalid_credentials (401); a 5xx is not.
    const unstorable = s.includes('\u0000') || s === '\ud800';
    add({
      name: `sign-in: odd email ${JSON.stringify(s)}`, method: 'POST', url: signInUrl, auth: 'none', body: { email: s.padEnd(3, '.'), password: s.padEnd(1) },
      ...(unstorable ? { status: [400, 401] } : { status: 401, code: 'invalid_credentials' }),
    });
  }
  add({ name: 'sign-in: malformed JSON', method: 'POST', url: signInUrl, auth: 'none', raw: '{"email":"forwarder1@demo.test",', status: 400, code: 'malformed_json' });
  add({ name: 'sign-in: JSON with trailing garbage', method: 'POST', url: signInUrl, auth: 'none', raw: '{"email":"forwarder1@demo.test","password":"cluster-demo"} x', status: 400, code: 'malformed_json' });
  add({ name: 'sign-in: prototype pollution', method: 'POST', url: signInUrl, auth: 'none', raw: '{"email":"forwarder1@demo.test","password":"cluster-demo","__proto__":{"admin":true}}', status: 400 });
  add({ name: 'sign-in: text/plain', method: 'POST', url: signInUrl, auth: 'none', raw: 'email=forwarder1@demo.test&password=cluster-demo', contentType: 'text/plain', status: 400 });
  add({ name: 'sign-in: form-encoded', method: 'POST', url: signInUrl, auth: 'none', raw: 'email=forwarder1%40demo.test&password=cluster-demo', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'unsupported_media_type' });
  add({ name: 'sign-in: xml', method: 'POST', url: signInUrl, auth: 'none', raw: '<a/>', contentType: 'application/xml', status: 415 });
  add({ name: 'sign-in: body > 64 KiB', method: 'POST', url: signInUrl, auth: 'none', raw: BIG, status: 413, code: 'body_too_large' });
  add({ name: 'sign-in: garbage bearer', method: 'POST', url: signInUrl, auth: 'garbageBearer', body: { email: 'forwarder1@demo.test', password: 'cluster-demo' }, status: 401 });

  // ---- DELETE /api/session ---------------------------------------------------------------------
  add({ name: 'sign-out: not signed in', method: 'DELETE', url: '/api/session', auth: 'none', status: 401, code: 'unauthorized' });
  add({ name: 'sign-out: unknown cookie', method: 'DELETE', url: '/api/session', auth: 'garbageCookie', status: 401 });
  add({ name: 'sign-out: garbage bearer', method: 'DELETE', url: '/api/session', auth: 'garbageBearer', status: 401 });
  add({ name: 'sign-out: no CSRF token', method: 'DELETE', url: '/api/session', auth: 'sessionNoCsrf', status: 403, code: 'csrf' });
  add({ name: 'sign-out: CSRF token of odd unicode', method: 'DELETE', url: '/api/session', auth: 'sessionNoCsrf', headers: { 'x-csrf-token': encodeURIComponent(ODD[1]!) }, status: 403, code: 'csrf' });
  add({ name: 'sign-out: malformed JSON body', method: 'DELETE', url: '/api/session', auth: 'session', raw: '{', status: 400 });
  add({ name: 'sign-out: body > 64 KiB', method: 'DELETE', url: '/api/session', auth: 'session', raw: BIG, status: 413 });
  add({ name: 'sign-out: xml body', method: 'DELETE', url: '/api/session', auth: 'session', raw: '<a/>', contentType: 'application/xml', status: 415 });

  // ---- GET /api/me, /api/clusters, /api/corridors -----------------------------------------------
  for (const url of ['/api/me', '/api/clusters', '/api/corridors', '/api/departures', `/api/departures/${MISSING_UUID}`, '/api/api-keys']) {
    add({ name: `${url}: not signed in`, method: 'GET', url, auth: 'none', status: 401, code: 'unauthorized' });
    add({ name: `${url}: unknown cookie`, method: 'GET', url, auth: 'garbageCookie', status: 401 });
    add({ name: `${url}: garbage bearer`, method: 'GET', url, auth: 'garbageBearer', status: 401 });
    add({ name: `${url}: huge cookie`, method: 'GET', url, auth: 'none', headers: { cookie: `cx_session=${LONG}` }, status: 401 });
    add({ name: `${url}: empty bearer`, method: 'GET', url, auth: 'none', headers: { authorization: 'Bearer ' }, status: 401 });
    add({ name: `${url}: basic auth`, method: 'GET', url, auth: 'none', headers: { authorization: 'Basic Zm9yd2FyZGVyMUBkZW1vLnRlc3Q6Y2x1c3Rlci1kZW1v' }, status: 401 });
  }

  // ---- GET /api/departures ---------------------------------------------------------------------
  const dq = (q: string, status = 400): Case => ({ name: `departures?${q.slice(0, 80)}`, method: 'GET', url: `/api/departures?${q}`, auth: 'session', status });
  for (const q of [
    'from=dedui', 'from=DEDU', 'from=DEDUI1', 'from=12345', 'from=DE-DU', 'to=%3Cscript%3E', `from=${encodeURIComponent(ODD[1]!)}`, 'from=DEDUI&from=ESZAZ',
    'from=', 'to=%00%00%00%00%00', `to=${'A'.repeat(5000)}`,
    'mode=truck', 'mode=RAIL', 'mode=rail&mode=barge', 'mode[]=rail',
    'after=not-a-date', 'after=2026-13-45T00:00:00Z', 'after=2026-02-30T10:00:00Z', 'after=2026-01-01', 'after=1700000000000', 'before=yesterday',
    'after=2026-01-01T25:61:61Z', 'before=%2B275760-09-13T00:00:00.000Z',
    'limit=0', 'limit=-1', 'limit=1001', 'limit=1e9', 'limit=abc', 'limit=1.5', 'limit=99999999999999999999', 'limit=', 'limit=NaN', 'limit=Infinity',
    'foo=bar', 'from=DEDUI&extra=1', 'constructor=x', '__proto__=x',
  ]) {
    add(dq(q));
  }

  // ---- GET /api/departures/:id -----------------------------------------------------------------
  for (const id of BAD_UUIDS) {
    add({ name: `departure by bad id ${id.slice(0, 40)}`, method: 'GET', url: `/api/departures/${id}`, auth: 'session', status: id.length > 100 ? [400, 404, 414] : 400 });
  }
  add({ name: 'departure by unknown id', method: 'GET', url: `/api/departures/${MISSING_UUID}`, auth: 'session', status: 404, code: 'not_found' });
  add({ name: 'departure by nil uuid', method: 'GET', url: '/api/departures/00000000-0000-0000-0000-000000000000', auth: 'session', status: 404 });
  add({ name: 'departure with query junk', method: 'GET', url: `/api/departures/${MISSING_UUID}?id=1`, auth: 'session', status: 404 });

  // ---- POST /api/api-keys ----------------------------------------------------------------------
  const keys = '/api/api-keys';
  add({ name: 'key: not signed in', method: 'POST', url: keys, auth: 'none', body: { name: 'x' }, status: 401 });
  add({ name: 'key: no CSRF', method: 'POST', url: keys, auth: 'sessionNoCsrf', body: { name: 'x' }, status: 403, code: 'csrf' });
  add({ name: 'key: by a member key', method: 'POST', url: keys, auth: 'memberKey', body: { name: 'x' }, status: 403, code: 'forbidden' });
  add({ name: 'key: garbage bearer', method: 'POST', url: keys, auth: 'garbageBearer', body: { name: 'x' }, status: 401 });
  for (const auth of ['session', 'apiKey'] as const) {
    add({ name: `key(${auth}): empty name`, method: 'POST', url: keys, auth, body: { name: '' }, status: 400 });
    add({ name: `key(${auth}): name too long`, method: 'POST', url: keys, auth, body: { name: 'n'.repeat(101) }, status: 400 });
    add({ name: `key(${auth}): huge name`, method: 'POST', url: keys, auth, body: { name: LONG }, status: 400 });
    add({ name: `key(${auth}): name object`, method: 'POST', url: keys, auth, body: { name: { a: 1 } }, status: 400 });
    add({ name: `key(${auth}): name two-element array`, method: 'POST', url: keys, auth, body: { name: ['a', 'b'] }, status: 400 });
    add({ name: `key(${auth}): name null`, method: 'POST', url: keys, auth, body: { name: null }, status: 400 });
    add({ name: `key(${auth}): NUL in name`, method: 'POST', url: keys, auth, body: { name: 'a\u0000b' }, status: 400 });
    add({ name: `key(${auth}): role owner`, method: 'POST', url: keys, auth, body: { name: 'x', role: 'owner' }, status: 400 });
    add({ name: `key(${auth}): role ADMIN`, method: 'POST', url: keys, auth, body: { role: 'ADMIN' }, status: 400 });
    add({ name: `key(${auth}): role number`, method: 'POST', url: keys, auth, body: { role: 1 }, status: 400 });
    add({ name: `key(${auth}): extra field`, method: 'POST', url: keys, auth, body: { name: 'x', orgId: MISSING_UUID }, status: 400 });
    add({ name: `key(${auth}): array body`, method: 'POST', url: keys, auth, body: [{ name: 'x' }], status: 400 });
    add({ name: `key(${auth}): empty array body`, method: 'POST', url: keys, auth, body: [], status: 400 });
    add({ name: `key(${auth}): JSON string body`, method: 'POST', url: keys, auth, raw: '"x"', status: 400 });
    add({ name: `key(${auth}): JSON number body`, method: 'POST', url: keys, auth, raw: '-1', status: 400 });
    add({ name: `key(${auth}): malformed JSON`, method: 'POST', url: keys, auth, raw: '{"name": "x"', status: 400, code: 'malformed_json' });
    add({ name: `key(${auth}): xml`, method: 'POST', url: keys, auth, raw: '<name>x</name>', contentType: 'application/xml', status: 415 });
    add({ name: `key(${auth}): body > 64 KiB`, method: 'POST', url: keys, auth, raw: JSON.stringify({ name: 'x'.repeat(70 * 1024) }), status: 413 });
  }

  // ---- GET /api/api-keys -----------------------------------------------------------------------
  add({ name: 'list keys: by a member key', method: 'GET', url: keys, auth: 'memberKey', status: 403, code: 'forbidden' });

  // ---- DELETE /api/api-keys/:id ----------------------------------------------------------------
  for (const id of BAD_UUIDS) {
    add({ name: `revoke bad id ${id.slice(0, 40)}`, method: 'DELETE', url: `${keys}/${id}`, auth: 'session', status: id.length > 100 ? [400, 404, 414] : 400 });
  }
  add({ name: 'revoke unknown id', method: 'DELETE', url: `${keys}/${MISSING_UUID}`, auth: 'session', status: 404, code: 'not_found' });
  add({ name: 'revoke unknown id by key', method: 'DELETE', url: `${keys}/${MISSING_UUID}`, auth: 'apiKey', status: 404 });
  add({ name: 'revoke: no id', method: 'DELETE', url: `${keys}/`, auth: 'session', status: 400 });
  add({ name: 'revoke: not signed in', method: 'DELETE', url: `${keys}/${MISSING_UUID}`, auth: 'none', status: 401 });
  add({ name: 'revoke: no CSRF', method: 'DELETE', url: `${keys}/${MISSING_UUID}`, auth: 'sessionNoCsrf', status: 403 });
  add({ name: 'revoke: malformed JSON body', method: 'DELETE', url: `${keys}/${MISSING_UUID}`, auth: 'session', raw: '{{', status: 400 });

  // ---- POST /api/bid-groups (issue 14) ------------------------------------------------------------
  const groups = '/api/bid-groups';
  const gb = (listingId: string, o: Record<string, unknown> = {}) => ({ listingId, teu: 1, unitPriceCents: 10_000, ...o });
  const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  add({ name: 'group: one listing twice', method: 'POST', url: groups, auth: 'session', body: { bids: [gb(MISSING_UUID), gb(MISSING_UUID)] }, status: 400, code: 'invalid_bid_group' });
  add({ name: 'group: a single listing', method: 'POST', url: groups, auth: 'session', body: { bids: [gb(MISSING_UUID)] }, status: 400, code: 'invalid_bid_group' });
  add({ name: 'group: six listings', method: 'POST', url: groups, auth: 'session', body: { bids: [1, 2, 3, 4, 5, 6].map((i) => gb(uuid(i))) }, status: 400, code: 'invalid_bid_group' });
  add({ name: 'group: no bids', method: 'POST', url: groups, auth: 'session', body: { bids: [] }, status: 400 });
  add({ name: 'group: no body', method: 'POST', url: groups, auth: 'session', status: 400 });
  add({ name: 'group: bids not an array', method: 'POST', url: groups, auth: 'session', body: { bids: gb(MISSING_UUID) }, status: 400 });
  add({ name: 'group: another forwarder’s bid adopted', method: 'POST', url: groups, auth: 'session', body: { bids: [gb(uuid(1), { bidId: uuid(9) }), gb(uuid(2))] }, status: 400 });
  add({ name: 'group: joins another group', method: 'POST', url: groups, auth: 'session', body: { groupId: uuid(9), bids: [gb(uuid(1)), gb(uuid(2))] }, status: 400 });
  add({ name: 'group: for another organisation', method: 'POST', url: groups, auth: 'session', body: { bids: [gb(uuid(1), { orgId: uuid(9) }), gb(uuid(2))] }, status: 400 });
  add({ name: 'group: auto-bid maximum', method: 'POST', url: groups, auth: 'session', body: { bids: [gb(uuid(1), { maxUnitPriceCents: 20_000 }), gb(uuid(2))] }, status: 400 });
  add({ name: 'group: zero TEU', method: 'POST', url: groups, auth: 'session', body: { bids: [gb(uuid(1), { teu: 0 }), gb(uuid(2))] }, status: 400 });
  add({ name: 'group: fractional price', method: 'POST', url: groups, auth: 'session', body: { bids: [gb(uuid(1), { unitPriceCents: 10.5 }), gb(uuid(2))] }, status: 400 });
  add({ name: 'group: bad listing id', method: 'POST', url: groups, auth: 'session', body: { bids: [gb('not-a-uuid'), gb(uuid(2))] }, status: 400 });
  add({ name: 'group: unknown listings', method: 'POST', url: groups, auth: 'session', body: { bids: [gb(uuid(1)), gb(uuid(2))] }, status: 404, code: 'not_found' });
  add({ name: 'group: no CSRF', method: 'POST', url: groups, auth: 'sessionNoCsrf', body: { bids: [gb(uuid(1)), gb(uuid(2))] }, status: 403, code: 'csrf' });
  for (const id of BAD_UUIDS.slice(0, 4)) add({ name: `group by bad id ${id}`, method: 'GET', url: `${groups}/${id}`, auth: 'session', status: 400 });
  add({ name: 'group by unknown id', method: 'GET', url: `${groups}/${MISSING_UUID}`, auth: 'session', status: 404, code: 'not_found' });

  // ---- water levels (issue 14): schema refusals (the service's — future, too old, unknown gauge — in water-levels.test.ts)
  const wl = '/api/water-levels';
  const okLevel = { gauge: 'KAUB', levelCm: 120, measuredAt: new Date(Date.now() - 60_000).toISOString() };
  add({ name: 'water level: negative', method: 'POST', url: wl, auth: 'session', body: { ...okLevel, levelCm: -5 }, status: 400, code: 'invalid_input' });
  add({ name: 'water level: fractional cm', method: 'POST', url: wl, auth: 'session', body: { ...okLevel, levelCm: 80.5 }, status: 400, code: 'invalid_input' });
  add({ name: 'water level: absurd', method: 'POST', url: wl, auth: 'session', body: { ...okLevel, levelCm: 100_000 }, status: 400, code: 'invalid_input' });
  add({ name: 'water level: not a date', method: 'POST', url: wl, auth: 'session', body: { ...okLevel, measuredAt: 'yesterday' }, status: 400, code: 'invalid_input' });
  add({ name: 'water level: gauge with odd characters', method: 'POST', url: wl, auth: 'session', body: { ...okLevel, gauge: "kaub'; --" }, status: 400, code: 'invalid_input' });
  add({ name: 'water level: unknown field', method: 'POST', url: wl, auth: 'session', body: { ...okLevel, extra: 1 }, status: 400, code: 'invalid_input' });
  add({ name: 'water level: no body', method: 'POST', url: wl, auth: 'session', status: 400 });

  // ---- webhooks (issue 15) ------------------------------------------------------------------------
  const hooks = '/api/webhooks';
  const hook = (o: Record<string, unknown> = {}) => ({ url: 'https://203.0.113.10/hook', events: ['booking.confirmed'], ...o });
  for (const auth of ['session', 'apiKey'] as const) {
    add({ name: `webhook(${auth}): not a URL`, method: 'POST', url: hooks, auth, body: hook({ url: 'not a url' }), status: 400, code: 'invalid_url' });
    add({ name: `webhook(${auth}): ftp://`, method: 'POST', url: hooks, auth, body: hook({ url: 'ftp://203.0.113.10/hook' }), status: 400, code: 'url_scheme_not_allowed' });
    add({ name: `webhook(${auth}): javascript:`, method: 'POST', url: hooks, auth, body: hook({ url: 'javascript:alert(1)' }), status: 400 });
    // (10,000 full type names, ~190 KB: the webhook endpoints take bodies up to 256 KiB, so the schema says 400)
    add({ name: `webhook(${auth}): 10,000 event types`, method: 'POST', url: hooks, auth, body: hook({ events: Array.from({ length: 10_000 }, (_, i) => String.fromCharCode(97 + (i % 26))) }), status: 400 });
    add({ name: `webhook(${auth}): 10,000 event type names`, method: 'POST', url: hooks, auth, body: hook({ events: new Array(10_000).fill('booking.confirmed') }), status: 400, code: 'invalid_input' });
    add({ name: `webhook(${auth}): unknown event type`, method: 'POST', url: hooks, auth, body: hook({ events: ['booking.exploded'] }), status: 400 });
    add({ name: `webhook(${auth}): empty events`, method: 'POST', url: hooks, auth, body: hook({ events: [] }), status: 400 });
    add({ name: `webhook(${auth}): events an object`, method: 'POST', url: hooks, auth, body: hook({ events: { 0: 'booking.confirmed' } }), status: 400 });
    add({ name: `webhook(${auth}): no url`, method: 'POST', url: hooks, auth, body: { events: ['booking.confirmed'] }, status: 400 });
    add({ name: `webhook(${auth}): url object`, method: 'POST', url: hooks, auth, body: hook({ url: { href: 'https://x' } }), status: 400 });
    add({ name: `webhook(${auth}): huge url`, method: 'POST', url: hooks, auth, body: hook({ url: `https://203.0.113.10/${LONG}` }), status: 400 });
    add({ name: `webhook(${auth}): credentials in url`, method: 'POST', url: hooks, auth, body: hook({ url: 'https://u:p@203.0.113.10/' }), status: 400, code: 'url_credentials_not_allowed' });
    add({ name: `webhook(${auth}): loopback`, method: 'POST', url: hooks, auth, body: hook({ url: 'http://127.0.0.1:9/' }), status: 400, code: 'address_not_allowed' });
    add({ name: `webhook(${auth}): metadata address`, method: 'POST', url: hooks, auth, body: hook({ url: 'http://169.254.169.254/latest' }), status: 400, code: 'address_not_allowed' });
    add({ name: `webhook(${auth}): private address`, method: 'POST', url: hooks, auth, body: hook({ url: 'https://10.0.0.1/' }), status: 400, code: 'address_not_allowed' });
    add({ name: `webhook(${auth}): huge description`, method: 'POST', url: hooks, auth, body: hook({ description: LONG }), status: 400 });
    add({ name: `webhook(${auth}): extra field`, method: 'POST', url: hooks, auth, body: hook({ secret: 'mine' }), status: 400 });
  }
  add({ name: 'webhook: by a member key', method: 'POST', url: hooks, auth: 'memberKey', body: hook(), status: 403, code: 'forbidden' });
  add({ name: 'webhook list: by a member key', method: 'GET', url: hooks, auth: 'memberKey', status: 403, code: 'forbidden' });
  add({ name: 'webhook: no CSRF', method: 'POST', url: hooks, auth: 'sessionNoCsrf', body: hook(), status: 403, code: 'csrf' });
  add({ name: 'webhook: not signed in', method: 'POST', url: hooks, auth: 'none', body: hook(), status: 401 });
  add({ name: 'webhook patch: empty body', method: 'PATCH', url: `${hooks}/${MISSING_UUID}`, auth: 'session', body: {}, status: 400 });
  add({ name: 'webhook patch: enabled string', method: 'PATCH', url: `${hooks}/${MISSING_UUID}`, auth: 'session', body: { enabled: 'yes' }, status: 400 });
  add({ name: 'webhook patch: unknown id', method: 'PATCH', url: `${hooks}/${MISSING_UUID}`, auth: 'session', body: { enabled: false }, status: 404, code: 'not_found' });
  for (const overlapHours of [-1, 1.5, 1000, 'a day']) {
    add({ name: `webhook rotate: overlapHours ${overlapHours}`, method: 'POST', url: `${hooks}/${MISSING_UUID}/rotate-secret`, auth: 'session', body: { overlapHours }, status: 400 });
  }
  for (const id of BAD_UUIDS.slice(0, 4)) {
    add({ name: `webhook by bad id ${id}`, method: 'DELETE', url: `${hooks}/${id}`, auth: 'session', status: 400 });
    add({ name: `webhook redeliver bad delivery id ${id}`, method: 'POST', url: `${hooks}/${MISSING_UUID}/deliveries/${id}/redeliver`, auth: 'session', status: 400 });
  }
  add({ name: 'webhook deliveries: limit 0', method: 'GET', url: `${hooks}/${MISSING_UUID}/deliveries?limit=0`, auth: 'session', status: 400 });
  add({ name: 'webhook ping: unknown id', method: 'POST', url: `${hooks}/${MISSING_UUID}/ping`, auth: 'session', status: 404, code: 'not_found' });

  // ---- watches, offers, no-shows (issue 14) --------------------------------------------------------
  const watches = '/api/watches';
  const w = (o: Record<string, unknown> = {}) => ({ from: 'DEDUI', to: 'ITBLQ', minTeu: 2, ...o });
  add({ name: 'watch: no body', method: 'POST', url: watches, auth: 'session', status: 400 });
  add({ name: 'watch: {}', method: 'POST', url: watches, auth: 'session', body: {}, status: 400 });
  for (const minTeu of [0, -1, 1.5, 'two', null, 1e9]) add({ name: `watch: minTeu ${JSON.stringify(minTeu)}`, method: 'POST', url: watches, auth: 'session', body: w({ minTeu }), status: 400 });
  for (const max of [0, -100, 10.5, 'cheap', 1e20]) add({ name: `watch: maxUnitPriceCents ${JSON.stringify(max)}`, method: 'POST', url: watches, auth: 'session', body: w({ maxUnitPriceCents: max }), status: 400 });
  add({ name: 'watch: minTonnes 0', method: 'POST', url: watches, auth: 'session', body: w({ minTonnes: 0 }), status: 400 });
  add({ name: 'watch: lower-case code', method: 'POST', url: watches, auth: 'session', body: w({ from: 'dedui' }), status: 400 });
  add({ name: 'watch: unknown cluster', method: 'POST', url: watches, auth: 'session', body: w({ to: 'XXXXX' }), status: 400, code: 'unknown_cluster' });
  add({ name: 'watch: same cluster', method: 'POST', url: watches, auth: 'session', body: w({ to: 'DEDUI' }), status: 400, code: 'same_cluster' });
  add({ name: 'watch: bad corridor id', method: 'POST', url: watches, auth: 'session', body: w({ corridorId: 'rail-1' }), status: 400 });
  add({ name: 'watch: unknown corridor', method: 'POST', url: watches, auth: 'session', body: w({ corridorId: MISSING_UUID }), status: 400, code: 'unknown_corridor' });
  add({ name: 'watch: unknown mode', method: 'POST', url: watches, auth: 'session', body: w({ modes: ['ship'] }), status: 400 });
  add({ name: 'watch: no modes', method: 'POST', url: watches, auth: 'session', body: w({ modes: [] }), status: 400 });
  add({ name: 'watch: a mode twice', method: 'POST', url: watches, auth: 'session', body: w({ modes: ['rail', 'rail'] }), status: 400 });
  add({ name: 'watch: departsAfter not a time', method: 'POST', url: watches, auth: 'session', body: w({ departsAfter: 'tomorrow' }), status: 400 });
  add({ name: 'watch: reversed window', method: 'POST', url: watches, auth: 'session', body: w({ departsAfter: '2031-01-02T00:00:00Z', departsBefore: '2031-01-01T00:00:00Z' }), status: 400, code: 'invalid_window' });
  add({ name: 'watch: for another organisation', method: 'POST', url: watches, auth: 'session', body: w({ orgId: MISSING_UUID }), status: 400 });
  add({ name: 'watch: no CSRF', method: 'POST', url: watches, auth: 'sessionNoCsrf', body: w(), status: 403, code: 'csrf' });
  add({ name: 'watch: not signed in', method: 'POST', url: watches, auth: 'none', body: w(), status: 401 });
  add({ name: 'watch delete: unknown id', method: 'DELETE', url: `${watches}/${MISSING_UUID}`, auth: 'session', status: 404, code: 'not_found' });
  const offer = `/api/offers/${MISSING_UUID}`;
  for (const body of [{ teu: 0 }, { teu: -1 }, { teu: 1.5 }, { teu: 'all' }, { tonnes: 0 }, { teu: 1, price: 1 }]) {
    add({ name: `offer accept: ${JSON.stringify(body)}`, method: 'POST', url: `${offer}/accept`, auth: 'session', body, status: 400 });
  }
  add({ name: 'offer accept: unknown offer', method: 'POST', url: `${offer}/accept`, auth: 'session', body: {}, status: 404, code: 'not_found' });
  add({ name: 'offer accept: no CSRF', method: 'POST', url: `${offer}/accept`, auth: 'sessionNoCsrf', body: {}, status: 403, code: 'csrf' });
  add({ name: 'offer decline: unknown offer', method: 'POST', url: `${offer}/decline`, auth: 'session', status: 404, code: 'not_found' });
  add({ name: 'no-show: by a forwarder', method: 'POST', url: `/api/bookings/${MISSING_UUID}/no-show`, auth: 'session', status: 403, code: 'forbidden' });
  for (const id of BAD_UUIDS.slice(0, 4)) {
    add({ name: `watch delete by bad id ${id}`, method: 'DELETE', url: `${watches}/${id}`, auth: 'session', status: 400 });
    add({ name: `offer accept by bad id ${id}`, method: 'POST', url: `/api/offers/${id}/accept`, auth: 'session', body: {}, status: 400 });
    add({ name: `offer decline by bad id ${id}`, method: 'POST', url: `/api/offers/${id}/decline`, auth: 'session', status: 400 });
    add({ name: `no-show by bad id ${id}`, method: 'POST', url: `/api/bookings/${id}/no-show`, auth: 'session', status: 400 });
    add({ name: `departure offers by bad id ${id}`, method: 'GET', url: `/api/departures/${id}/offer-chains`, auth: 'session', status: 400 });
  }
  return out;
}

describe('bad input never gets a 5xx, always gets the error shape, and changes nothing', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let s: Session;
  let adminKey: string;
  let adminKeyId: string;
  let memberKey: string;

  beforeAll(async () => {
    // A high sign-in limit, so that validation (not the rate limit) answers the sign-in cases.
    env = await createTestEnv({ cfg: { signInPerMinute: 100_000 } });
    ({ app } = await buildApp(env.cfg));
    s = await signIn(app, 'forwarder1@demo.test');
    const headers = { cookie: s.cookie, 'x-csrf-token': s.csrf };
    const a = await app.inject({ method: 'POST', url: '/api/api-keys', headers, payload: { name: 'admin key', role: 'admin' } });
    const m = await app.inject({ method: 'POST', url: '/api/api-keys', headers, payload: { name: 'member key' } });
    expect(a.statusCode).toBe(201);
    expect(m.statusCode).toBe(201);
    ({ key: adminKey, id: adminKeyId } = a.json());
    memberKey = m.json().key;
  });
  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  function headersFor(auth: Auth): Record<string, string> {
    switch (auth) {
      case 'none':
        return {};
      case 'session':
        return { cookie: s.cookie, 'x-csrf-token': s.csrf };
      case 'sessionNoCsrf':
        return { cookie: s.cookie };
      case 'apiKey':
        return { authorization: `Bearer ${adminKey}` };
      case 'memberKey':
        return { authorization: `Bearer ${memberKey}` };
      case 'garbageBearer':
        return { authorization: 'Bearer cxk_garbage_garbage' };
      case 'garbageCookie':
        return { cookie: 'cx_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
    }
  }

  it('answers every bad input with the expected 4xx in the { error: { code, message } } shape', async () => {
    const before = await tableCounts(env.db);
    const auditBefore = await env.db.selectFrom('audit_log').select(({ fn }) => fn.max('id').as('max')).executeTakeFirstOrThrow();
    const failures: string[] = [];
    const all = cases();
    expect(all.length).toBeGreaterThan(150);
    for (const c of all) {
      const headers: Record<string, string> = { ...headersFor(c.auth), ...(c.headers ?? {}) };
      let payload: string | Buffer | undefined;
      if (c.raw !== undefined) {
        payload = c.raw;
        headers['content-type'] = c.contentType ?? 'application/json';
      } else if (c.body !== undefined) {
        payload = JSON.stringify(c.body);
        headers['content-type'] = c.contentType ?? 'application/json';
      }
      const res = await app.inject({ method: c.method, url: c.url, headers, ...(payload !== undefined ? { payload } : {}) });
      let body: unknown;
      try {
        body = res.json();
      } catch {
        body = res.body;
      }
      const problems: string[] = [];
      if (res.statusCode >= 500) problems.push('5xx');
      const expected = Array.isArray(c.status) ? c.status : [c.status];
      if (!expected.includes(res.statusCode)) problems.push(`status ${res.statusCode}, expected ${expected.join(' or ')}`);
      try {
        expectErrorShape(body);
        if (res.statusCode < 400 || res.statusCode > 499) problems.push('not 4xx');
        if (c.code && body.error.code !== c.code) problems.push(`code ${body.error.code}, expected ${c.code}`);
        if (/\bat .+\.(ts|js):\d+/.test(body.error.message)) problems.push('stack trace in message');
      } catch (e) {
        problems.push((e as Error).message.slice(0, 200));
      }
      if (res.headers['set-cookie'] && String(res.headers['set-cookie']).match(/cx_session=[^;]/)) problems.push('issued a session cookie');
      if (problems.length) failures.push(`${c.name} [${c.method} ${c.url.slice(0, 80)}] → ${res.statusCode} ${res.body.slice(0, 200)}: ${problems.join('; ')}`);
    }
    // Regression cases for bugs this test found (now fixed): a NUL character reaching Postgres (22021) was a
    // 500; bad percent-encoding and over-long path parameters were answered in Fastify's own error format.
    // Soft, so that the "nothing changed" checks below still run.
    expect.soft(failures, failures.join('\n')).toEqual([]);

    // Nothing changed, apart from the audit log (a failed sign-in writes a row by design).
    const after = await tableCounts(env.db);
    const { audit_log: a0, ...restBefore } = before;
    const { audit_log: a1, ...restAfter } = after;
    expect(restAfter).toEqual(restBefore);
    expect(a1).toBeGreaterThanOrEqual(a0!);
    const newAudit = await env.db.selectFrom('audit_log').select('action').where('id', '>', Number(auditBefore.max ?? 0)).execute();
    expect(new Set(newAudit.map((r) => r.action))).toEqual(new Set(['session.sign_in_failed']));
    // the session and the keys used above are still alive: no bad input signed out or revoked anything
    expect((await app.inject({ method: 'GET', url: '/api/me', headers: headersFor('session') })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/me', headers: headersFor('apiKey') })).statusCode).toBe(200);
    const sessions = await env.db.selectFrom('sessions').select('revoked_at').execute();
    expect(sessions.every((r) => r.revoked_at === null)).toBe(true);
    const keyRows = await env.db.selectFrom('api_keys').select(['id', 'revoked_at']).execute();
    expect(keyRows.every((r) => r.revoked_at === null)).toBe(true);
    expect(keyRows.map((r) => r.id)).toContain(adminKeyId);
  });

  it('answers an unknown route with 404 not_found when signed in', async () => {
    for (const [method, url, headers] of [
      ['GET', '/api/nope', headersFor('session')],
      ['POST', '/api/nope', headersFor('session')],
      ['GET', '/api/departures/x/y', headersFor('session')],
      ['PATCH', '/api/session', headersFor('session')],
      ['PUT', '/api/api-keys', headersFor('apiKey')],
    ] as const) {
      const res = await app.inject({ method, url, headers });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      const b = res.json();
      expectErrorShape(b);
      expect(b.error.code).toBe('not_found');
    }
  });

  // Regression: with @fastify/static's wildcard route, GET /api/<unknown> used to reach the auth hook and
  // answer 401 instead of 404 (plugins/auth.ts now skips the static catch-all).
  it('answers an unknown route with 404 not_found when not signed in (not 401)', async () => {
    for (const [method, url, headers] of [
      ['GET', '/api/nope', {}],
      ['POST', '/api/nope', {}],
      ['DELETE', '/api/departures', {}],
      ['GET', '/api/departures/x/y', {}],
    ] as const) {
      const res = await app.inject({ method, url, headers });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      const b = res.json();
      expectErrorShape(b);
      expect(b.error.code).toBe('not_found');
    }
  });

  it('GET /health answers 200 with postgres and redis ok', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok' });
  });

  it('GET /docs/json is an OpenAPI document listing every endpoint', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    const paths = doc.paths as Record<string, Record<string, unknown>>;
    const expected: [string, string[]][] = [
      ['/api/session', ['post', 'delete']],
      ['/api/me', ['get']],
      ['/api/clusters', ['get']],
      ['/api/corridors', ['get']],
      ['/api/departures', ['get']],
      ['/api/departures/{id}', ['get']],
      ['/api/api-keys', ['post', 'get']],
      ['/api/api-keys/{id}', ['delete']],
      ['/health', ['get']],
    ];
    for (const [path, methods] of expected) {
      expect(paths[path], path).toBeDefined();
      for (const m of methods) expect(paths[path]![m], `${m} ${path}`).toBeDefined();
    }
  });
});
