import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPoolRequests } from '../../server/adapters/db/shipments-repo.ts';
import type { App } from '../../server/http/app.ts';
import { demoPool, operatingCostOf } from '../../server/seed/network.ts';
import { createTestEnv, tableCounts, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

/**
 * Issue 13 item 1 — the pool: forwarders post shipment requests, list, change (optimistic, while pooled or
 * unplaced) and withdraw them; operators state their departures' operating costs. Every refusal changes nothing.
 */

const DAY = 86_400_000;

describe('the pool: shipment requests and operating costs', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;
  let op1: Session;
  let op2: Session;
  let sched: Session;
  let admin: Session;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { apiPerMinute: 100_000 } });
    built = await buildApp(env.cfg);
    const who = ['forwarder1', 'forwarder2', 'operator1', 'operator2', 'scheduler', 'admin'] as const;
    [f1, f2, op1, op2, sched, admin] = (await Promise.all(who.map((u) => signIn(built.app, `${u}@demo.test`)))) as [Session, Session, Session, Session, Session, Session];
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const req = (s: Session | null, opts: InjectOptions & { url: string }) => as(built.app, s)(opts);
  /** A valid request body: Duisburg → Bologna, ready tomorrow, a week to deliver. */
  const valid = (o: Record<string, unknown> = {}) => {
    const t = Date.now();
    return {
      from: 'DEDUI', to: 'ITBLQ', teu: 4, tonnes: 60, readyAt: new Date(t + DAY).toISOString(), deliverBy: new Date(t + 8 * DAY).toISOString(),
      maxTotalCents: 500_000, ...o,
    };
  };
  const create = async (s: Session, o: Record<string, unknown> = {}) => {
    const r = await req(s, { method: 'POST', url: '/api/shipments', payload: valid(o) });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string; version: number; status: string; [k: string]: unknown };
  };
  const row = (id: string) => env.db.selectFrom('shipments').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  /** Every table's row count but the audit log's (refusals are not audited, but sign-ins are). */
  const counts = async () => {
    const { audit_log: _a, sessions: _s, ...rest } = await tableCounts(env.db);
    return rest;
  };

  describe('shipments', () => {
    it('create: 201 with the defaults (both modes, consolidate), pooled at version 1, recorded with its creator and audited', async () => {
      const body = valid({ reference: 'PO-POOL-1' });
      const r = await req(f1, { method: 'POST', url: '/api/shipments', payload: body });
      expect(r.statusCode, r.body).toBe(201);
      const s = r.json();
      expect(s).toMatchObject({
        from: 'DEDUI', to: 'ITBLQ', teu: 4, tonnes: 60, readyAt: body.readyAt, deliverBy: body.deliverBy, maxTotalCents: 500_000,
        modes: ['rail', 'barge'], consolidate: true, status: 'pooled', version: 1, reference: 'PO-POOL-1', itineraryId: null,
      });
      expect(Object.keys(s).sort()).toEqual(
        ['consolidate', 'createdAt', 'deliverBy', 'from', 'id', 'itineraryId', 'maxTotalCents', 'modes', 'readyAt', 'reference', 'status', 'teu', 'to', 'tonnes', 'updatedAt', 'version'],
      );
      const db = await row(s.id);
      expect(db).toMatchObject({ forwarder_org_id: f1.me.org.id, user_id: f1.me.user.id, api_key_id: null, status: 'pooled', version: 1, modes: ['rail', 'barge'] });
      const a = await env.db.selectFrom('audit_log').select(['action', 'actor_org_id']).where('entity_id', '=', s.id).execute();
      expect(a).toEqual([{ action: 'shipment.create', actor_org_id: f1.me.org.id }]);

      // duplicate modes: refused by the schema (uniqueItems)
      expect((await req(f1, { method: 'POST', url: '/api/shipments', payload: valid({ modes: ['barge', 'barge'] }) })).statusCode).toBe(400);
      const one = await create(f1, { modes: ['barge'], consolidate: false, from: 'NLRTM', to: 'DEDUI' });
      expect(one).toMatchObject({ modes: ['barge'], consolidate: false });
    });

    it('list: own shipments only, newest first, filtered by status; the platform sees everyone\'s', async () => {
      const a = await create(f1);
      const b = await create(f1);
      const other = await create(f2);
      const mine = (await req(f1, { method: 'GET', url: '/api/shipments' })).json() as { id: string; createdAt: string }[];
      expect(mine.map((s) => s.id)).toEqual(expect.arrayContaining([a.id, b.id]));
      expect(mine.map((s) => s.id)).not.toContain(other.id);
      const own = await env.db.selectFrom('shipments').select('id').where('forwarder_org_id', '=', f1.me.org.id).execute();
      expect(mine).toHaveLength(own.length);
      const created = mine.map((s) => Date.parse(s.createdAt));
      expect(created).toEqual([...created].sort((x, y) => y - x));
      expect(mine.findIndex((s) => s.id === b.id)).toBeLessThan(mine.findIndex((s) => s.id === a.id));

      await req(f1, { method: 'DELETE', url: `/api/shipments/${a.id}` });
      const withdrawn = (await req(f1, { method: 'GET', url: '/api/shipments?status=withdrawn' })).json() as { id: string; status: string }[];
      expect(withdrawn.map((s) => s.id)).toContain(a.id);
      expect(withdrawn.every((s) => s.status === 'withdrawn')).toBe(true);
      const pooled = (await req(f1, { method: 'GET', url: '/api/shipments?status=pooled&limit=500' })).json() as { id: string }[];
      expect(pooled.map((s) => s.id)).not.toContain(a.id);
      expect(pooled.map((s) => s.id)).toContain(b.id);
      expect((await req(f1, { method: 'GET', url: '/api/shipments?status=lost' })).statusCode).toBe(400);

      const all = (await req(admin, { method: 'GET', url: '/api/shipments?limit=1000' })).json() as { id: string }[];
      expect(all.map((s) => s.id)).toEqual(expect.arrayContaining([a.id, b.id, other.id]));
    });

    it('get: own 200; another forwarder 404 (as a missing id); operators and the scheduler 403; the platform 200', async () => {
      const s = await create(f1);
      expect((await req(f1, { method: 'GET', url: `/api/shipments/${s.id}` })).json()).toMatchObject({ id: s.id, version: 1 });
      for (const [who, status] of [[f2, 404], [op1, 403], [sched, 403], [admin, 200], [null, 401]] as const) {
        const r = await req(who, { method: 'GET', url: `/api/shipments/${s.id}` });
        expect(r.statusCode, who?.me.user.email ?? 'anon').toBe(status);
        if (status >= 400) expectErrorShape(r.json());
      }
      const missing = await req(f1, { method: 'GET', url: `/api/shipments/${randomUUID()}` });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe((await req(f2, { method: 'GET', url: `/api/shipments/${s.id}` })).json().error.code);
    });

    it('operators, the scheduler and the platform cannot pool shipments (403); nothing is created', async () => {
      const before = await counts();
      for (const who of [op1, sched, admin]) {
        const r = await req(who, { method: 'POST', url: '/api/shipments', payload: valid() });
        expect(r.statusCode, who.me.user.email).toBe(403);
        expectErrorShape(r.json());
      }
      expect((await req(null, { method: 'POST', url: '/api/shipments', payload: valid() })).statusCode).toBe(401);
      expect(await counts()).toEqual(before);
    });

    it("a forwarder's API key pools, lists, changes and withdraws; another forwarder's key gets 404", async () => {
      const { key } = (await req(f1, { method: 'POST', url: '/api/api-keys', payload: { name: 'pool bot', role: 'member' } })).json() as { key: string };
      const { key: key2 } = (await req(f2, { method: 'POST', url: '/api/api-keys', payload: { name: 'pool bot 2', role: 'member' } })).json() as { key: string };
      const bearer = (k: string, opts: InjectOptions & { url: string }) => built.app.inject({ ...opts, headers: { authorization: `Bearer ${k}`, ...(opts.headers ?? {}) } });
      const r = await bearer(key, { method: 'POST', url: '/api/shipments', payload: valid({ teu: 2, tonnes: 30 }) });
      expect(r.statusCode, r.body).toBe(201);
      const s = r.json();
      expect(await row(s.id)).toMatchObject({ forwarder_org_id: f1.me.org.id, user_id: null, api_key_id: expect.any(String) });
      expect(((await bearer(key, { method: 'GET', url: '/api/shipments' })).json() as { id: string }[]).map((x) => x.id)).toContain(s.id);
      // the session of the same organisation sees it too
      expect((await req(f1, { method: 'GET', url: `/api/shipments/${s.id}` })).statusCode).toBe(200);
      expect((await bearer(key2, { method: 'GET', url: `/api/shipments/${s.id}` })).statusCode).toBe(404);
      expect((await bearer(key2, { method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { teu: 3, tonnes: 40 } })).statusCode).toBe(404);
      expect((await bearer(key2, { method: 'DELETE', url: `/api/shipments/${s.id}` })).statusCode).toBe(404);
      const changed = await bearer(key, { method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { teu: 3, tonnes: 40, expectVersion: 1 } });
      expect(changed.statusCode, changed.body).toBe(200);
      expect(changed.json()).toMatchObject({ teu: 3, tonnes: 40, version: 2 });
      const gone = await bearer(key, { method: 'DELETE', url: `/api/shipments/${s.id}` });
      expect(gone.json()).toMatchObject({ status: 'withdrawn', version: 3 });
    });

    it('an Idempotency-Key replays the first answer and creates one shipment; the same key with another body: 409', async () => {
      const body = valid({ teu: 5, tonnes: 75 });
      const k = `pool-${randomUUID()}`;
      const first = await req(f1, { method: 'POST', url: '/api/shipments', payload: body, headers: { 'idempotency-key': k } });
      const again = await req(f1, { method: 'POST', url: '/api/shipments', payload: body, headers: { 'idempotency-key': k } });
      expect([first.statusCode, again.statusCode]).toEqual([201, 201]);
      expect(again.json()).toEqual(first.json());
      expect(await env.db.selectFrom('shipments').select('id').where('id', '=', first.json().id).execute()).toHaveLength(1);
      const before = await counts();
      const other = await req(f1, { method: 'POST', url: '/api/shipments', payload: { ...body, teu: 6, tonnes: 90 }, headers: { 'idempotency-key': k } });
      expect(other.statusCode).toBe(409);
      expect(other.json().error.code).toBe('idempotency_key_reused');
      expect(await counts()).toEqual(before);
    });

    it('PATCH: changes a pooled shipment (version + 1, audited); a stale expectVersion is 409 and changes nothing; a no-op keeps the version', async () => {
      const s = await create(f1);
      const r = await req(f1, { method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { to: 'CHBSL', teu: 6, tonnes: 80, modes: ['barge'], consolidate: false, reference: 'PO-2', expectVersion: 1 } });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ id: s.id, from: 'DEDUI', to: 'CHBSL', teu: 6, tonnes: 80, modes: ['barge'], consolidate: false, reference: 'PO-2', status: 'pooled', version: 2 });
      expect(Date.parse(r.json().updatedAt)).toBeGreaterThanOrEqual(Date.parse(s.updatedAt as string));

      const before = await row(s.id);
      const stale = await req(f1, { method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { teu: 7, tonnes: 90, expectVersion: 1 } });
      expect(stale.statusCode).toBe(409);
      expect(stale.json().error).toMatchObject({ code: 'shipment_state_changed', status: 'pooled', version: 2 });
      expect(await row(s.id)).toEqual(before);

      const same = await req(f1, { method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { teu: 6, modes: ['barge'], expectVersion: 2 } });
      expect(same.statusCode).toBe(200);
      expect(same.json().version).toBe(2);
      const clear = await req(f1, { method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { reference: null } });
      expect(clear.json()).toMatchObject({ reference: null, version: 3 });
      const actions = await env.db.selectFrom('audit_log').select('action').where('entity_id', '=', s.id).orderBy('id').execute();
      expect(actions.map((a) => a.action)).toEqual(['shipment.create', 'shipment.change', 'shipment.change']);

      // another forwarder: 404, nothing changed; operators: 403
      const after = await row(s.id);
      expect((await req(f2, { method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { teu: 1, tonnes: 10 } })).statusCode).toBe(404);
      expect((await req(op1, { method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { teu: 1, tonnes: 10 } })).statusCode).toBe(403);
      expect((await req(f1, { method: 'PATCH', url: `/api/shipments/${randomUUID()}`, payload: { teu: 1, tonnes: 10 } })).statusCode).toBe(404);
      expect(await row(s.id)).toEqual(after);
    });

    it('PATCH: an unplaced or proposed shipment may change (and is pooled again); a booked or withdrawn one: 409, nothing changed', async () => {
      const s = await create(f1);
      await env.db.updateTable('shipments').set({ status: 'unplaced' }).where('id', '=', s.id).execute();
      const r = await req(f1, { method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { maxTotalCents: 900_000 } });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ status: 'pooled', maxTotalCents: 900_000, version: 2 });
      // changed until it is in an accepted plan (issue 13): a proposed shipment is pooled again (its open proposal is superseded: optimiser.test.ts)
      await env.db.updateTable('shipments').set({ status: 'proposed' }).where('id', '=', s.id).execute();
      const p = await req(f1, { method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { maxTotalCents: 950_000 } });
      expect(p.statusCode, p.body).toBe(200);
      expect(p.json()).toMatchObject({ status: 'pooled', maxTotalCents: 950_000, version: 3 });
      for (const status of ['booked', 'withdrawn'] as const) {
        await env.db.updateTable('shipments').set({ status }).where('id', '=', s.id).execute();
        const before = await row(s.id);
        const x = await req(f1, { method: 'PATCH', url: `/api/shipments/${s.id}`, payload: { maxTotalCents: 1_000_000 } });
        expect(x.statusCode, status).toBe(409);
        expect(x.json().error).toMatchObject({ code: 'shipment_state_changed', status });
        expect(await row(s.id)).toEqual(before);
      }
    });

    it('DELETE: withdraws (version + 1); twice: 409; a booked shipment: 409; a proposed one may be withdrawn; others: 404 / 403', async () => {
      const s = await create(f1);
      expect((await req(f2, { method: 'DELETE', url: `/api/shipments/${s.id}` })).statusCode).toBe(404);
      expect((await req(op1, { method: 'DELETE', url: `/api/shipments/${s.id}` })).statusCode).toBe(403);
      expect((await req(f1, { method: 'DELETE', url: `/api/shipments/${s.id}?expectVersion=7` })).statusCode).toBe(409);
      expect((await row(s.id)).status).toBe('pooled');
      const r = await req(f1, { method: 'DELETE', url: `/api/shipments/${s.id}?expectVersion=1` });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ id: s.id, status: 'withdrawn', version: 2 });
      const before = await row(s.id);
      const twice = await req(f1, { method: 'DELETE', url: `/api/shipments/${s.id}` });
      expect(twice.statusCode).toBe(409);
      expect(twice.json().error).toMatchObject({ code: 'shipment_state_changed', status: 'withdrawn' });
      expect(await row(s.id)).toEqual(before);

      const booked = await create(f1);
      await env.db.updateTable('shipments').set({ status: 'booked' }).where('id', '=', booked.id).execute();
      const b = await req(f1, { method: 'DELETE', url: `/api/shipments/${booked.id}` });
      expect(b.statusCode).toBe(409);
      expect(b.json().error).toMatchObject({ code: 'shipment_state_changed', status: 'booked' });
      expect((await row(booked.id)).status).toBe('booked');

      const proposed = await create(f1);
      await env.db.updateTable('shipments').set({ status: 'proposed' }).where('id', '=', proposed.id).execute();
      expect((await req(f1, { method: 'DELETE', url: `/api/shipments/${proposed.id}` })).json()).toMatchObject({ status: 'withdrawn' });
      expect((await req(f1, { method: 'DELETE', url: `/api/shipments/${randomUUID()}` })).statusCode).toBe(404);
    });

    it('bad input: 400 in the error shape, and nothing changes (create and change)', async () => {
      const t = Date.now();
      const iso = (ms: number) => new Date(t + ms).toISOString();
      const cases: [string, Record<string, unknown>, string][] = [
        ['deliverBy in the past', { readyAt: iso(-3 * DAY), deliverBy: iso(-DAY) }, 'deliver_by_past'],
        ['deliverBy = readyAt', { readyAt: iso(2 * DAY), deliverBy: iso(2 * DAY) }, 'invalid_window'],
        ['deliverBy before readyAt', { readyAt: iso(5 * DAY), deliverBy: iso(3 * DAY) }, 'invalid_window'],
        ['window over 21 days', { readyAt: iso(DAY), deliverBy: iso(23 * DAY) }, 'window_too_long'],
        ['readyAt over a year ahead', { readyAt: iso(400 * DAY), deliverBy: iso(405 * DAY) }, 'ready_too_late'],
        ['negative tonnes', { tonnes: -5 }, 'invalid_input'],
        ['zero tonnes', { tonnes: 0 }, 'invalid_input'],
        ['zero TEU', { teu: 0 }, 'invalid_input'],
        ['negative TEU', { teu: -2 }, 'invalid_input'],
        ['fractional TEU', { teu: 1.5 }, 'invalid_input'],
        ['10,000 TEU', { teu: 10_000, tonnes: 200_000 }, 'invalid_input'],
        ['501 TEU', { teu: 501, tonnes: 10_000 }, 'invalid_input'],
        ['maxTotalCents 0', { maxTotalCents: 0 }, 'invalid_input'],
        ['negative maxTotalCents', { maxTotalCents: -100 }, 'invalid_input'],
        ['fewer than 1 t per TEU', { teu: 10, tonnes: 9 }, 'invalid_quantity'],
        ['unknown cluster (from)', { from: 'ZZZZZ' }, 'unknown_cluster'],
        ['unknown cluster (to)', { to: 'XXAAA' }, 'unknown_cluster'],
        ['not a cluster code', { from: 'duisburg' }, 'invalid_input'],
        ['same from and to', { from: 'DEDUI', to: 'DEDUI' }, 'same_cluster'],
        ['no modes', { modes: [] }, 'invalid_input'],
        ['an unknown mode', { modes: ['truck'] }, 'invalid_input'],
        ['not a date', { readyAt: 'tomorrow' }, 'invalid_input'],
        ['an extra field', { forwarderOrgId: f2.me.org.id }, 'invalid_input'],
        ['a status of its own choosing', { status: 'booked' }, 'invalid_input'],
      ];
      const existing = await create(f1);
      const before = await counts();
      const rowBefore = await row(existing.id);
      const failures: string[] = [];
      for (const [name, o, code] of cases) {
        const r = await req(f1, { method: 'POST', url: '/api/shipments', payload: valid(o) });
        if (r.statusCode !== 400) failures.push(`POST ${name}: ${r.statusCode} ${r.body.slice(0, 160)}`);
        else if (r.json().error?.code !== code) failures.push(`POST ${name}: code ${r.json().error?.code}, expected ${code}`);
        else expectErrorShape(r.json());
        // the same fault brought in by a change ('an extra field' / status are refused by the schema as well)
        const p = await req(f1, { method: 'PATCH', url: `/api/shipments/${existing.id}`, payload: o });
        if (p.statusCode !== 400) failures.push(`PATCH ${name}: ${p.statusCode} ${p.body.slice(0, 160)}`);
        else if (p.json().error?.code !== code) failures.push(`PATCH ${name}: code ${p.json().error?.code}, expected ${code}`);
      }
      // a change that leaves the shipment with fewer tonnes than TEU (the other field kept)
      const p = await req(f1, { method: 'PATCH', url: `/api/shipments/${existing.id}`, payload: { teu: 100 } });
      expect(p.statusCode).toBe(400);
      expect(p.json().error.code).toBe('invalid_quantity');
      for (const raw of ['{"from":"DEDUI"', '', 'null']) {
        const r = await req(f1, { method: 'POST', url: '/api/shipments', payload: raw, headers: { 'content-type': 'application/json' } });
        if (r.statusCode !== 400) failures.push(`POST raw ${JSON.stringify(raw)}: ${r.statusCode}`);
      }
      expect(failures, failures.join('\n')).toEqual([]);
      expect(await counts()).toEqual(before);
      expect(await row(existing.id)).toEqual(rowBefore);
    });

    it('openPoolRequests: what the optimiser reads — pooled, unplaced and proposed shipments not yet due, in the core\'s shape', async () => {
      const a = await create(f2, { from: 'FRLIL', to: 'ESZAZ', teu: 3, tonnes: 45, modes: ['rail'], consolidate: false });
      const w = await create(f2);
      await req(f2, { method: 'DELETE', url: `/api/shipments/${w.id}` });
      const u = await create(f2);
      await env.db.updateTable('shipments').set({ status: 'unplaced' }).where('id', '=', u.id).execute();
      const open = await openPoolRequests(env.db, new Date());
      const ids = open.map((r) => r.id);
      expect(ids).toEqual(expect.arrayContaining([a.id, u.id]));
      expect(ids).not.toContain(w.id);
      expect(open.find((r) => r.id === a.id)).toEqual({
        id: a.id, forwarderOrgId: f2.me.org.id, from: 'FRLIL', to: 'ESZAZ', teu: 3, tonnes: 45, readyAt: Date.parse(a.readyAt as string),
        deliverBy: Date.parse(a.deliverBy as string), maxTotalCents: 500_000, modes: ['rail'], consolidate: false, status: 'pooled', version: 1,
      });
      expect(open.every((r) => ['pooled', 'unplaced', 'proposed'].includes(r.status))).toBe(true);
      // past its deadline: no longer planned
      expect((await openPoolRequests(env.db, new Date(Date.now() + 30 * DAY))).map((r) => r.id)).not.toContain(a.id);
    });
  });

  describe('operating costs', () => {
    /** A scheduled future departure of each demo operator (operator1, operator2). */
    async function departureOf(s: Session) {
      return env.db.selectFrom('departures').select(['id', 'capacity_teu', 'min_load_teu', 'fixed_cost_cents', 'variable_cost_cents_per_teu'])
        .where('operator_org_id', '=', s.me.org.id).where('status', '=', 'scheduled').where('departs_at', '>', new Date()).orderBy('departs_at').orderBy('id')
        .executeTakeFirstOrThrow();
    }
    const costsRow = (id: string) => env.db.selectFrom('departures').select(['fixed_cost_cents', 'variable_cost_cents_per_teu', 'min_load_teu', 'seq', 'capacity_teu']).where('id', '=', id).executeTakeFirstOrThrow();

    it('the operator states them (200, audited) and reads them back; the departure\'s load and seq are untouched', async () => {
      const d = await departureOf(op1);
      const before = await costsRow(d.id);
      const body = { fixedCostCents: 1_250_000, variableCostCentsPerTeu: 3_200, minLoadTeu: Math.min(30, d.capacity_teu) };
      const r = await req(op1, { method: 'PUT', url: `/api/departures/${d.id}/operating-costs`, payload: body });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({ departureId: d.id, ...body, capacityTeu: d.capacity_teu });
      expect(await costsRow(d.id)).toEqual({ fixed_cost_cents: 1_250_000, variable_cost_cents_per_teu: 3_200, min_load_teu: body.minLoadTeu, seq: before.seq, capacity_teu: before.capacity_teu });
      expect((await req(op1, { method: 'GET', url: `/api/departures/${d.id}/operating-costs` })).json()).toEqual(r.json());
      // the public departure shows the minimum load, never the costs
      const pub = await req(f1, { method: 'GET', url: `/api/departures/${d.id}` });
      expect(pub.json().minLoadTeu).toBe(body.minLoadTeu);
      expect(pub.body).not.toContain('1250000');
      expect(pub.body).not.toMatch(/cost/i);
      const a = await env.db.selectFrom('audit_log').select(['action', 'actor_org_id']).where('entity_id', '=', d.id).where('action', '=', 'departure.operating_costs').execute();
      expect(a).toEqual([{ action: 'departure.operating_costs', actor_org_id: op1.me.org.id }]);
      // minLoadTeu may be the whole capacity, or 0
      for (const minLoadTeu of [d.capacity_teu, 0]) {
        expect((await req(op1, { method: 'PUT', url: `/api/departures/${d.id}/operating-costs`, payload: { ...body, minLoadTeu } })).statusCode).toBe(200);
      }
    });

    it('another operator gets 404 (read and write), forwarders and the scheduler 403, the platform 200; nothing changes when refused', async () => {
      const d = await departureOf(op1);
      const before = await costsRow(d.id);
      const body = { fixedCostCents: 1, variableCostCentsPerTeu: 1, minLoadTeu: 1 };
      for (const [who, status] of [[op2, 404], [f1, 403], [sched, 403], [null, 401]] as const) {
        const put = await req(who, { method: 'PUT', url: `/api/departures/${d.id}/operating-costs`, payload: body });
        expect(put.statusCode, `PUT ${who?.me.user.email ?? 'anon'}`).toBe(status);
        expectErrorShape(put.json());
        const get = await req(who, { method: 'GET', url: `/api/departures/${d.id}/operating-costs` });
        expect(get.statusCode, `GET ${who?.me.user.email ?? 'anon'}`).toBe(status);
      }
      expect(await costsRow(d.id)).toEqual(before);
      expect((await req(op2, { method: 'GET', url: `/api/departures/${d.id}/operating-costs` })).json().error.code)
        .toBe((await req(op2, { method: 'GET', url: `/api/departures/${randomUUID()}/operating-costs` })).json().error.code);
      expect((await req(op1, { method: 'PUT', url: `/api/departures/${randomUUID()}/operating-costs`, payload: body })).statusCode).toBe(404);
      expect((await req(admin, { method: 'GET', url: `/api/departures/${d.id}/operating-costs` })).statusCode).toBe(200);
      const own = await departureOf(op2);
      expect((await req(op2, { method: 'GET', url: `/api/departures/${own.id}/operating-costs` })).statusCode).toBe(200);
    });

    it('bounds: minLoadTeu over the capacity, negative or missing figures: 400; a cancelled departure: 409; nothing changes', async () => {
      const d = await departureOf(op1);
      const before = await costsRow(d.id);
      const ok = { fixedCostCents: 900_000, variableCostCentsPerTeu: 2_500, minLoadTeu: 10 };
      const bad: [Record<string, unknown>, string][] = [
        [{ ...ok, minLoadTeu: d.capacity_teu + 1 }, 'invalid_min_load'],
        [{ ...ok, minLoadTeu: -1 }, 'invalid_input'],
        [{ ...ok, fixedCostCents: -1 }, 'invalid_input'],
        [{ ...ok, variableCostCentsPerTeu: -5 }, 'invalid_input'],
        [{ ...ok, fixedCostCents: 1.5 }, 'invalid_input'],
        [{ ...ok, fixedCostCents: 1e12 }, 'invalid_input'],
        [{ fixedCostCents: 1, variableCostCentsPerTeu: 1 }, 'invalid_input'],
        [{ ...ok, extra: 1 }, 'invalid_input'],
      ];
      for (const [payload, code] of bad) {
        const r = await req(op1, { method: 'PUT', url: `/api/departures/${d.id}/operating-costs`, payload });
        expect(r.statusCode, JSON.stringify(payload)).toBe(400);
        expect(r.json().error.code, JSON.stringify(payload)).toBe(code);
      }
      expect(await costsRow(d.id)).toEqual(before);

      const cancelled = await env.db.selectFrom('departures').select('id').where('operator_org_id', '=', op1.me.org.id).where('id', '!=', d.id)
        .where('departs_at', '>', new Date()).orderBy('departs_at', 'desc').executeTakeFirstOrThrow();
      await env.db.updateTable('departures').set({ status: 'cancelled' }).where('id', '=', cancelled.id).execute();
      const cBefore = await costsRow(cancelled.id);
      const c = await req(op1, { method: 'PUT', url: `/api/departures/${cancelled.id}/operating-costs`, payload: ok });
      expect(c.statusCode).toBe(409);
      expect(c.json().error.code).toBe('departure_cancelled');
      expect(await costsRow(cancelled.id)).toEqual(cBefore);
    });
  });

  describe('demo seed', () => {
    it('every demo departure carries its service\'s operating costs, within the documented assumptions', async () => {
      const rows = await env.db.selectFrom('departures as d').innerJoin('corridors as c', 'c.id', 'd.corridor_id').innerJoin('services as s', 's.id', 'd.service_id')
        .select(['d.id', 'd.fixed_cost_cents', 'd.variable_cost_cents_per_teu', 'c.mode', 'c.distance_km', 's.capacity_teu', 's.fixed_cost_cents as sf', 's.variable_cost_cents_per_teu as sv'])
        // not those whose operator has stated other figures in the tests above
        .where('d.id', 'not in', env.db.selectFrom('audit_log').select(sql<string>`entity_id::uuid`.as('id')).where('action', '=', 'departure.operating_costs'))
        .where('d.asset_name', '!=', 'Trigger test')
        .execute();
      expect(rows.length).toBeGreaterThan(100);
      const unstated = await env.db.selectFrom('departures').select('id').where((eb) => eb.or([eb('fixed_cost_cents', 'is', null), eb('variable_cost_cents_per_teu', 'is', null)])).execute();
      expect(unstated).toEqual([]);
      for (const r of rows) {
        expect(r.fixed_cost_cents).toBe(Number(r.sf));
        expect(r.variable_cost_cents_per_teu).toBe(r.sv);
        expect({ fixedCostCents: Number(r.fixed_cost_cents), variableCostCentsPerTeu: r.variable_cost_cents_per_teu }).toEqual(operatingCostOf(r.mode, r.distance_km, r.capacity_teu));
        const [lo, hi, vlo, vhi] = r.mode === 'rail' ? [900_000, 1_600_000, 2_500, 4_000] : [500_000, 900_000, 1_500, 2_500];
        expect(Number(r.fixed_cost_cents)).toBeGreaterThanOrEqual(lo);
        expect(Number(r.fixed_cost_cents)).toBeLessThanOrEqual(hi);
        expect(r.variable_cost_cents_per_teu).toBeGreaterThanOrEqual(vlo);
        expect(r.variable_cost_cents_per_teu).toBeLessThanOrEqual(vhi);
      }
    });

    it('a new departure of a service gets the service\'s costs (trigger); one stated at insert keeps its own', async () => {
      const svc = await env.db.selectFrom('services').select(['id', 'corridor_id', 'operator_org_id', 'fixed_cost_cents', 'variable_cost_cents_per_teu']).orderBy('code').executeTakeFirstOrThrow();
      const base = {
        corridor_id: svc.corridor_id, operator_org_id: svc.operator_org_id, service_id: svc.id, asset_name: 'Trigger test', capacity_teu: 50, capacity_tonnes: 1000,
      };
      const at = (d: number) => ({ cutoff_at: new Date(Date.now() + d * DAY), departs_at: new Date(Date.now() + d * DAY + 3_600_000), arrives_at: new Date(Date.now() + (d + 1) * DAY) });
      const a = await env.db.insertInto('departures').values({ ...base, ...at(40) }).returning(['fixed_cost_cents', 'variable_cost_cents_per_teu']).executeTakeFirstOrThrow();
      expect(a).toEqual({ fixed_cost_cents: svc.fixed_cost_cents, variable_cost_cents_per_teu: svc.variable_cost_cents_per_teu });
      const b = await env.db.insertInto('departures').values({ ...base, ...at(41), fixed_cost_cents: 1, variable_cost_cents_per_teu: 2 })
        .returning(['fixed_cost_cents', 'variable_cost_cents_per_teu']).executeTakeFirstOrThrow();
      expect(b).toEqual({ fixed_cost_cents: 1, variable_cost_cents_per_teu: 2 });
    });

    it('the demo pool: a handful of pooled shipments of the demo forwarders on shared pairs, each valid', async () => {
      const rows = await env.db.selectFrom('shipments as s').innerJoin('organisations as o', 'o.id', 's.forwarder_org_id')
        .innerJoin('clusters as f', 'f.id', 's.from_cluster_id').innerJoin('clusters as t', 't.id', 's.to_cluster_id')
        .select(['s.reference', 's.status', 's.version', 's.teu', 's.tonnes', 's.ready_at', 's.deliver_by', 's.modes', 'o.slug', 'f.code as from_code', 't.code as to_code'])
        .where('s.reference', 'like', 'DEMO-POOL-%').orderBy('s.reference').execute();
      expect(rows.map((r) => r.reference)).toEqual(demoPool.map((p) => p.reference).sort());
      expect(new Set(rows.map((r) => r.slug)).size).toBe(4);
      for (const r of rows) {
        const p = demoPool.find((x) => x.reference === r.reference)!;
        expect(r).toMatchObject({ status: 'pooled', version: 1, slug: p.forwarderSlug, from_code: p.from, to_code: p.to, teu: p.teu, tonnes: p.tonnes });
        expect(r.tonnes).toBeGreaterThanOrEqual(r.teu);
        expect(r.deliver_by.getTime() - r.ready_at.getTime()).toBe(p.windowDays * DAY);
      }
      // pairs shared by several forwarders: what pooling is for
      const pairs = new Map<string, Set<string>>();
      for (const p of demoPool) pairs.set(`${p.from}-${p.to}`, (pairs.get(`${p.from}-${p.to}`) ?? new Set()).add(p.forwarderSlug));
      expect([...pairs.values()].filter((s) => s.size >= 2).length).toBeGreaterThanOrEqual(3);
    });
  });
});
