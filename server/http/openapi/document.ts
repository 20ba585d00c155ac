import type { FastifyDynamicSwaggerOptions, SwaggerTransform } from '@fastify/swagger';
import { ErrorBody } from '../../domain/schemas/common.ts';
import { SESSION_COOKIE } from '../plugins/auth.ts';
import { CATALOG, catalogKey, TAGS, type CatalogEntry } from './catalog.ts';
import { EXAMPLES } from './examples.ts';

/**
 * The published OpenAPI document (`GET /docs/json`), shaped for client generators: every operation gets its
 * operationId, one tag, summary, description and examples from the catalogue (./catalog.ts, keyed by
 * "METHOD /path"), its security requirement from the route's auth (public, read, change) and the error answers
 * every API route can give, all in the one error shape (`components.schemas.ErrorBody`). Applied by the
 * plugin's `transform`, so only the document changes: validation and serialisation keep the route's own schema.
 * A route missing from the catalogue is published as it is (test/integration/openapi-client.test.ts fails).
 */

/** The API's version in the document (`info.version`). */
export const API_VERSION = '0.1.0';

export const ERROR_SCHEMA_ID = 'ErrorBody';

/** Shared schemas to add to the app before the routes (`app.addSchema`); the document names them by `$id`. */
export const sharedSchemas = [{ $id: ERROR_SCHEMA_ID, title: ERROR_SCHEMA_ID, ...ErrorBody }];

export const SECURITY_SCHEMES = {
  session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'The session cookie set by `POST /api/session` (people).' },
  csrf: {
    type: 'apiKey',
    in: 'header',
    name: 'x-csrf-token',
    description: 'The `csrfToken` of `POST /api/session` / `GET /api/me`; required with the session cookie on POST, PUT, PATCH and DELETE.',
  },
  apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (`POST /api/api-keys`) sent as `Authorization: Bearer <key>` (machines); no CSRF header.' },
} as const;

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const READ_SECURITY: Record<string, string[]>[] = [{ session: [] }, { apiKey: [] }];
const CHANGE_SECURITY: Record<string, string[]>[] = [{ session: [], csrf: [] }, { apiKey: [] }];

/** What each documented error status means, whatever the operation (its description names its own codes). */
export const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (`invalid_input`, `malformed_json`, or a check named in the description); nothing changed',
  401: 'Not signed in, or the session or API key is unknown, expired or revoked (`unauthorized`, `invalid_api_key`)',
  403: 'Not allowed for this organisation or role (`forbidden`); `csrf` when a cookie session sends no or a wrong `x-csrf-token`',
  404: "Not found (`not_found`), also for another organisation's private resource",
  409: 'Conflicts with the current state; the code names it (e.g. `insufficient_capacity`, `hold_expired`, `idempotency_key_reused`)',
  413: 'The request body is over 64 KiB (`body_too_large`)',
  429: 'Rate limited (`rate_limited`); retry after the `retry-after` seconds',
  503: 'Briefly unavailable (`unavailable`); retry after the `retry-after` seconds',
};

const RETRY_AFTER = { 'retry-after': { type: 'integer', description: 'seconds to wait before retrying' } };

type Schema = Record<string, unknown>;
interface RouteSchema extends Schema {
  body?: Schema;
  querystring?: Schema;
  params?: Schema;
  headers?: Schema;
  response?: Record<string, Schema>;
  description?: string;
  summary?: string;
  hide?: boolean;
}

/** An error answer of a route's own (`errors(...)` in server/domain/schemas/common.ts). */
function isErrorBody(s: Schema): boolean {
  const e = ErrorBody as unknown as Schema;
  return s === e || (s.description === e.description && typeof (s.properties as Schema | undefined)?.error === 'object');
}

/** An error answer: always JSON (also for an operation that answers CSV or HTML when it succeeds). */
function errorResponse(status: number): Schema {
  return {
    description: ERROR_DESCRIPTIONS[status] ?? 'Error',
    content: { 'application/json': { schema: { $ref: `${ERROR_SCHEMA_ID}#` } } },
    ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
  };
}

/** The error statuses an operation can answer beyond its own: decided by where it is and what it takes. */
export function impliedErrors(method: string, url: string, schema: RouteSchema, isPublic: boolean): number[] {
  if (!url.startsWith('/api/')) return [];
  const out = [429];
  if (!isPublic) out.push(401);
  if (!isPublic && MUTATING.has(method)) out.push(403);
  if (schema.body || schema.querystring || schema.params || schema.headers) out.push(400);
  if (schema.body) out.push(413);
  return out;
}

const X_RESPONSE_DESCRIPTION = 'x-response-description';
/** Marks an operation whose body may be left out (`Type.Optional(...)`); the plugin would make it required. */
const X_BODY_OPTIONAL = 'x-cx-body-optional';

const SUCCESS_DESCRIPTIONS: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted: done in the background', 204: 'Done; no content' };

function withExample(schema: Schema | undefined, example: unknown): Schema | undefined {
  if (!schema || example === undefined) return schema;
  return { ...schema, examples: [example] };
}

