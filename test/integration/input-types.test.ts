import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn } from '../helpers/http.ts';

/**
 * Input as the API takes it: a JSON body is validated with its own types — nothing converted (server/http/plugins/
 * validation.ts) — and a refusal says what was wrong. Found by an integrator's check of the API against API.md.
 */
describe('a JSON body is taken with its own types: nothing converted (API.md: wrong input is 400 and changes nothing)', () => {
  let env: TestEnv;
  let built: App;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  it('strings for numbers, booleans for numbers, arrays for ids, numbers for text: 400, and no hold, bid or booking made', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, listedTeu: 10 });
    const f1 = await signIn(built.app, 'forwarder1@demo.test');
    const post = (url: string, payload: object) => as(built.app, f1)({ method: 'POST', url, payload });
    for (const body of [
      { listingId: d.listingId, teu: '1', tonnes: 10 },
      { listingId: d.listingId, teu: true, tonnes: 10 },
      { listingId: [d.listingId], teu: 1, tonnes: 10 },
      { listingId: d.listingId, teu: 1, tonnes: '10' },
    ]) {
      const r = await post('/api/holds', body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expectErrorShape(r.json());
    }
    expect(await env.db.selectFrom('holds').select('id').where('listing_id', '=', d.listingId).execute()).toEqual([]);
    const signInWrongTypes = await built.app.inject({ method: 'POST', url: '/api/session', payload: { email: 123, password: ['x'] } });
    expect(signInWrongTypes.statusCode).toBe(400);
    // a hold with proper types, then a confirm whose reference is a number: refused, the hold stays a hold
    const hold = await post('/api/holds', { listingId: d.listingId, teu: 1, tonnes: 10 });
    expect(hold.statusCode).toBe(201);
    const confirm = await post(`/api/holds/${hold.json().id}/confirm`, { reference: 123 });
    expect(confirm.statusCode).toBe(400);
    expect(await env.db.selectFrom('bookings').select('id').where('listing_id', '=', d.listingId).execute()).toEqual([]);
    // … while a query string's numbers are still numbers
    expect((await as(built.app, f1)({ method: 'GET', url: '/api/ledger/transfers?limit=5' })).statusCode).toBe(200);
  });

  it('a hold larger than the whole departure is refused saying so (not as "only <capacity> TEU free")', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, listedTeu: 10 });
    const f1 = await signIn(built.app, 'forwarder1@demo.test');
    const r = await as(built.app, f1)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 25, tonnes: 250 } });
    expect(r.statusCode).toBe(409);
    expect(r.json().error).toMatchObject({ code: 'insufficient_capacity', message: expect.stringContaining('more than this departure carries (20 TEU, 400 t)') });
  });
  // an integrator's check against API.md: these calls take only optional fields, yet refused a request without a body
  it('a call whose body fields are all optional works without a body, or with an empty one; a required field is still named', async () => {
    const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, listedTeu: 10 });
    const f1 = await signIn(built.app, 'forwarder1@demo.test');
    const req = as(built.app, f1);
    const hold = async () => (await req({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 1, tonnes: 10 } })).json().id as string;
    // no body at all
    const a = await req({ method: 'POST', url: `/api/holds/${await hold()}/confirm` });
    expect(a.statusCode, a.body).toBe(201);
    // an empty body declared as JSON
    const b = await req({ method: 'POST', url: `/api/holds/${await hold()}/confirm`, headers: { 'content-type': 'application/json' }, payload: '' });
    expect(b.statusCode, b.body).toBe(201);
    expect(b.json()).toMatchObject({ listingId: d.listingId, teu: 1, status: 'confirmed' });
    const key = await req({ method: 'POST', url: '/api/api-keys' });
    expect(key.statusCode, key.body).toBe(201);
    // a call with required fields: 400 naming the first one missing, and nothing held
    const before = await env.db.selectFrom('holds').select('id').where('listing_id', '=', d.listingId).execute();
    for (const extra of [{}, { headers: { 'content-type': 'application/json' }, payload: '' }]) {
      const r = await req({ method: 'POST', url: '/api/holds', ...extra });
      expect(r.statusCode).toBe(400);
      expect(r.json().error).toMatchObject({ code: 'invalid_input', message: expect.stringContaining("must have required property 'listingId'") });
    }
    expect(await env.db.selectFrom('holds').select('id').where('listing_id', '=', d.listingId).execute()).toEqual(before);
    // a chunked body of no chunks is no body too (an outside test got 400 "Body cannot be empty"), over real HTTP
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (built.app.server.address() as { port: number }).port;
    const chunkedHold = await hold();
    const chunkedEmpty = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: `/api/holds/${chunkedHold}/confirm`, headers: { cookie: f1.cookie, 'x-csrf-token': f1.csrf, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      r.on('error', reject);
      r.end();
    });
    expect(chunkedEmpty.status, chunkedEmpty.body).toBe(201);
    // a body that is not empty is still parsed as JSON: a malformed one is 400 malformed_json
    const bad = await req({ method: 'POST', url: `/api/holds/${await hold()}/confirm`, headers: { 'content-type': 'application/json' }, payload: '{' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('malformed_json');
  });
});
