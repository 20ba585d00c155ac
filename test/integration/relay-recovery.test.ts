import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamEventSink } from '../../server/adapters/realtime/events.ts';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { buildApp, signIn } from '../helpers/http.ts';
import { connectLive, subscribe } from '../helpers/live.ts';
import { startPrivateRedis, waitUntil } from '../helpers/procs.ts';

/**
 * Regression (found by reading the code during the chaos work): after Redis lost its data, the relay of
 * worker events retried forever on NOGROUP and worker events never reached clients again. (The relay
 * used a consumer group then; it now reads the stream with plain XREAD and must simply carry on.)
 */
describe('live events from workers survive Redis losing its data', () => {
  let env: TestEnv;
  let redis: { url: string; stop(): Promise<void> };
  let built: App;
  let url: string;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    env = await createTestEnv({ cfg: { redisUrl: redis.url } });
    built = await buildApp(env.cfg);
    await built.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(built.app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await built.app.close();
    await env.cleanup();
    await redis.stop();
  });

  it('keeps reading the event stream after FLUSHALL and delivers worker events again', async () => {
    const s = await signIn(built.app, 'forwarder1@demo.test');
    const live = await connectLive(url, { cookie: s.cookie });
    const corridor = await env.db.selectFrom('corridors').select('id').executeTakeFirstOrThrow();
    expect(await subscribe(live.socket, { corridorId: corridor.id })).toEqual({ ok: true });
    const workerSink = new StreamEventSink(env.redis, env.cfg.redisPrefix);
    const send = (n: number) => workerSink.emit([{ rooms: [`corridor:${corridor.id}`], event: 'test:relay', payload: { n } }]);

    await send(1);
    await waitUntil(async () => live.events.find((e) => e.event === 'test:relay'), 'first relayed event', 100);

    await env.redis.flushall();
    // keep sending (a bounded number of times) until the relay has re-created its group and delivers again
    let n = 2;
    await waitUntil(
      async () => {
        await send(n++);
        return live.events.find((e) => e.event === 'test:relay' && e.payload.n > 1);
      },
      'a relayed event after FLUSHALL',
      60,
      500,
    );
    live.socket.close();
  });
});
