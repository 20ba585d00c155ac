import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressAllowed, checkWebhookUrl, classifyAddress, classifyIPv4, parseIPv6, type AddressClass,
} from '../../server/core/webhooks-address.ts';
import {
  bodyPrefix, retryDelayMs, retrySchedule, shouldDisable, signatureHeader, signingSecrets, verifySignature, webhookBody,
} from '../../server/core/webhooks.ts';

const SECRET = 'whsec_test_secret';
const NOW = Date.UTC(2026, 11, 3, 20, 0, 0);

describe('webhook signatures (Stripe scheme)', () => {
  it('t=<unix>,v1=<hex HMAC-SHA256(secret, t.body)>', () => {
    const body = webhookBody({ id: 'e1', type: 'booking.confirmed', createdAt: new Date(NOW), data: { a: 1 } });
    expect(JSON.parse(body)).toEqual({ id: 'e1', type: 'booking.confirmed', createdAt: new Date(NOW).toISOString(), data: { a: 1 } });
    const h = signatureHeader([SECRET], NOW, body);
    const t = Math.floor(NOW / 1000);
    expect(h).toBe(`t=${t},v1=${createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex')}`);
  });

  it('property: a header made with a secret verifies with it, within the tolerance; never with another secret or body', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.string(), fc.integer({ min: -299, max: 299 }), (s1, s2, body, skewSec) => {
        const h = signatureHeader([s1], NOW, body);
        expect(verifySignature(s1, h, body, NOW + skewSec * 1000).ok).toBe(true);
        if (s2 !== s1) expect(verifySignature(s2, h, body, NOW)).toEqual({ ok: false, reason: 'no_match' });
        expect(verifySignature(s1, h, `${body}x`, NOW).ok).toBe(false);
      }),
    );
  });

  it('a stale timestamp is refused (replays), a malformed header too', () => {
    const h = signatureHeader([SECRET], NOW, '{}');
    expect(verifySignature(SECRET, h, '{}', NOW + 301_000)).toEqual({ ok: false, reason: 'too_old' });
    expect(verifySignature(SECRET, 'v1=abc', '{}', NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySignature(SECRET, '', '{}', NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('during a rotation overlap both secrets sign (new first); after it only the new one', () => {
    const ep = { secret: 'new', previousSecret: 'old', previousSecretExpiresAt: new Date(NOW + 3_600_000) };
    expect(signingSecrets(ep, new Date(NOW))).toEqual(['new', 'old']);
    expect(signingSecrets(ep, new Date(NOW + 3_600_000))).toEqual(['new']);
    const h = signatureHeader(signingSecrets(ep, new Date(NOW)), NOW, 'b');
    expect(h.split(',')).toHaveLength(3);
    expect(verifySignature('new', h, 'b', NOW).ok).toBe(true);
    expect(verifySignature('old', h, 'b', NOW).ok).toBe(true);
    const after = signatureHeader(signingSecrets(ep, new Date(NOW + 7_200_000)), NOW, 'b');
    expect(verifySignature('old', after, 'b', NOW).ok).toBe(false);
  });
});

describe('retry schedule', () => {
  const DEFAULT = { baseMs: 30_000, maxMs: 4 * 3_600_000, maxAttempts: 15 };

  it('defaults: 30 s doubling to 4 h, 15 attempts, about a day in all', () => {
    const s = retrySchedule(DEFAULT);
    expect(s).toHaveLength(14);
    expect(s.slice(0, 3)).toEqual([30_000, 60_000, 120_000]);
    expect(s.at(-1)).toBe(4 * 3_600_000);
    const total = s.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(20 * 3_600_000);
    expect(total).toBeLessThan(28 * 3_600_000);
  });

  it('property: within ±20 % of the nominal delay, never above max × 1.2, none after the last attempt', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, noNaN: true }),
        (baseMs, maxMs, maxAttempts, attempt, rand) => {
          const p = { baseMs, maxMs, maxAttempts };
          const d = retryDelayMs(p, attempt, rand);
          if (attempt >= maxAttempts) {
            expect(d).toBeNull();
            return;
          }
          const nominal = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
          expect(d).not.toBeNull();
          expect(d!).toBeGreaterThanOrEqual(Math.floor(nominal * 0.8));
          expect(d!).toBeLessThanOrEqual(Math.ceil(nominal * 1.2));
        },
      ),
    );
  });

  it('property: the nominal schedule never decreases', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 30 }), (baseMs, maxMs, maxAttempts) => {
        const s = retrySchedule({ baseMs, maxMs, maxAttempts });
        for (let i = 1; i < s.length; i++) expect(s[i]!).toBeGreaterThanOrEqual(s[i - 1]!);
      }),
    );
  });

  it('an endpoint is disabled after N failures in a row spanning the period', () => {
    const o = { afterFailures: 3, afterMs: 1000 };
    expect(shouldDisable(3, new Date(NOW - 1000), new Date(NOW), o)).toBe(true);
    expect(shouldDisable(2, new Date(NOW - 5000), new Date(NOW), o)).toBe(false);
    expect(shouldDisable(3, new Date(NOW - 999), new Date(NOW), o)).toBe(false);
    expect(shouldDisable(3, null, new Date(NOW), o)).toBe(false);
  });

  it('keeps at most 256 characters of an answer, without NUL', () => {
    expect(bodyPrefix('x'.repeat(1000))).toHaveLength(256);
    expect(bodyPrefix('a\u0000b')).toBe('ab');
    expect([...bodyPrefix('😀'.repeat(300))]).toHaveLength(256);
  });
});

