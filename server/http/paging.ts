import type { FastifyReply } from 'fastify';

/**
 * The headers of a keyset-paged list whose next page exists: `x-next-cursor` (pass it as `before`) and
 * `Link: <path?before=…&limit=…>; rel="next"` (RFC 8288). The cursor is the service's own (digits, `_` and a
 * uuid, checked by the query schema), and URLSearchParams encodes it again, so nothing of the request reaches
 * a header unchecked.
 */
export function nextPageHeaders(reply: FastifyReply, path: string, next: string | null, limit: number | undefined): void {
  if (!next) return;
  const q = new URLSearchParams({ before: next, ...(limit ? { limit: String(limit) } : {}) });
  void reply.header('x-next-cursor', next);
  void reply.header('link', `<${path}?${q.toString()}>; rel="next"`);
}
