import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamEventSink } from '../../server/adapters/realtime/events.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { buildApp, signIn } from '../helpers/http.ts';
import { connectLive, subscribe } from '../helpers/live.ts';
import { waitUntil } from '../helpers/procs.ts';

/**
 * Watchers are served within a budget: a burst of availability changes reaches every watcher as fewer
 * frames, strictly newer each time, ending on the newest state, with frames that stand for several changes
 * marked `coalesced` (clients need not re-read). Events that are not states (bookings, expiries) are never
 * coalesced: every one arrives.
 */
describe('live fan-out under a burst', () => {
  let env: TestEnv;
  let built: App;
  let url: string;

  beforeAll(async () => {
    env = await createTestEnv();
    built = await buildApp(env.cfg);
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(built.app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await built.app.close();
    await env.cleanup();
  });

  it('coalesces a burst of 300 changes into fewer frames that end on the newest state, and delivers every non-state event', async () => {
    const s = await signIn(built.app, 'forwarder1@demo.test');
    const corridor = await env.db.selectFrom('corridors').select('id').executeTakeFirstOrThrow();
    const watchers = await Promise.all([0, 1, 2].map(() => connectLive(url, { cookie: s.cookie })));
    for (const w of watchers) expect(await subscribe(w.socket, { corridorId: corridor.id })).toEqual({ ok: true });

    const producer = new StreamEventSink(env.redis, env.cfg.redisPrefix); // as a worker publishes
    const dep = '00000000-0000-4000-8000-000000000001';
    for (let seq = 1; seq <= 300; seq++) {
      await producer.emit([
        {
          rooms: [`corridor:${corridor.id}`, `departure:${dep}`],
          event: 'departure:availability',
          payload: { departureId: dep, seq, freeTeu: 300 - seq, freeTonnes: 3000 - seq * 10 },
          coalesceKey: `avail:${dep}`,
          version: seq,
        },
        ...(seq % 6 === 0 ? [{ rooms: [`corridor:${corridor.id}`], event: 'test:every', payload: { n: seq / 6 } }] : []),
      ]);
    }
    type Avail = { seq: number; freeTeu: number; coalesced?: boolean };
    const frames = (w: (typeof watchers)[number]) => w.events.filter((e) => e.event === 'departure:availability').map((e) => e.payload as Avail);
    await waitUntil(async () => watchers.every((w) => frames(w).at(-1)?.seq === 300), 'every watcher on the newest state', 100);
    await waitUntil(async () => watchers.every((w) => w.events.filter((e) => e.event === 'test:every').length === 50), 'every non-state event', 100);

    for (const w of watchers) {
      const f = frames(w);
      expect(f.length).toBeLessThan(300);
      expect(f.at(-1)).toMatchObject({ seq: 300, freeTeu: 0 });
      for (let i = 1; i < f.length; i++) {
        expect(f[i]!.seq).toBeGreaterThan(f[i - 1]!.seq);
        // a frame after skipped changes says it stands for them
        if (f[i]!.seq > f[i - 1]!.seq + 1) expect(f[i]!.coalesced).toBe(true);
      }
      expect(w.events.filter((e) => e.event === 'test:every').map((e) => (e.payload as { n: number }).n)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      w.socket.close();
    }
  });
});
