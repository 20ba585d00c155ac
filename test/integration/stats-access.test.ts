import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

const DAY = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/**
 * Issue 11, statistics permissions: every stats endpoint × every kind of caller (anonymous, forwarder,
 * operator — its own or another operator's figures —, scheduler, platform admin, API keys), JSON and CSV.
 * A scheduler and the platform see the network; an operator its own departures plus network aggregates;
 * a forwarder its own bookings only, and no departures at risk.
 */
describe('statistics: scopes per role on every endpoint', () => {
  let env: TestEnv;
  let built: App;
  const S = {} as Record<'f1' | 'f2' | 'op1' | 'op2' | 'sched' | 'admin', Session>;
  const key = {} as Record<'f1' | 'op1', string>;
  const dep = {} as Record<'op1' | 'op2', { departureId: string; corridorId: string; listingId: string }>;
  const from = day(Date.now());
  const to = day(Date.now() + 7 * DAY);
  const q = `from=${from}&to=${to}`;
  const PRICE = { f1: 43_211, f2: 57_773 } as const; // distinctive unit prices

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    for (const [k, email] of [
      ['f1', 'forwarder1@demo.test'], ['f2', 'forwarder2@demo.test'], ['op1', 'operator1@demo.test'], ['op2', 'operator2@demo.test'],
      ['sched', 'scheduler@demo.test'], ['admin', 'admin@demo.test'],
    ] as const) S[k] = await signIn(built.app, email);
    for (const [op, f, corridorCode] of [['op1', 'f1', 'DEDUI-ITBLQ-rail'], ['op2', 'f2', 'ESZAZ-FRLIL-rail']] as const) {
      // a departure of each operator, 6 hours to its cut-off (so it is at risk: nothing near its minimum load)
      const d = await createDepartureWithListing(env.db, { capacityTeu: 100, capacityTonnes: 2000, listedTeu: 50, unitPriceCents: PRICE[f], corridorCode, cutoffInMs: 6 * 3_600_000 });
      await env.db.updateTable('departures').set({ operator_org_id: S[op].me.org.id }).where('id', '=', d.departureId).execute();
      dep[op] = d;
      const h = await as(built.app, S[f])({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 3, tonnes: 30 } });
      expect(h.statusCode, h.body).toBe(201);
      const b = await as(built.app, S[f])({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} });
      expect(b.statusCode, b.body).toBe(201);
    }
    for (const k of ['f1', 'op1'] as const) {
      const r = await as(built.app, S[k])({ method: 'POST', url: '/api/api-keys', payload: { name: `stats ${k}` } });
      expect(r.statusCode, r.body).toBe(201);
      key[k] = r.json().key;
    }
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const get = (who: Session | null, url: string, headers: Record<string, string> = {}) => as(built.app, who)({ method: 'GET', url, headers });
  const withKey = (k: string, url: string) => built.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${k}` } });
  const ENDPOINTS = [`/api/stats/utilisation?${q}`, `/api/stats/kpis?${q}`, `/api/stats/price-index?${q}`, '/api/stats/at-risk?hours=24'];

  it('the expected status for every endpoint × caller (JSON and CSV), errors in the API.md shape', async () => {
    const expected: Record<string, [number, number, number, number, number, number, number]> = {
      //                                anon  f1   f2   op1  op2  sched admin
      [`/api/stats/utilisation?${q}`]: [401, 200, 200, 200, 200, 200, 200],
      [`/api/stats/kpis?${q}`]: [401, 200, 200, 200, 200, 200, 200],
      [`/api/stats/price-index?${q}`]: [401, 200, 200, 200, 200, 200, 200],
      ['/api/stats/at-risk?hours=24']: [401, 403, 403, 200, 200, 200, 200],
    };
    const who = [null, S.f1, S.f2, S.op1, S.op2, S.sched, S.admin];
    const failures: string[] = [];
    for (const [url, statuses] of Object.entries(expected)) {
      for (const [i, s] of who.entries()) {
        for (const csv of [false, true]) {
          const r = await get(s, csv ? `${url}&format=csv` : url);
          if (r.statusCode !== statuses[i]) failures.push(`${url} ${csv ? 'csv' : 'json'} as #${i}: ${r.statusCode} ${r.body.slice(0, 120)}`);
          else if (r.statusCode >= 400) expectErrorShape(r.json());
          else if (csv) {
            expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
            expect(String(r.headers['content-disposition'])).toMatch(/^attachment; filename="[\w.-]+\.csv"$/);
          } else expect(r.headers['content-type']).toMatch(/^application\/json/);
        }
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('Accept: text/csv answers CSV; ?format=json wins over it', async () => {
    const r = await get(S.sched, `/api/stats/utilisation?${q}&groupBy=operator`, { accept: 'text/csv' });
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    const [head, ...lines] = r.body.trim().split('\r\n');
    expect(head!.split(',').slice(0, 4)).toEqual(['operatorOrgId', 'operatorName', 'departures', 'capacityTeu']);
    expect(head).toContain('fixedTeu');
    expect(head).toContain('auctionAwardedTeu');
    expect(lines.length).toBeGreaterThan(0);
    // the file's name carries the filters: a filtered export is not named like the network-wide one
    const dedui = await get(S.sched, `/api/stats/utilisation?${q}&groupBy=operator&cluster=DEDUI&mode=rail&format=csv`);
    expect(dedui.statusCode).toBe(200);
    expect(String(dedui.headers['content-disposition'])).toMatch(/^attachment; filename="utilisation-operator-[\d-]+-DEDUI-rail\.csv"$/);
    expect(String(r.headers['content-disposition'])).toMatch(/^attachment; filename="utilisation-operator-[\d-]+\.csv"$/);
    const j = await get(S.sched, `/api/stats/utilisation?${q}&groupBy=operator&format=json`, { accept: 'text/csv' });
    expect(j.headers['content-type']).toMatch(/^application\/json/);
  });

  it('scheduler and platform: the whole network; they may filter by any operator', async () => {
    for (const s of [S.sched, S.admin]) {
      const r = await get(s, `/api/stats/utilisation?${q}&groupBy=departure`);
      expect(r.json().scope).toBe('network');
      const ids = (r.json().rows as { departureId: string }[]).map((x) => x.departureId);
      expect(ids).toEqual(expect.arrayContaining([dep.op1.departureId, dep.op2.departureId]));
      expect(r.json().network).toBeUndefined();
      const f = await get(s, `/api/stats/utilisation?${q}&groupBy=operator&operatorOrgId=${S.op2.me.org.id}`);
      expect(f.statusCode).toBe(200);
      expect((f.json().rows as { operatorOrgId: string }[]).map((x) => x.operatorOrgId)).toEqual([S.op2.me.org.id]);
      const risk = await get(s, '/api/stats/at-risk?hours=24');
      expect((risk.json().rows as { departureId: string }[]).map((x) => x.departureId)).toEqual(expect.arrayContaining([dep.op1.departureId, dep.op2.departureId]));
    }
  });

  it("an operator: its own departures in full, the network only as an aggregate; another operator's id is 403", async () => {
    const r = await get(S.op1, `/api/stats/utilisation?${q}&groupBy=departure`);
    expect(r.statusCode).toBe(200);
    const a = r.json();
    expect(a.scope).toBe('operator');
    expect(new Set((a.rows as { operatorOrgId: string }[]).map((x) => x.operatorOrgId))).toEqual(new Set([S.op1.me.org.id]));
    expect((a.rows as { departureId: string }[]).map((x) => x.departureId)).not.toContain(dep.op2.departureId);
    // the network aggregate covers both operators' departures: more capacity and bookings than op1 alone
    expect(a.network.capacityTeu).toBeGreaterThan(a.totals.capacityTeu);
    expect(a.network.bookedTeu).toBeGreaterThanOrEqual(a.totals.bookedTeu + 3);
    expect(JSON.stringify(a.rows)).not.toContain(dep.op2.departureId);
    for (const url of ENDPOINTS) {
      const sep = url.includes('?') ? '&' : '?';
      const other = await get(S.op1, `${url}${sep}operatorOrgId=${S.op2.me.org.id}`);
      expect(other.statusCode, url).toBe(403);
      expect(other.json().error.code).toBe('forbidden');
      const own = await get(S.op1, `${url}${sep}operatorOrgId=${S.op1.me.org.id}`);
      expect(own.statusCode, url).toBe(200);
    }
    const risk = await get(S.op1, '/api/stats/at-risk?hours=24');
    const riskIds = (risk.json().rows as { departureId: string; operatorOrgId: string }[]);
    expect(riskIds.map((x) => x.departureId)).toContain(dep.op1.departureId);
    expect(riskIds.every((x) => x.operatorOrgId === S.op1.me.org.id)).toBe(true);
    const k = await get(S.op2, `/api/stats/kpis?${q}`);
    expect(k.json().scope).toBe('operator');
  });

  it("a forwarder: its own bookings' figures (spend, CO2e saved) and nothing of another forwarder's", async () => {
    for (const [me, other] of [['f1', 'f2'], ['f2', 'f1']] as const) {
      const r = await get(S[me], `/api/stats/utilisation?${q}&groupBy=departure`);
      const a = r.json();
      expect(a.scope).toBe('forwarder');
      expect(a.totals).toMatchObject({ bookedTeu: 3, revenueCents: 3 * PRICE[me], capacityTeu: null, heldTeu: null, freeTeu: null, loadFactor: null, departures: null });
      expect(a.totals.co2eSavedKg).toBeGreaterThan(0);
      expect(a.totals.trucksAvoided).toBe(2);
      const body = [r.body, (await get(S[me], `/api/stats/price-index?${q}`)).body, (await get(S[me], `/api/stats/kpis?${q}`)).body, (await get(S[me], `/api/stats/utilisation?${q}&format=csv`)).body].join('\n');
      for (const secret of [String(PRICE[other]), String(3 * PRICE[other]), S[other].me.org.id, dep[other === 'f1' ? 'op1' : 'op2'].departureId]) {
        expect(body, `${me} sees ${other}'s ${secret}`).not.toContain(secret);
      }
      const p = (await get(S[me], `/api/stats/price-index?${q}`)).json();
      expect(p.rows.filter((x: { bookedTeu: number }) => x.bookedTeu > 0)).toEqual([expect.objectContaining({ bookedTeu: 3, avgUnitPriceCents: PRICE[me], index: 100 })]);
    }
  });

  it('API keys get the scope of their organisation', async () => {
    const f = await withKey(key.f1, `/api/stats/kpis?${q}`);
    expect(f.statusCode, f.body).toBe(200);
    expect(f.json()).toMatchObject({ scope: 'forwarder', current: { bookedTeu: 3, revenueCents: 3 * PRICE.f1 } });
    expect((await withKey(key.f1, '/api/stats/at-risk')).statusCode).toBe(403);
    const o = await withKey(key.op1, `/api/stats/utilisation?${q}&groupBy=operator`);
    expect(o.statusCode, o.body).toBe(200);
    expect(o.json().scope).toBe('operator');
    expect(o.json().rows.map((x: { operatorOrgId: string }) => x.operatorOrgId)).toEqual([S.op1.me.org.id]);
    expect((await withKey(key.op1, `/api/stats/kpis?${q}&operatorOrgId=${S.op2.me.org.id}`)).statusCode).toBe(403);
    expect((await withKey('cx_live_not_a_key', `/api/stats/kpis?${q}`)).statusCode).toBe(401);
  });

  it('minLoadTeu: POST /api/departures takes it (default ceil(40 %)), answers carry it, at-risk uses it', async () => {
    const corridors = (await get(S.op1, '/api/corridors')).json() as { id: string }[];
    const t = Date.now();
    const body = (cap: number, extra: Record<string, unknown> = {}) => ({
      corridorId: corridors[0]!.id, departsAt: new Date(t + 10 * 3_600_000).toISOString(), arrivesAt: new Date(t + 40 * 3_600_000).toISOString(),
      cutoffAt: new Date(t + 8 * 3_600_000).toISOString(), capacityTeu: cap, capacityTonnes: cap * 20, assetName: 'Min load test', ...extra,
    });
    const dflt = await as(built.app, S.op1)({ method: 'POST', url: '/api/departures', payload: body(45) });
    expect(dflt.statusCode, dflt.body).toBe(201);
    expect(dflt.json().minLoadTeu).toBe(18); // ceil(0.4 × 45)
    const set = await as(built.app, S.op1)({ method: 'POST', url: '/api/departures', payload: body(45, { minLoadTeu: 0 }) });
    expect(set.statusCode, set.body).toBe(201);
    expect(set.json().minLoadTeu).toBe(0);
    const tooHigh = await as(built.app, S.op1)({ method: 'POST', url: '/api/departures', payload: body(45, { minLoadTeu: 46 }) });
    expect(tooHigh.statusCode).toBe(400);
    expect(tooHigh.json().error.code).toBe('invalid_min_load');
    const one = await get(S.f1, `/api/departures/${dflt.json().id}`);
    expect(one.json().minLoadTeu).toBe(18);
    const risk = (await get(S.op1, '/api/stats/at-risk?hours=24')).json().rows as { departureId: string; minLoadTeu: number; shortfallTeu: number; bookedTeu: number }[];
    expect(risk.find((x) => x.departureId === dflt.json().id)).toMatchObject({ minLoadTeu: 18, shortfallTeu: 18, bookedTeu: 0 });
    expect(risk.map((x) => x.departureId)).not.toContain(set.json().id); // 0 TEU minimum: never at risk
    const cutoffs = risk.map((x) => (x as unknown as { cutoffAt: string }).cutoffAt);
    expect([...cutoffs].sort()).toEqual(cutoffs);
  });

  // last: it books, and the tests above count the beforeAll's bookings exactly
  it('market activity: what the last minutes booked and what is held now, moving by exactly what a hold and a confirm add, per scope', async () => {
    type Activity = { bookings: number; bookedTeu: number; revenueCents: number; wonAtAuction: number; activeHolds: number; heldTeu: number; scope: string; minutes: number };
    const read = async (who: 'sched' | 'op1' | 'op2' | 'admin', qs = '') => {
      const r = await get(S[who], `/api/stats/activity${qs}`);
      expect(r.statusCode, r.body).toBe(200);
      return r.json() as Activity;
    };
    const before = { sched: await read('sched'), op1: await read('op1'), op2: await read('op2'), admin: await read('admin', `?operatorOrgId=${S.op1.me.org.id}`) };
    expect(before.sched).toMatchObject({ scope: 'network', minutes: 60 });
    expect(before.op1.scope).toBe('operator');
    // the beforeAll's two confirmed bookings were made minutes ago: each operator counts its own
    expect(before.op1.bookings).toBeGreaterThanOrEqual(1);
    expect(before.sched.bookings).toBeGreaterThanOrEqual(before.op1.bookings + before.op2.bookings);
    // on operator 1's departure: a hold of 2 TEU stays active, one of 1 TEU is confirmed
    const kept = await as(built.app, S.f1)({ method: 'POST', url: '/api/holds', payload: { listingId: dep.op1.listingId, teu: 2, tonnes: 20 } });
    expect(kept.statusCode, kept.body).toBe(201);
    const h = await as(built.app, S.f1)({ method: 'POST', url: '/api/holds', payload: { listingId: dep.op1.listingId, teu: 1, tonnes: 10 } });
    const b = await as(built.app, S.f1)({ method: 'POST', url: `/api/holds/${h.json().id}/confirm`, payload: {} });
    expect(b.statusCode, b.body).toBe(201);
    const after = { sched: await read('sched'), op1: await read('op1'), op2: await read('op2'), admin: await read('admin', `?operatorOrgId=${S.op1.me.org.id}`) };
    const delta = (a: Activity, z: Activity) => [a.bookings - z.bookings, a.bookedTeu - z.bookedTeu, a.revenueCents - z.revenueCents, a.activeHolds - z.activeHolds, a.heldTeu - z.heldTeu];
    for (const k of ['sched', 'op1', 'admin'] as const) expect(delta(after[k], before[k]), k).toEqual([1, 1, PRICE.f1, 1, 2]);
    expect(delta(after.op2, before.op2), 'another operator').toEqual([0, 0, 0, 0, 0]);
    // an operator cannot widen its scope with operatorOrgId; a forwarder may not ask; the window is validated
    expect((await get(S.op2, `/api/stats/activity?operatorOrgId=${S.op1.me.org.id}`)).statusCode).toBe(403);
    const f = await get(S.f1, '/api/stats/activity');
    expect(f.statusCode).toBe(403);
    expectErrorShape(f.json());
    for (const bad of ['?minutes=0', '?minutes=1441', '?minutes=x', '?cluster=NOPE']) {
      const r = await get(S.sched, `/api/stats/activity${bad}`);
      expect(r.statusCode, bad).toBe(400);
      expectErrorShape(r.json());
    }
  });
});
