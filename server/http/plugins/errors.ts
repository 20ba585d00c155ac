import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError } from '../../domain/errors.ts';

/** Postgres refusing a value: bad text representation, out of range, bad datetime, NUL byte, bad JSON escape, CHECK. */
export const CLIENT_DATA_ERRORS = new Set(['22P02', '22003', '22007', '22008', '22021', '22P05', '22001', '23514']);

export function body(code: string, message: string, details?: Record<string, unknown>) {
  return { error: { code, message, ...(details ?? {}) } };
}

/** One error shape everywhere: `{ error: { code, message } }`; never a stack trace to the client. */
export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof AppError) {
      return reply.status(err.status).send(body(err.code, err.message, err.details));
    }
    if (err.validation) {
      const where = err.validationContext ?? 'request';
      return reply.status(400).send(body('invalid_input', `${where}: ${err.message}`));
    }
    const status = err.statusCode ?? 500;
    if (status === 429) {
      return reply.status(429).send(body('rate_limited', 'too many requests; slow down and retry later'));
    }
    if (status >= 400 && status < 500) {
      const code =
        err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError
          ? 'malformed_json'
          : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
            ? 'body_too_large'
            : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
              ? 'unsupported_media_type'
              : err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
                ? 'invalid_input'
                : 'bad_request';
      return reply.status(status).send(body(code, err.message));
    }
    // Postgres refusing a value we failed to validate is still the client's input: answer 400, not 500.
    const pg = (err as { code?: string }).code;
    if (pg && CLIENT_DATA_ERRORS.has(pg)) {
      req.log.warn({ err }, 'database refused input');
      return reply.status(400).send(body('invalid_input', 'a value is out of range or malformed'));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send(body('internal', 'something went wrong on our side'));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).header('cache-control', 'no-store').send(body('not_found', `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}

function hasNonFinite(v: unknown, depth = 0): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (depth > 32 || !v || typeof v !== 'object') return false;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (hasNonFinite(x, depth + 1)) return true;
  return false;
}

/**
 * Ajv's type coercion (coerceTypes 'array', needed for query strings) turns the strings "Infinity",
 * "-Infinity" and "1e400" into ±Infinity for an `integer`/`number` field and then, under its default
 * strictNumbers, skips minimum/maximum, which it only checks for finite numbers: `GET /api/ledger/transfers?limit=Infinity` passed validation (found by
 * test/integration/hostile-http.test.ts; a JSON body `{"teu":"Infinity"}` passed too). No API number may be
 * infinite, so every validated part (query, params, body) is checked once more after validation; only parts
 * with a schema are walked, so their depth is bounded by it.
 */
export function rejectNonFiniteNumbers(app: FastifyInstance) {
  app.addHook('preHandler', async (req) => {
    const schema = req.routeOptions.schema;
    if (!schema) return;
    if ((schema.querystring && hasNonFinite(req.query)) || (schema.params && hasNonFinite(req.params)) || (schema.body && hasNonFinite(req.body))) {
      throw new AppError(400, 'invalid_input', 'numbers must be finite');
    }
  });
}
