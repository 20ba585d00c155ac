import type { FastifyInstance } from 'fastify';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule.default;

/** The Ajv options of every validated part; only type conversion differs between text parts and JSON. */
export function validatorOf(part: 'text' | 'json'): Ajv {
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, allErrors: false, strict: false, coerceTypes: part === 'text' ? 'array' : false });
  addFormats(ajv);
  return ajv;
}

/**
 * Validation per part of the request. Query strings, path parameters and headers are text: their numbers and
 * booleans are converted and a lone value may stand for a one-item array. A JSON body is typed already, so nothing
 * is converted: `{"teu":"2"}`, `{"teu":true}` or `{"listingId":["…"]}` are refused (400) where a converting
 * validator would have taken them as 2, 1 and "…" and acted on them. Registered before the routes.
 */
export function bodyValidation(app: FastifyInstance) {
  const text = validatorOf('text');
  const json = validatorOf('json');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? json : text).compile(schema));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ids in the path are normalised once, at the edge: a uuid in upper case names the same row (Postgres compares
 * them so), but the code compares ids as text too — a principal-cache eviction, a socket room, an audit entry, an
 * idempotency key, the team's rules. An outside test revoked an API key by its id in upper case: the database
 * revoked it, the servers' caches (keyed by the lower-case id) went on accepting it for seconds.
 */
export function normaliseIdParams(app: FastifyInstance) {
  app.addHook('preValidation', async (req) => {
    const params = req.params as Record<string, unknown> | undefined;
    if (!params) return;
    for (const [k, v] of Object.entries(params)) if (typeof v === 'string' && UUID.test(v)) params[k] = v.toLowerCase();
  });
}

/**
 * A request without a body is a request with an empty one. Several calls take only optional fields (confirming a
 * hold, minting an API key, accepting an offer, rotating a webhook secret); an integration that sends no body — or an
 * empty one under `content-type: application/json`, which the JSON parser refuses as such — got 400 "body must be
 * object". Now such a body is `{}` before validation, so a call whose fields are all optional works, and a call with
 * required fields still gets 400 naming the first one missing.
 */
export function absentBodyIsEmpty(app: FastifyInstance) {
  // a chunked body of no chunks has no length to see in onRequest: the JSON parser takes an empty text as no body
  // (anything else goes to Fastify's own parser, with its prototype-poisoning guards as they were)
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body.length === 0) done(null, undefined);
    else void json(req, body as string, done);
  });
  app.addHook('onRequest', async (req) => {
    const h = req.raw.headers;
    // no length and no chunks: HTTP/1.1 says the body is empty (Fastify parses no body without a content type)
    if ((h['content-length'] === '0' || h['content-length'] === undefined) && h['transfer-encoding'] === undefined) delete h['content-type'];
  });
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && req.routeOptions.schema?.body) req.body = {};
  });
}
