const UUID = '00000000-0000-4000-8000-000000000000';

/**
 * Spellings of one documented path (`/api/x/{id}`) that a router or a proxy may treat as the same route:
 * percent-encoded letters (single and double), doubled slashes, a trailing slash, other letter case, dot
 * segments, a query and a fragment. Parameters are filled with a well-formed UUID.
 */
export function pathVariants(path: string, id = UUID): string[] {
  const concrete = path.replace(/\{[^}]+\}/g, id);
  const rest = concrete.slice('/api/'.length);
  const encodeFirst = (s: string, upper = false) =>
    s.replace(/[a-z]/, (c) => `%${upper ? c.charCodeAt(0).toString(16).toUpperCase() : c.charCodeAt(0).toString(16)}`);
  const segs = rest.split('/');
  const lastStatic = segs.map((s, i) => (s !== id ? i : -1)).filter((i) => i >= 0).pop() ?? 0;
  const encodedLast = segs.map((s, i) => (i === lastStatic ? encodeFirst(s) : s)).join('/');
  return [
    `/%61pi/${rest}`,
    `/%2561pi/${rest}`,
    `/api/${encodedLast}`,
    `/${encodeFirst('api', true)}/${encodedLast}`,
    `//api/${rest}`,
    `/api//${rest}`,
    `/api/${rest}/`,
    `/API/${rest}`,
    `/Api/${rest.toUpperCase()}`,
    `/api/./${rest}`,
    `/x/../api/${rest}`,
    `/api/%2e/${rest}`,
    `/api/${rest}?x=1`,
    `/api/${rest}#frag`,
  ];
}

/** Spellings of a credential that must never authenticate when the credential itself does not. */
export function credentialVariants(cookieValue: string, apiKey: string): Record<string, string>[] {
  return [
    { cookie: `cx_session= ${cookieValue}` },
    { cookie: `cx_session=${cookieValue} ` },
    { cookie: `cx_session=${cookieValue.toUpperCase()}` },
    { cookie: `cx_session=${encodeURIComponent(cookieValue)}%00` },
    { authorization: `bearer ${apiKey}` },
    { authorization: `Bearer  ${apiKey}` },
    { authorization: `Bearer ${apiKey} ` },
    { authorization: `Bearer ${apiKey.toUpperCase()}` },
    { authorization: `Bearer ${apiKey}`, cookie: `cx_session=${cookieValue}` },
  ];
}
