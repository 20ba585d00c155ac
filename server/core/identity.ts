/**
 * Identities are normalised once, here, and every use (sign-in lookup, rate-limit buckets, audit) takes
 * the normalised form: Unicode NFKC (full-width and compatibility forms fold to their plain letters),
 * surrounding whitespace (incl. tabs and non-breaking spaces) removed, lower case. Two spellings that
 * reach the same account always reach the same bucket.
 */
export function normalizeEmail(raw: string): string {
  return raw.normalize('NFKC').trim().toLowerCase();
}
