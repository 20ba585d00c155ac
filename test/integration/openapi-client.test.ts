import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { CATALOG, catalogKey, TAGS } from '../../server/http/openapi/catalog.ts';
import { EXAMPLES } from '../../server/http/openapi/examples.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { buildApp } from '../helpers/http.ts';

const run = promisify(execFile);
const addFormats = formats as unknown as (ajv: Ajv) => Ajv;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string) => path.join(ROOT, 'node_modules', '.bin', name);

interface Media { schema?: unknown; example?: unknown }
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string }[];
  requestBody?: { required?: boolean; content?: Record<string, Media> };
  responses?: Record<string, { description?: string; content?: Record<string, Media> }>;
}
interface Doc {
  openapi: string;
  info: { contact?: { name?: string; email?: string }; license?: { name?: string } };
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; in?: string; name?: string; scheme?: string }> };
  paths: Record<string, Record<string, Operation>>;
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
const MUTATING = new Set(['post', 'put', 'patch', 'delete']);
const FIX = 'add an entry to server/http/openapi/catalog.ts (README "OpenAPI and generated clients")';

/**
 * Issue 15, item 5: the published OpenAPI document is one that client generators like (ids, tags, descriptions,
 * errors, examples, security), and a client generated from the live `/docs/json` with openapi-typescript +
 * openapi-fetch type-checks (tsc) and books end to end against the running server.
 */
