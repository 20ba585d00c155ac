import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nameUuid } from '../../server/core/identity.ts';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('nameUuid (version 5, name-based): the API id of a row keyed otherwise, e.g. an invoice line', () => {
  it("gives RFC 9562's example: www.example.com in the DNS namespace", () => {
    expect(nameUuid('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('is a version 5 UUID, the same for the same name, different for different names or namespaces', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.uuid(), fc.string(), fc.string(), (ns1, ns2, a, b) => {
        const x = nameUuid(ns1, a);
        expect(x).toMatch(UUID_V5);
        expect(nameUuid(ns1, a)).toBe(x);
        if (a !== b) expect(nameUuid(ns1, b)).not.toBe(x);
        if (ns1.toLowerCase() !== ns2.toLowerCase()) expect(nameUuid(ns2, a)).not.toBe(x);
      }),
    );
  });

  it('refuses a namespace that is not a UUID', () => {
    expect(() => nameUuid('not-a-uuid', 'x')).toThrow();
  });
});
