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
