/**
 * Where a webhook may be delivered (issue 15, SSRF safety): classification of IP addresses and the URL rules. Pure:
 * the DNS answers are looked up by the caller (at registration, and again at connect time so a name that starts
 * resolving to a forbidden address — DNS rebinding — is caught) and classified here.
 */

export type AddressClass =
  | 'public'
  | 'loopback' // 127/8, ::1
  | 'private' // 10/8, 172.16/12, 192.168/16, fc00::/7 (unique local), fec0::/10 (old site-local)
  | 'cgnat' // 100.64/10 (carrier-grade NAT)
  | 'link-local' // 169.254/16 (incl. the cloud metadata 169.254.169.254), fe80::/10
  | 'unspecified' // 0.0.0.0/8, ::
  | 'multicast' // 224/4, ff00::/8
  | 'reserved'; // 240/4 and 255.255.255.255

export interface AddressRules {
  allowLoopback: boolean;
  allowPrivate: boolean;
}

/** Loopback only with allowLoopback; private and CGNAT only with allowPrivate; link-local, unspecified, multicast and reserved never. */
export function addressAllowed(c: AddressClass, r: AddressRules): boolean {
  if (c === 'public') return true;
  if (c === 'loopback') return r.allowLoopback;
  if (c === 'private' || c === 'cgnat') return r.allowPrivate;
  return false;
}

/** Four octets of a dotted-quad IPv4 address (strict: 0..255, no leading zeros), or null. */
export function parseIPv4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** Eight 16-bit groups of an IPv6 address (`::` compression and a trailing dotted IPv4 allowed; no zone), or null. */
export function parseIPv6(input: string): number[] | null {
  let s = input;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.length === 0 || s.includes('%')) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

export function classifyIPv4(o: number[]): AddressClass {
  const [a, b] = [o[0]!, o[1]!];
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 100 && b >= 64 && b <= 127) return 'cgnat';
  if (a === 169 && b === 254) return 'link-local';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved';
  return 'public';
}

const v4Of = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];

export function classifyIPv6(g: number[]): AddressClass {
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return 'unspecified';
  if (zeroUpTo(7) && g[7] === 1) return 'loopback';
  // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d: the IPv4 address decides
  if (zeroUpTo(5) && g[5] === 0xffff) return classifyIPv4(v4Of(g[6]!, g[7]!));
  if (zeroUpTo(6)) return classifyIPv4(v4Of(g[6]!, g[7]!));
  // NAT64 64:ff9b::/96 and 6to4 2002::/16 carry an IPv4 address too
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyIPv4(v4Of(g[6]!, g[7]!));
  if (g[0] === 0x2002) return classifyIPv4(v4Of(g[1]!, g[2]!));
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return 'private';
  if ((first & 0xffc0) === 0xfe80) return 'link-local';
  if ((first & 0xffc0) === 0xfec0) return 'private';
  if ((first & 0xff00) === 0xff00) return 'multicast';
  return 'public';
}

/** The class of an IP address literal (v4, or v6 with or without brackets), or null when it is not one. */
export function classifyAddress(ip: string): AddressClass | null {
  const v4 = parseIPv4(ip);
  if (v4) return classifyIPv4(v4);
  const v6 = ip.includes(':') ? parseIPv6(ip) : null;
  return v6 ? classifyIPv6(v6) : null;
}

export type UrlCheck =
  | { ok: true; url: URL; hostname: string; ip: string | null }
  | { ok: false; code: 'invalid_url' | 'url_scheme_not_allowed' | 'url_credentials_not_allowed' | 'address_not_allowed'; message: string; addressClass?: AddressClass };

/**
 * The rules a webhook URL must meet before any DNS: absolute http(s) URL (https only unless `allowHttp`), no user
 * or password in it, at most 2,048 characters, and — when the host is an IP literal — an allowed address. A host
 * name is resolved by the caller and each answer checked with {@link classifyAddress} / {@link addressAllowed}.
 */
export function checkWebhookUrl(raw: string, rules: AddressRules & { allowHttp: boolean }): UrlCheck {
  if (raw.length > 2048) return { ok: false, code: 'invalid_url', message: 'the URL is longer than 2,048 characters' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, code: 'invalid_url', message: 'not an absolute URL' };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && rules.allowHttp)) {
    return { ok: false, code: 'url_scheme_not_allowed', message: rules.allowHttp ? 'only http and https URLs' : 'only https URLs' };
  }
  if (url.username || url.password) return { ok: false, code: 'url_credentials_not_allowed', message: 'no user name or password in the URL' };
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!hostname) return { ok: false, code: 'invalid_url', message: 'the URL has no host' };
  const cls = classifyAddress(hostname);
  if (cls && !addressAllowed(cls, rules)) {
    return { ok: false, code: 'address_not_allowed', message: `deliveries to ${cls} addresses are not allowed`, addressClass: cls };
  }
  return { ok: true, url, hostname, ip: cls ? hostname : null };
}