describe('OpenAPI document and a generated client', () => {
  let env: TestEnv;
  let built: App;
  let baseUrl: string;
  let doc: Doc;
  const ops: { key: string; method: string; path: string; op: Operation }[] = [];

  beforeAll(async () => {
    env = await createTestEnv({ template: 'demo' });
    built = await buildApp(env.cfg);
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = built.app.server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    baseUrl = `http://127.0.0.1:${addr.port}`;
    const res = await fetch(`${baseUrl}/docs/json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Doc;
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(item)) {
        if (!METHODS.includes(m)) continue;
        ops.push({ key: catalogKey(m, p.replace(/\{(\w+)\}/g, ':$1')), method: m, path: p, op });
      }
    }
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  it('every operation has a catalogue entry, every entry an operation, and no two operations share an operationId', () => {
    expect(ops.length).toBeGreaterThan(50);
    expect(ops.filter((o) => !CATALOG[o.key]).map((o) => o.key), `operations without a catalogue entry: ${FIX}`).toEqual([]);
    const published = new Set(ops.map((o) => o.key));
    expect(Object.keys(CATALOG).filter((k) => !published.has(k)), 'catalogue entries without a route').toEqual([]);
    const seen = new Map<string, string>();
    const dupes: string[] = [];
    for (const { key, op } of ops) {
      const id = op.operationId ?? '';
      if (seen.has(id)) dupes.push(`${id}: ${seen.get(id)} and ${key}`);
      seen.set(id, key);
    }
    expect(dupes, 'repeated operationIds').toEqual([]);
    const ids = new Set(Object.values(CATALOG).map((e) => e.operationId));
    expect(Object.keys(EXAMPLES).filter((id) => !ids.has(id)), 'examples of unknown operationIds').toEqual([]);
  });

  it('every operation: a camelCase operationId, a summary, a description, exactly one tag of the tag list, security declared', () => {
    const tags = new Set(TAGS.map((t) => t.name));
    expect(doc.tags?.map((t) => t.name)).toEqual(TAGS.map((t) => t.name));
    for (const t of doc.tags ?? []) expect(t.description, t.name).toBeTruthy();
    const bad: string[] = [];
    // (an operation without a catalogue entry fails the test above, once)
    for (const { key, op } of ops.filter((o) => CATALOG[o.key])) {
      if (!/^[a-z][a-zA-Z0-9]*$/.test(op.operationId ?? '')) bad.push(`${key}: operationId ${op.operationId}`);
      if (!op.summary?.trim()) bad.push(`${key}: no summary`);
      if (!op.description?.trim()) bad.push(`${key}: no description`);
      if (op.tags?.length !== 1 || !tags.has(op.tags[0] as (typeof TAGS)[number]['name'])) bad.push(`${key}: tags ${JSON.stringify(op.tags)}`);
      if (!Array.isArray(op.security)) bad.push(`${key}: no security`);
      const isPublic = op.security?.length === 0;
      if (key.includes(' /api/') && !isPublic) {
        const want = MUTATING.has(key.split(' ')[0]!.toLowerCase()) ? [{ session: [], csrf: [] }, { apiKey: [] }] : [{ session: [] }, { apiKey: [] }];
        if (JSON.stringify(op.security) !== JSON.stringify(want)) bad.push(`${key}: security ${JSON.stringify(op.security)}`);
      }
    }
    expect(bad).toEqual([]);
    // the only public operations: health, sign-in and "am I signed in"
    expect(ops.filter((o) => CATALOG[o.key] && o.op.security?.length === 0).map((o) => o.key).sort()).toEqual(['GET /api/session', 'GET /health', 'POST /api/session']);
  });

  it('error answers: every 4xx is the ErrorBody schema, and each operation documents the ones it can give (400/401/403/413/429)', () => {
    const ref = '#/components/schemas/ErrorBody';
    expect(doc.components.schemas.ErrorBody).toBeDefined();
    const bad: string[] = [];
    for (const { key, method, op } of ops.filter((o) => CATALOG[o.key])) {
      const responses = op.responses ?? {};
      for (const [status, r] of Object.entries(responses)) {
        if (!r.description?.trim()) bad.push(`${key} ${status}: no description`);
        if (Number(status) >= 400 && Number(status) < 500 && (r.content?.['application/json']?.schema as { $ref?: string } | undefined)?.$ref !== ref) {
          bad.push(`${key} ${status}: not ErrorBody`);
        }
      }
      if (!key.includes(' /api/')) continue;
      const isPublic = op.security?.length === 0;
      const takes = (op.parameters?.length ?? 0) > 0 || op.requestBody !== undefined;
      const want = [429, ...(isPublic ? [] : [401]), ...(!isPublic && MUTATING.has(method) ? [403] : []), ...(takes ? [400] : []), ...(op.requestBody ? [413] : [])];
      for (const s of want) if (!responses[String(s)]) bad.push(`${key}: no ${s}`);
      if (!Object.keys(responses).some((s) => s.startsWith('2'))) bad.push(`${key}: no success answer`);
    }
    expect(bad).toEqual([]);
  });

  it('servers, contact, licence and the security schemes (session cookie, CSRF header, Bearer key) are set', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.info.contact?.name && doc.info.contact.email).toBeTruthy();
    expect(doc.info.license?.name).toBeTruthy();
    expect(doc.components.securitySchemes).toMatchObject({
      session: { type: 'apiKey', in: 'cookie', name: 'cx_session' },
      csrf: { type: 'apiKey', in: 'header', name: 'x-csrf-token' },
      apiKey: { type: 'http', scheme: 'bearer' },
    });
  });

  it('the main operations have examples, and every example is valid against its published schema', () => {
    const byId = new Map(ops.map((o) => [o.op.operationId, o]));
    const main = ['signIn', 'listDepartures', 'getDeparture', 'createListing', 'createHold', 'confirmHold', 'listBookings', 'createItinerary', 'confirmItinerary',
      'searchRoutes', 'createShipment', 'listProposals', 'createWebhookEndpoint', 'listWebhookDeliveries', 'createBidGroup', 'placeBid', 'listAuctions'];
    expect(main.filter((id) => !EXAMPLES[id]), 'main operations without examples').toEqual([]);
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ ...doc, $id: 'https://cx.test/openapi.json' });
    const pointer = (...parts: string[]) => `https://cx.test/openapi.json#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
    const bad: string[] = [];
    let checked = 0;
    for (const [id, ex] of Object.entries(EXAMPLES)) {
      const o = byId.get(id);
      if (!o) continue;
      const check = (what: string, media: Media | undefined, value: unknown, ...where: string[]) => {
        if (!media?.schema) return bad.push(`${id} ${what}: no schema`);
        expect(media.example, `${id} ${what}: published`).toEqual(value);
        const validate = ajv.compile({ $ref: pointer('paths', o.path, o.method, ...where, 'content', 'application/json', 'schema') });
        checked++;
        if (!validate(value)) bad.push(`${id} ${what}: ${ajv.errorsText(validate.errors)}`);
      };
      if (ex.request !== undefined) check('request', o.op.requestBody?.content?.['application/json'], ex.request, 'requestBody');
      for (const [status, value] of Object.entries(ex.responses ?? {})) check(status, o.op.responses?.[status]?.content?.['application/json'], value, 'responses', status);
    }
    expect(bad).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });

  it('a client generated from /docs/json (openapi-typescript + openapi-fetch) type-checks and books end to end', async () => {
    const ast = await openapiTS(doc as unknown as OpenAPI3, { silent: true });
    const types = astToString(ast);
    // the generated operations are named by their operationIds
    for (const id of ['signIn', 'createHold', 'confirmHold', 'listBookings', 'searchRoutes', 'createItinerary']) expect(types).toContain(`    ${id}: {`);
    // under the repository so that the driver resolves openapi-fetch and @types/node; test-results/ is ignored
    const dir = path.join(ROOT, 'test-results', `openapi-client-${randomBytes(4).toString('hex')}`);
    await fs.mkdir(dir, { recursive: true });
    try {
      await fs.writeFile(path.join(dir, 'api.ts'), types);
      await fs.writeFile(path.join(dir, 'driver.ts'), DRIVER);
      await fs.writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify(DRIVER_TSCONFIG));
      // the driver is type-correct against the live document …
      const tsc = await run(bin('tsc'), ['-p', path.join(dir, 'tsconfig.json')], { cwd: dir }).then(
        () => '',
        (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
      );
      expect(tsc, 'tsc on the driver and the generated types').toBe('');
      // … and books against the running server: a departure with room on the corridor it looks at
      await createDepartureWithListing(env.db, { capacityTeu: 40, capacityTonnes: 800, unitPriceCents: 61_000 });
      const { stdout } = await run(bin('tsx'), [path.join(dir, 'driver.ts')], {
        cwd: dir,
        env: { ...process.env, CX_BASE_URL: baseUrl, CX_EMAIL: 'forwarder1@demo.test', CX_PASSWORD: 'cluster-demo' },
      });
      const out = JSON.parse(stdout.trim().split('\n').pop()!) as { holdId: string; bookingId: string; listingId: string; viaKey: string };
      const booking = await env.db
        .selectFrom('bookings')
        .innerJoin('organisations', 'organisations.id', 'bookings.forwarder_org_id')
        .select(['bookings.status', 'bookings.listing_id', 'bookings.reference', 'organisations.name'])
        .where('bookings.id', '=', out.bookingId)
        .executeTakeFirstOrThrow();
      expect(booking).toMatchObject({ status: 'confirmed', listing_id: out.listingId, reference: 'OPENAPI-CLIENT' });
      expect(out.viaKey).toBe(out.bookingId);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

const DRIVER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2023',
    lib: ['ES2023', 'DOM', 'DOM.Iterable'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  },
  files: ['driver.ts', 'api.ts'],
};

/**
 * What a TMS team would write with the generated types: sign in (cookie + CSRF header), find a departure with a
 * fixed listing, hold, confirm, then read the bookings with an API key (Bearer) made through the API. Every path,
 * parameter, body and answer field below is checked by tsc against the generated `paths`.
 */
const DRIVER = `
import { randomUUID } from 'node:crypto';
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './api.ts';

type ErrorBody = components['schemas']['ErrorBody'];
function fail(what: string, error: ErrorBody | undefined, response: Response): never {
  throw new Error(\`\${what}: \${response.status} \${JSON.stringify(error)}\`);
}

const baseUrl = process.env.CX_BASE_URL!;
const client = createClient<paths>({ baseUrl });

const signIn = await client.POST('/api/session', { body: { email: process.env.CX_EMAIL!, password: process.env.CX_PASSWORD! } });
if (!signIn.data) fail('signIn', signIn.error, signIn.response);
const cookie = signIn.response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
const csrf: string | undefined = signIn.data.csrfToken;
const session: Middleware = {
  onRequest({ request }) {
    request.headers.set('cookie', cookie);
    if (request.method !== 'GET' && csrf) request.headers.set('x-csrf-token', csrf);
    return request;
  },
};
client.use(session);

const now = Date.now();
const departures = await client.GET('/api/departures', { params: { query: { from: 'DEDUI', to: 'ITBLQ', after: new Date(now).toISOString(), limit: 200 } } });
if (!departures.data) fail('listDepartures', departures.error, departures.response);
let listingId: string | undefined;
for (const d of departures.data) {
  if (d.freeTeu < 2 || d.freeTonnes < 36 || Date.parse(d.cutoffAt) < now + 3_600_000) continue;
  const one = await client.GET('/api/departures/{id}', { params: { path: { id: d.id } } });
  if (!one.data) fail('getDeparture', one.error, one.response);
  const listing = one.data.listings.find((l) => l.format === 'fixed' && l.status === 'open' && l.remainingTeu >= 2);
  if (listing) {
    listingId = listing.id;
    break;
  }
}
if (!listingId) throw new Error('no departure with a fixed listing and room');

const hold = await client.POST('/api/holds', { params: { header: { 'idempotency-key': randomUUID() } }, body: { listingId, teu: 2, tonnes: 36 } });
if (!hold.data) fail('createHold', hold.error, hold.response);
const booking = await client.POST('/api/holds/{id}/confirm', { params: { path: { id: hold.data.id } }, body: { reference: 'OPENAPI-CLIENT' } });
if (!booking.data) fail('confirmHold', booking.error, booking.response);
const totalCents: number = booking.data.totalCents;

const key = await client.POST('/api/api-keys', { body: { name: 'generated client' } });
if (!key.data) fail('createApiKey', key.error, key.response);
const machine = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${key.data.key}\` } });
const bookings = await machine.GET('/api/bookings');
if (!bookings.data) fail('listBookings', bookings.error, bookings.response);
const mine = bookings.data.find((b) => b.id === booking.data.id && b.status === 'confirmed');

const missing = await machine.GET('/api/listings/{id}', { params: { path: { id: randomUUID() } } });
if (missing.response.status !== 404 || missing.error?.error.code !== 'not_found') throw new Error('a missing listing is not a typed 404');

console.log(JSON.stringify({ holdId: hold.data.id, bookingId: booking.data.id, listingId, totalCents, viaKey: mine?.id }));
`;
