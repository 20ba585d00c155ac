import type { FastifyReply } from 'fastify';

/**
 * The headers of a keyset-paged list whose next page exists: `x-next-cursor` (pass it as `before`) and
 * `Link: <path?before=…&limit=…>; rel="next"` (RFC 8288). The cursor is the service's own (digits, `_` and a
 * uuid, checked by the query schema), and URLSearchParams encodes it again, so nothing of the request reaches
 * a header unchecked.
 */
export function nextPageHeaders(
  reply: FastifyReply,
  path: string,
  next: string | null,
  limit: number | undefined,
  o: { param?: string; keep?: Record<string, string | undefined> } = {},
): void {
  if (!next) return;
  // `keep`: the request's other (validated) filters, so that the next link names the same list
  const kept = Object.entries(o.keep ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
  const q = new URLSearchParams([...kept, [o.param ?? 'before', next], ...(limit ? [['limit', String(limit)]] : [])]);
  void reply.header('x-next-cursor', next);
  void reply.header('link', `<${path}?${q.toString()}>; rel="next"`);
}
