import { createHash } from 'node:crypto';

/**
 * Identities are normalised once, here, and every use (sign-in lookup, rate-limit buckets, audit) takes
 * the normalised form: Unicode NFKC (full-width and compatibility forms fold to their plain letters),
 * surrounding whitespace (incl. tabs and non-breaking spaces) removed, lower case. Two spellings that
 * reach the same account always reach the same bucket.
 */
export function normalizeEmail(raw: string): string {
  return raw.normalize('NFKC').trim().toLowerCase();
}

/**
 * A name-based UUID (RFC 9562 version 5: SHA-1 of a namespace and a name): the same name gives the same id, always.
 * For rows whose own key is not a UUID but whose API id must be one (API.md: "Ids are UUID strings"), e.g. an
 * invoice line: named by its invoice's id and its own number, with no column to add to an append-only table.
 */
export function nameUuid(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error('nameUuid: the namespace must be a UUID');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
