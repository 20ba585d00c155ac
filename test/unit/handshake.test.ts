import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { canonicalJson, idemKey } from '../../server/adapters/db/idempotency.ts';
import { allowList, clientAddress, compileTrust, normalizeOrigin, originAllowed, requestOrigin } from '../../server/adapters/realtime/handshake.ts';

/** A minimal handshake request: headers and the peer socket. */
function req(headers: Record<string, string>, peer = '10.0.0.1', encrypted = false): IncomingMessage {
  return { headers, socket: { remoteAddress: peer, encrypted }, connection: { remoteAddress: peer } } as unknown as IncomingMessage;
}

describe('Socket.IO handshake Origin check (issue 9)', () => {
  const none = compileTrust(false);
  const oneHop = compileTrust(1);

  it('normalises bare origins and refuses anything else', () => {
    expect(normalizeOrigin('https://App.Example:443')).toBe('https://app.example');
    expect(normalizeOrigin('http://a.example:80/')).toBe('http://a.example');
    expect(normalizeOrigin('http://a.example:8080')).toBe('http://a.example:8080');
    for (const bad of ['null', '', 'a.example', 'ws://a.example', 'file:///x', 'https://a.example/path', 'https://u:p@a.example', 'https://a.example?x=1', 'javascript:alert(1)']) {
      expect(normalizeOrigin(bad), bad).toBeNull();
    }
    expect(() => allowList(['https://a.example/path'])).toThrow(/ALLOWED_ORIGINS/);
  });

  it('same-origin compares scheme + host + port: an https Origin does not match a plain-http request, and vice versa', () => {
    const allowed = allowList([]);
    expect(originAllowed(req({ host: 'x.example:3000', origin: 'http://x.example:3000' }), allowed, none)).toBe(true);
    expect(originAllowed(req({ host: 'x.example:3000', origin: 'https://x.example:3000' }), allowed, none)).toBe(false);
    expect(originAllowed(req({ host: 'x.example:3000', origin: 'http://x.example:3001' }), allowed, none)).toBe(false);
    expect(originAllowed(req({ host: 'x.example', origin: 'http://x.example' }, '10.0.0.1', true), allowed, none)).toBe(false);
    expect(originAllowed(req({ host: 'x.example', origin: 'https://x.example' }, '10.0.0.1', true), allowed, none)).toBe(true);
    // no Origin: a non-browser client (it still authenticates); a garbled one is refused
    expect(originAllowed(req({ host: 'x.example' }), allowed, none)).toBe(true);
    expect(originAllowed(req({ host: 'x.example', origin: 'null' }), allowed, none)).toBe(false);
  });

  it('X-Forwarded-Proto / -Host count only when the peer is a trusted proxy', () => {
    const allowed = allowList([]);
    const h = { host: 'internal:3000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'x.example' };
    expect(requestOrigin(req(h), none)).toBe('http://internal:3000');
    expect(requestOrigin(req(h), oneHop)).toBe('https://x.example');
    expect(originAllowed(req({ ...h, origin: 'https://x.example' }), allowed, oneHop)).toBe(true);
    expect(originAllowed(req({ ...h, origin: 'http://x.example' }), allowed, oneHop)).toBe(false);
    expect(originAllowed(req({ ...h, origin: 'https://x.example' }), allowed, none)).toBe(false);
    // a proxy list: only that peer is believed
    const listed = compileTrust(['10.0.0.0/8']);
    expect(requestOrigin(req(h, '10.1.2.3'), listed)).toBe('https://x.example');
    expect(requestOrigin(req(h, '192.0.2.7'), listed)).toBe('http://internal:3000');
  });

  it('allow-list entries match exactly by scheme + host + port', () => {
    const allowed = allowList(['https://app.example', 'http://plain.example:8080']);
    const at = (origin: string) => originAllowed(req({ host: 'api.example', origin }), allowed, none);
    expect(at('https://app.example')).toBe(true);
    expect(at('https://app.example:443')).toBe(true);
    expect(at('http://app.example')).toBe(false);
    expect(at('https://app.example:8443')).toBe(false);
    expect(at('http://plain.example:8080')).toBe(true);
    expect(at('https://plain.example:8080')).toBe(false);
  });

  it('the client address is the socket’s own unless a trusted proxy forwarded it', () => {
    const h = { 'x-forwarded-for': '203.0.113.9, 198.51.100.4' };
    expect(clientAddress(req(h, '10.0.0.1'), none)).toBe('10.0.0.1');
    expect(clientAddress(req(h, '10.0.0.1'), oneHop)).toBe('198.51.100.4'); // one hop: the proxy's view, not the client's claim
    expect(clientAddress(req(h, '10.0.0.1'), compileTrust(2))).toBe('203.0.113.9');
  });
});

describe('Idempotency-Key request hash (issue 9)', () => {
  it('canonical JSON sorts keys recursively and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson(JSON.parse('{ "b" : 1 ,\n "a" : [ 1 , 2 ] }'))).toBe('{"a":[1,2],"b":1}');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson(['x', undefined])).toBe('["x",null]');
    expect(canonicalJson({ '\u00e9': 1, e: 2 })).toBe('{"e":2,"\u00e9":1}');
  });

  it('a reordered body hashes alike; another body or route does not', () => {
    const a = idemKey('org', 'k', 'POST /api/holds', { listingId: 'L', teu: 2, tonnes: 20 })!;
    const b = idemKey('org', 'k', 'POST /api/holds', { tonnes: 20, teu: 2, listingId: 'L' })!;
    expect(b.requestHash).toBe(a.requestHash);
    expect(idemKey('org', 'k', 'POST /api/holds', { listingId: 'L', teu: 3, tonnes: 20 })!.requestHash).not.toBe(a.requestHash);
    expect(idemKey('org', 'k', 'POST /api/holdz', { listingId: 'L', teu: 2, tonnes: 20 })!.requestHash).not.toBe(a.requestHash);
    // the pre-canonical hash of an unsorted body is kept beside it, so keys stored before still match
    expect(b.legacyHash).toBeDefined();
    expect(b.legacyHash).not.toBe(b.requestHash);
    expect(idemKey('org', undefined, 'POST /api/holds', {})).toBeUndefined();
  });
});