describe('address classification (SSRF)', () => {
  const cases: [string, AddressClass][] = [
    ['127.0.0.1', 'loopback'], ['127.255.1.2', 'loopback'], ['::1', 'loopback'], ['[::1]', 'loopback'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.0.1', 'private'], ['fc00::1', 'private'], ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'link-local'], ['169.254.0.1', 'link-local'], ['fe80::1', 'link-local'],
    ['100.64.0.1', 'cgnat'], ['100.127.255.255', 'cgnat'],
    ['0.0.0.0', 'unspecified'], ['0.1.2.3', 'unspecified'], ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'], ['239.255.255.255', 'multicast'], ['ff02::1', 'multicast'],
    ['240.0.0.1', 'reserved'], ['255.255.255.255', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['::ffff:10.0.0.1', 'private'], ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'link-local'], ['2002:7f00:1::', 'loopback'],
    ['8.8.8.8', 'public'], ['172.32.0.1', 'public'], ['100.128.0.1', 'public'], ['2001:4860:4860::8888', 'public'], ['203.0.113.10', 'public'],
  ];
  it.each(cases)('%s is %s', (ip, cls) => expect(classifyAddress(ip)).toBe(cls));

  it('names and junk are not addresses', () => {
    for (const s of ['localhost', 'example.com', '1.2.3', '256.1.1.1', '01.2.3.4', ':::1', '1::2::3', 'fe80::1%eth0', '']) expect(classifyAddress(s)).toBeNull();
  });

  it('property: an IPv4-mapped IPv6 address is classified as its IPv4 address', () => {
    fc.assert(
      fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), (o) => {
        const v4 = o.join('.');
        const hex = `::ffff:${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
        expect(classifyAddress(`::ffff:${v4}`)).toBe(classifyIPv4(o));
        expect(classifyAddress(hex)).toBe(classifyIPv4(o));
      }),
    );
  });

  it('property: every 10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16 and 127/8 address is refused by default', () => {
    const rules = { allowLoopback: false, allowPrivate: false };
    const inNet = (a: number, b0: number, b1: number) => fc.tuple(fc.constant(a), fc.integer({ min: b0, max: b1 }), fc.nat(255), fc.nat(255));
    fc.assert(
      fc.property(fc.oneof(inNet(10, 0, 255), inNet(172, 16, 31), inNet(192, 168, 168), inNet(100, 64, 127), inNet(169, 254, 254), inNet(127, 0, 255)), (o) => {
        expect(addressAllowed(classifyAddress(o.join('.'))!, rules)).toBe(false);
      }),
    );
  });

  it('property: parseIPv6 round-trips the fully written form', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }), (g) => {
        expect(parseIPv6(g.map((x) => x.toString(16)).join(':'))).toEqual(g);
      }),
    );
  });

  it('config: loopback only with allowLoopback, private and CGNAT only with allowPrivate, the rest never', () => {
    const all = { allowLoopback: true, allowPrivate: true };
    expect(addressAllowed('loopback', { allowLoopback: true, allowPrivate: false })).toBe(true);
    expect(addressAllowed('private', { allowLoopback: true, allowPrivate: false })).toBe(false);
    expect(addressAllowed('cgnat', { allowLoopback: false, allowPrivate: true })).toBe(true);
    for (const c of ['link-local', 'unspecified', 'multicast', 'reserved'] as const) expect(addressAllowed(c, all)).toBe(false);
  });
});

describe('webhook URL rules', () => {
  const prod = { allowHttp: false, allowLoopback: false, allowPrivate: false };
  it('https only outside development; no ftp, no credentials, no non-URL', () => {
    expect(checkWebhookUrl('https://hooks.example.com/cx', prod).ok).toBe(true);
    expect(checkWebhookUrl('http://hooks.example.com/cx', prod)).toMatchObject({ ok: false, code: 'url_scheme_not_allowed' });
    expect(checkWebhookUrl('http://hooks.example.com/cx', { ...prod, allowHttp: true }).ok).toBe(true);
    expect(checkWebhookUrl('ftp://hooks.example.com/cx', { ...prod, allowHttp: true })).toMatchObject({ ok: false, code: 'url_scheme_not_allowed' });
    expect(checkWebhookUrl('not a url', prod)).toMatchObject({ ok: false, code: 'invalid_url' });
    expect(checkWebhookUrl('https://user:pw@hooks.example.com/', prod)).toMatchObject({ ok: false, code: 'url_credentials_not_allowed' });
    expect(checkWebhookUrl(`https://a.example/${'x'.repeat(2100)}`, prod)).toMatchObject({ ok: false, code: 'invalid_url' });
  });
  it('IP literals in any spelling the URL parser accepts are checked', () => {
    for (const u of ['https://127.0.0.1/', 'https://2130706433/', 'https://0x7f.1/', 'https://[::1]/', 'https://[::ffff:127.0.0.1]/', 'https://169.254.169.254/latest', 'https://[fe80::1]/', 'https://0.0.0.0/']) {
      expect(checkWebhookUrl(u, prod), u).toMatchObject({ ok: false, code: 'address_not_allowed' });
    }
    expect(checkWebhookUrl('https://127.0.0.1:8443/', { ...prod, allowLoopback: true })).toMatchObject({ ok: true, ip: '127.0.0.1' });
  });
});
