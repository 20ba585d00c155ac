import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

// An integrator's check against API.md found GET /api/departures cut at 500 rows with no way to the rest: the list now
// pages on (departs_at, id), with x-next-cursor and a Link to the next page that keeps the request's filters.
describe('GET /api/departures a page at a time', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    f1 = await signIn(built.app, 'forwarder1@demo.test');
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  it('pages through exactly the database order, ties included, with no gap or repeat; the Link keeps the filters', async () => {
    // 13 departures in a window of their own, far ahead: five at one instant (ties ordered by id), the rest an hour apart
    const base = Date.UTC(new Date().getUTCFullYear() + 3, 0, 10, 8);
    const ids: string[] = [];
    for (let i = 0; i < 13; i++) {
      const d = await createDepartureWithListing(env.db, { capacityTeu: 20, capacityTonnes: 400, cutoffInMs: base - Date.now() - 3_600_000 });
      ids.push(d.departureId);
      const at = new Date(base + (i < 5 ? 0 : (i - 4) * 3_600_000));
      await env.db.updateTable('departures').set({ departs_at: at, arrives_at: new Date(at.getTime() + 86_400_000) }).where('id', '=', d.departureId).execute();
    }
    const after = new Date(base - 60_000).toISOString();
    const before = new Date(base + 10 * 3_600_000).toISOString();
    const expected = (await env.db.selectFrom('departures').select('id').where('id', 'in', ids).orderBy('departs_at').orderBy('id').execute()).map((r) => r.id);

    let url: string | null = `/api/departures?from=DEDUI&after=${encodeURIComponent(after)}&before=${encodeURIComponent(before)}&limit=4`;
    const seen: string[] = [];
    const pages: number[] = [];
    while (url) {
      const r = await as(built.app, f1)({ method: 'GET', url });
      expect(r.statusCode, r.body).toBe(200);
      const list = r.json() as { id: string; origin: string }[];
      pages.push(list.length);
      for (const d of list) expect(d.origin).toBe('DEDUI');
      seen.push(...list.map((d) => d.id));
      const next = r.headers['x-next-cursor'] as string | undefined;
      const link = r.headers.link as string | undefined;
      if (next) {
        expect(link).toMatch(/^<\/api\/departures\?.*>; rel="next"$/);
        const q = new URLSearchParams(/\?([^>]*)>/.exec(link!)![1]);
        expect([q.get('from'), q.get('after'), q.get('before'), q.get('limit'), q.get('cursor')]).toEqual(['DEDUI', after, before, '4', next]);
      } else expect(link).toBeUndefined();
      url = link ? /^<([^>]*)>/.exec(link)![1]! : null;
      expect(pages.length).toBeLessThan(10);
    }
    expect(seen).toEqual(expected);
    expect(pages).toEqual([4, 4, 4, 1]);

    // a malformed cursor is 400 and says so
    const bad = await as(built.app, f1)({ method: 'GET', url: '/api/departures?cursor=12_not-a-uuid' });
    expect(bad.statusCode).toBe(400);
    expectErrorShape(bad.json());
  });
});