/** A success answer: its example, and a description unless its schema has one. */
function success(code: number, schema: Schema, example: unknown): Schema {
  const s = withExample(schema, example)!;
  return s.description ? s : { ...s, [X_RESPONSE_DESCRIPTION]: SUCCESS_DESCRIPTIONS[code] ?? 'Success' };
}


/** The operation's document schema: the route's schema with the catalogue's names, security and errors. */
export function documentSchema(method: string, url: string, schema: RouteSchema, isPublic: boolean, entry: CatalogEntry): RouteSchema {
  const example = EXAMPLES[entry.operationId];
  const response: Record<string, Schema> = {};
  for (const [status, s] of Object.entries(schema.response ?? {})) {
    const code = Number(status);
    if (code >= 400 && isErrorBody(s)) response[status] = errorResponse(code);
    else response[status] = success(code, s, example?.responses?.[code]);
  }
  for (const code of impliedErrors(method, url, schema, isPublic)) response[String(code)] ??= errorResponse(code);
  const description = [entry.description, schema.description].filter(Boolean).join('\n\n');
  return {
    ...schema,
    operationId: entry.operationId,
    tags: [entry.tag],
    summary: entry.summary ?? schema.summary,
    description,
    security: isPublic ? [] : MUTATING.has(method) ? CHANGE_SECURITY : READ_SECURITY,
    ...(schema.body ? { body: withExample(schema.body, example?.request) } : {}),
    ...(schema.body?.['~optional'] === true ? { [X_BODY_OPTIONAL]: true } : {}),
    response: Object.fromEntries(Object.entries(response).sort(([a], [b]) => Number(a) - Number(b))),
  };
}

/** The plugin's `transform`: every catalogued, visible route gets its document schema. */
const transform: SwaggerTransform = ({ schema, url, route }) => {
  const s = (schema ?? {}) as unknown as RouteSchema;
  const method = Array.isArray(route.method) ? route.method[0]! : route.method;
  const entry = CATALOG[catalogKey(method, url)];
  if (s.hide || !entry) return { schema, url };
  const isPublic = route.config?.auth === 'public';
  return { schema: documentSchema(method, url, s, isPublic, entry), url };
};

/**
 * OpenAPI 3.0 lists `null` in an `enum` explicitly: `nullable: true` next to an enum without it would refuse
 * null to a strict validator (and to some generators). TypeBox's `Union([StringEnum, Null])` comes out that way.
 */
function nullInNullableEnums(node: unknown, depth = 0): void {
  if (depth > 64 || !node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const x of node) nullInNullableEnums(x, depth + 1);
    return;
  }
  const o = node as Schema;
  if (o.nullable === true && Array.isArray(o.enum) && !o.enum.includes(null)) o.enum = [...(o.enum as unknown[]), null];
  for (const v of Object.values(o)) nullInNullableEnums(v, depth + 1);
}

/** The plugin's `transformObject`: an optional body is published as not required; nullable enums list null. */
function transformObject({ openapiObject }: { openapiObject: { paths?: Record<string, Record<string, unknown>>; components?: unknown } }) {
  for (const item of Object.values(openapiObject.paths ?? {})) {
    for (const op of Object.values(item ?? {}) as (Schema & { requestBody?: { required?: boolean } })[]) {
      if (typeof op !== 'object' || !op || !(X_BODY_OPTIONAL in op)) continue;
      delete op[X_BODY_OPTIONAL];
      if (op.requestBody) op.requestBody.required = false;
    }
  }
  nullInNullableEnums(openapiObject.paths);
  nullInNullableEnums(openapiObject.components);
  return openapiObject;
}

export function swaggerOptions(o: { port: number; version: string }): FastifyDynamicSwaggerOptions {
  // `openapi` below is the plugin's option object; its own `openapi` field is the document's version.
  return {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Cluster Exchange API',
        version: o.version,
        description:
          'Live marketplace for spare rail and barge capacity between European logistics clusters. JSON over HTTP under `/api`; ' +
          'ids are UUIDs, times ISO 8601 UTC, money integer EUR cents in fields ending in `Cents`, capacity whole TEU and integer tonnes. ' +
          'Every error answer is `{ "error": { "code", "message" } }` (`ErrorBody`). People sign in with a session cookie (and send ' +
          'the `x-csrf-token` header on changes); machines send `Authorization: Bearer <apiKey>`. Live events (Socket.IO) and webhooks ' +
          'are described in API.md and the README.',
        contact: { name: 'Cluster Exchange platform team', email: 'api@cluster-exchange.example', url: 'https://cluster-exchange.example/support' },
        license: { name: 'Proprietary', url: 'https://cluster-exchange.example/terms' },
      },
      servers: [
        { url: '/', description: 'The server that publishes this document' },
        { url: `http://localhost:${o.port}`, description: 'Local development (`npm start`)' },
      ],
      tags: TAGS.map((t) => ({ name: t.name, description: t.description })),
      components: { securitySchemes: SECURITY_SCHEMES },
      security: READ_SECURITY,
    },
    // Shared schemas keep their `$id` as their name in `components.schemas` (generators name the type after it).
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform,
    transformObject: transformObject as unknown as FastifyDynamicSwaggerOptions['transformObject'],
  };
}
