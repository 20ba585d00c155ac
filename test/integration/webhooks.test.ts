import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postWebhook } from '../../server/adapters/webhooks/sender.ts';
import type { Config } from '../../server/config.ts';
import { verifySignature } from '../../server/core/webhooks.ts';
import type { App } from '../../server/http/app.ts';
import { startWorkers, type WorkerRuntime } from '../../workers/runtime.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { createDepartureWithListing } from '../helpers/fixtures.ts';
import { as, buildApp, signIn, type Session } from '../helpers/http.ts';
import { startWorker, waitUntil, type Proc } from '../helpers/procs.ts';

/**
 * Issue 15: signed webhooks against a real HTTP receiver on 127.0.0.1 (loopback allowed by configuration here).
 * Retry delays are tiny so retries happen at once; nothing asserts on time.
 */

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A receiver: `behaviour[path]` decides each answer (a status, or 'hang' to never answer). */
async function startReceiver() {
  const got: Received[] = [];
  const behaviour = new Map<string, (r: Received, nth: number) => number | 'hang'>();
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const r: Received = { path: req.url ?? '', headers: req.headers, body, status: 0 };
      const nth = got.filter((g) => g.path === r.path).length;
      const decide = behaviour.get(r.path) ?? (() => 200);
      const s = decide(r, nth);
      got.push(r);
      if (s === 'hang') {
        hung.push(res);
        return;
      }
      r.status = s;
      res.writeHead(s, { 'content-type': 'text/plain' }).end(s >= 300 ? `nope ${'x'.repeat(600)}` : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    got,
    behaviour,
    port,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    async close() {
      for (const h of hung) h.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const event = (r: Received) => JSON.parse(r.body) as { id: string; type: string; createdAt: string; data: Record<string, unknown> };

function webhookCfg(base: Config, o: Partial<Config['webhooks']> = {}): Config['webhooks'] {
  return { ...base.webhooks, allowHttp: true, allowLoopback: true, timeoutMs: 3000, retryBaseMs: 20, retryMaxMs: 100, maxAttempts: 5, disableAfterFailures: 4, disableAfterMs: 0, sweepMs: 300, ...o };
}

async function bookOne(app: App['app'], s: Session, db: TestEnv['db']) {
  const d = await createDepartureWithListing(db, { capacityTeu: 50, capacityTonnes: 1000, unitPriceCents: 10_000 });
  const hold = await as(app, s)({ method: 'POST', url: '/api/holds', payload: { listingId: d.listingId, teu: 1, tonnes: 10 } });
  expect(hold.statusCode).toBe(201);
  const b = await as(app, s)({ method: 'POST', url: `/api/holds/${hold.json().id}/confirm`, payload: { reference: 'WH' } });
  expect(b.statusCode).toBe(201);
  return b.json() as { id: string };
}

describe('webhooks: signed deliveries to a real receiver', () => {
  let env: TestEnv;
  let built: App;
  let worker: WorkerRuntime;
  let rx: Receiver;
  const S = {} as Record<'f1' | 'f2' | 'f3' | 'f4', Session>;

  beforeAll(async () => {
    env = await createTestEnv();
    env.cfg.webhooks = webhookCfg(env.cfg);
    built = await buildApp(env.cfg);
    worker = await startWorkers(env.cfg, { info: () => {}, error: () => {} });
    rx = await startReceiver();
    for (const f of ['f1', 'f2', 'f3', 'f4'] as const) S[f] = await signIn(built.app, `forwarder${f.slice(1)}@demo.test`);
  });
  afterAll(async () => {
    await worker?.close(5000);
    await built?.app.close();
    await rx?.close();
    await env?.cleanup();
  });

  const register = async (s: Session, path: string, events: string[]) => {
    const r = await as(built.app, s)({ method: 'POST', url: '/api/webhooks', payload: { url: rx.url(path), events, description: path } });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string; secret: string };
  };
  const deliveries = async (s: Session, id: string) => {
    const r = await as(built.app, s)({ method: 'GET', url: `/api/webhooks/${id}/deliveries` });
    expect(r.statusCode).toBe(200);
    return r.json() as { id: string; eventId: string; type: string; status: string; attempts: number; responseCode: number | null; redeliveryOf: string | null }[];
  };

  it('booking confirm → booking.confirmed, signed, retried after failures with the same event id', async () => {
    const ep = await register(S.f1, '/r1', ['booking.confirmed']);
    expect(ep.secret).toMatch(/^whsec_/);
    const list = (await as(built.app, S.f1)({ method: 'GET', url: '/api/webhooks' })).json();
    expect(JSON.stringify(list)).not.toContain(ep.secret); // shown once only
    rx.behaviour.set('/r1', (_r, nth) => (nth < 2 ? 500 : 200));
    const booking = await bookOne(built.app, S.f1, env.db);

    const ok = await waitUntil(async () => rx.got.find((g) => g.path === '/r1' && g.status === 200), 'the booking.confirmed delivery to succeed');
    const all = rx.got.filter((g) => g.path === '/r1');
    expect(all).toHaveLength(3);
    const e = event(ok);
    expect(e).toMatchObject({ type: 'booking.confirmed', data: { id: booking.id, status: 'confirmed', reference: 'WH' } });
    for (const g of all) {
      expect(g.headers['cx-event-id']).toBe(e.id);
      expect(g.headers['cx-event-type']).toBe('booking.confirmed');
      expect(g.body).toBe(ok.body); // the same bytes every attempt
      expect(verifySignature(ep.secret, String(g.headers['cx-signature']), g.body, Date.now())).toMatchObject({ ok: true });
    }
    const log = await waitUntil(async () => {
      const l = await deliveries(S.f1, ep.id);
      return l[0]?.status === 'succeeded' ? l : null;
    }, 'the delivery log to show success');
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ eventId: e.id, type: 'booking.confirmed', status: 'succeeded', attempts: 3, responseCode: 200 });

    // redelivery: the same event (same id) again, logged as a new delivery of it
    const re = await as(built.app, S.f1)({ method: 'POST', url: `/api/webhooks/${ep.id}/deliveries/${log[0]!.id}/redeliver` });
    expect(re.statusCode).toBe(202);
    await waitUntil(async () => rx.got.filter((g) => g.path === '/r1' && g.status === 200).length === 2, 'the redelivery');
    const again = rx.got.filter((g) => g.path === '/r1' && g.status === 200)[1]!;
    expect(again.headers['cx-event-id']).toBe(e.id);
    const log2 = await waitUntil(async () => {
      const l = await deliveries(S.f1, ep.id);
      return l.length === 2 && l.every((d) => d.status === 'succeeded') ? l : null;
    }, 'the redelivery logged');
    expect(log2.find((d) => d.redeliveryOf === log[0]!.id)).toMatchObject({ eventId: e.id });
  });

  it('keeps order per object: booking.cancelled waits until booking.confirmed has succeeded', async () => {
    const ep = await register(S.f2, '/r2', ['booking.confirmed', 'booking.cancelled']);
    rx.behaviour.set('/r2', (r, nth) => (event(r).type === 'booking.confirmed' && nth < 2 ? 503 : 200));
    const booking = await bookOne(built.app, S.f2, env.db);
    const cancel = await as(built.app, S.f2)({ method: 'DELETE', url: `/api/bookings/${booking.id}` });
    expect(cancel.statusCode).toBe(200);
    await waitUntil(async () => rx.got.some((g) => g.path === '/r2' && g.status === 200 && event(g).type === 'booking.cancelled'), 'booking.cancelled delivered');
    const seen = rx.got.filter((g) => g.path === '/r2').map((g) => `${event(g).type}:${g.status}`);
    expect(seen).toEqual(['booking.confirmed:503', 'booking.confirmed:503', 'booking.confirmed:200', 'booking.cancelled:200']);
    const [c, x] = rx.got.filter((g) => g.path === '/r2' && g.status === 200).map(event);
    expect(c!.id).not.toBe(x!.id);
    expect(x!.data).toMatchObject({ id: booking.id, status: 'cancelled' });
    const rows = await env.db.selectFrom('webhook_events').select(['type', 'seq']).where('object_key', '=', `booking:${booking.id}`).orderBy('seq').execute();
    expect(rows).toEqual([{ type: 'booking.confirmed', seq: 1 }, { type: 'booking.cancelled', seq: 2 }]);
    // the receiver answered before the worker recorded it: wait for the log to say so (never a fixed sleep)
    await waitUntil(async () => (await deliveries(S.f2, ep.id)).every((d) => d.status === 'succeeded'), 'both deliveries recorded as succeeded');
  });

  it('rotation: both secrets sign during the overlap; after it only the new one', async () => {
    const ep = await register(S.f3, '/r3', ['booking.confirmed']);
    const rot = await as(built.app, S.f3)({ method: 'POST', url: `/api/webhooks/${ep.id}/rotate-secret`, payload: { overlapHours: 1 } });
    expect(rot.statusCode).toBe(200);
    const { secret } = rot.json() as { secret: string };
    expect(secret).not.toBe(ep.secret);
    const ping = async () => {
      const n = rx.got.filter((g) => g.path === '/r3').length;
      expect((await as(built.app, S.f3)({ method: 'POST', url: `/api/webhooks/${ep.id}/ping` })).statusCode).toBe(202);
      return waitUntil(async () => rx.got.filter((g) => g.path === '/r3')[n], 'a ping');
    };
    const during = await ping();
    expect(event(during).type).toBe('ping');
    const sig = String(during.headers['cx-signature']);
    expect(sig.match(/v1=/g)).toHaveLength(2);
    expect(verifySignature(secret, sig, during.body, Date.now()).ok).toBe(true);
    expect(verifySignature(ep.secret, sig, during.body, Date.now()).ok).toBe(true);

    // the overlap ends: the old secret no longer signs
    await env.db.updateTable('webhook_endpoints').set({ previous_secret_expires_at: new Date(Date.now() - 1000) }).where('id', '=', ep.id).execute();
    const after = await ping();
    const sig2 = String(after.headers['cx-signature']);
    expect(sig2.match(/v1=/g)).toHaveLength(1);
    expect(verifySignature(secret, sig2, after.body, Date.now()).ok).toBe(true);
    expect(verifySignature(ep.secret, sig2, after.body, Date.now()).ok).toBe(false);
  });

  it('an endpoint that keeps failing is disabled, its admins told (audit entry), and nothing more is sent to it', async () => {
    const ep = await register(S.f4, '/r5', ['booking.confirmed']);
    rx.behaviour.set('/r5', () => 500);
    await bookOne(built.app, S.f4, env.db);
    const row = await waitUntil(async () => {
      const r = await env.db.selectFrom('webhook_endpoints').select(['enabled', 'disabled_reason', 'consecutive_failures']).where('id', '=', ep.id).executeTakeFirstOrThrow();
      return r.enabled ? null : r;
    }, 'the endpoint to be disabled');
    expect(row).toMatchObject({ enabled: false, disabled_reason: 'failing', consecutive_failures: 4 });
    const audits = await env.db.selectFrom('audit_log').select(['action', 'data']).where('entity_id', '=', ep.id).where('action', '=', 'webhook.disable').execute();
    expect(audits).toHaveLength(1);
    const listed = ((await as(built.app, S.f4)({ method: 'GET', url: '/api/webhooks' })).json() as { id: string; enabled: boolean; disabledReason: string }[]).find((w) => w.id === ep.id);
    expect(listed).toMatchObject({ enabled: false, disabledReason: 'failing' });
    // a disabled endpoint gets no new events; a ping is refused until it is enabled again
    const before = rx.got.filter((g) => g.path === '/r5').length;
    await bookOne(built.app, S.f4, env.db);
    expect((await as(built.app, S.f4)({ method: 'POST', url: `/api/webhooks/${ep.id}/ping` })).statusCode).toBe(409);
    const enabled = await as(built.app, S.f4)({ method: 'PATCH', url: `/api/webhooks/${ep.id}`, payload: { enabled: true } });
    expect(enabled.json()).toMatchObject({ enabled: true, disabledReason: null, consecutiveFailures: 0 });
    expect(rx.got.filter((g) => g.path === '/r5').length).toBe(before);
    await as(built.app, S.f4)({ method: 'DELETE', url: `/api/webhooks/${ep.id}` });
  });

  it('refuses, at registration, every forbidden address class and non-https schemes', async () => {
    const strict = await buildApp({ ...env.cfg, webhooks: webhookCfg(env.cfg, { allowLoopback: false }) });
    try {
      const s = await signIn(strict.app, 'forwarder1@demo.test');
      const refused: [string, string][] = [
        ['http://127.0.0.1:9/x', 'address_not_allowed'], ['http://[::1]:9/x', 'address_not_allowed'], ['http://localhost:9/x', 'address_not_allowed'],
        ['http://10.0.0.1/x', 'address_not_allowed'], ['http://172.16.5.4/x', 'address_not_allowed'], ['http://192.168.1.1/x', 'address_not_allowed'],
        ['http://[fc00::1]/x', 'address_not_allowed'], ['http://169.254.169.254/latest/meta-data', 'address_not_allowed'], ['http://[fe80::1]/x', 'address_not_allowed'],
        ['http://100.64.0.1/x', 'address_not_allowed'], ['http://0.0.0.0/x', 'address_not_allowed'], ['http://224.0.0.1/x', 'address_not_allowed'],
        ['http://[::ffff:127.0.0.1]/x', 'address_not_allowed'], ['http://[::ffff:10.0.0.1]/x', 'address_not_allowed'], ['http://2130706433/x', 'address_not_allowed'],
        ['ftp://hooks.example.com/x', 'url_scheme_not_allowed'], ['not a url', 'invalid_url'], ['https://u:p@hooks.example.com/', 'url_credentials_not_allowed'],
      ];
      for (const [url, code] of refused) {
        const r = await as(strict.app, s)({ method: 'POST', url: '/api/webhooks', payload: { url, events: ['booking.confirmed'] } });
        expect(r.statusCode, url).toBe(400);
        expect(r.json().error.code, url).toBe(code);
      }
    } finally {
      await strict.app.close();
    }
  });

  it('checks the address again at connect time: a name resolving to loopback is refused when loopback is not allowed (DNS rebinding)', async () => {
    const n = rx.got.length;
    const rules = { allowHttp: true, allowLoopback: false, allowPrivate: false };
    const r = await postWebhook(`http://localhost:${rx.port}/rebind`, '{}', {}, { timeoutMs: 2000, rules });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^address_refused: localhost resolves to a loopback address/);
    const literal = await postWebhook(`http://127.0.0.1:${rx.port}/rebind`, '{}', {}, { timeoutMs: 2000, rules });
    expect(literal.error).toMatch(/^address_refused/);
    expect(rx.got.length).toBe(n); // nothing reached the receiver
    // and a 3xx is a failure, not followed
    rx.behaviour.set('/redirect', () => 302);
    const red = await postWebhook(rx.url('/redirect'), '{}', {}, { timeoutMs: 2000, rules: { ...rules, allowLoopback: true } });
    expect(red).toMatchObject({ ok: false, status: 302 });
    expect(red.body!.length).toBeLessThanOrEqual(256);
  });

  it('a ping and a redelivery waiting while their webhook is deleted find it gone (404), never a 500', async () => {
    // an outside test saw 500s: a ping's delivery was inserted for an endpoint deleted at that moment (foreign key).
    // Here the endpoint's row is held while the requests come; it is deleted, then let go.
    const ep = await register(S.f4, '/race', ['booking.confirmed']);
    const pinged = await as(built.app, S.f4)({ method: 'POST', url: `/api/webhooks/${ep.id}/ping` });
    expect(pinged.statusCode, pinged.body).toBe(202);
    const { deliveryId } = pinged.json() as { deliveryId: string };
    const waiting = async (n: number) => {
      for (let i = 0; i < 400; i++) {
        const r = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(env.db);
        if (r.rows[0]!.n >= n) return;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error(`fewer than ${n} requests came to wait on the lock`);
    };
    let answers: { statusCode: number; body: string }[] = [];
    await env.db.transaction().execute(async (tx) => {
      await tx.selectFrom('webhook_endpoints').select('id').where('id', '=', ep.id).forUpdate().execute();
      const inFlight = Promise.all([
        as(built.app, S.f4)({ method: 'POST', url: `/api/webhooks/${ep.id}/ping` }),
        as(built.app, S.f4)({ method: 'POST', url: `/api/webhooks/${ep.id}/deliveries/${deliveryId}/redeliver` }),
      ]);
      await waiting(2);
      await tx.deleteFrom('webhook_endpoints').where('id', '=', ep.id).execute();
      void inFlight.then((r) => (answers = r));
    });
    await expect.poll(() => answers.length, { timeout: 30_000 }).toBe(2);
    for (const r of answers) {
      expect(r.statusCode, r.body).toBe(404);
      expect(JSON.parse(r.body).error.code).toBe('not_found');
    }
  });
});

describe('webhooks: a worker SIGKILLed mid-delivery loses no event', () => {
  let env: TestEnv;
  let built: App;
  let rx: Receiver;
  const workers: Proc[] = [];
  const extra = {
    WEBHOOK_ALLOW_HTTP: '1', WEBHOOK_ALLOW_LOOPBACK: '1', WEBHOOK_TIMEOUT_MS: '3000', WEBHOOK_SWEEP_MS: '300', WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_RETRY_MAX_MS: '100',
  };

  beforeAll(async () => {
    env = await createTestEnv();
    env.cfg.webhooks = webhookCfg(env.cfg);
    built = await buildApp(env.cfg);
    rx = await startReceiver();
  });
  afterAll(async () => {
    for (const w of workers) await w.stop('SIGTERM').catch(() => {});
    await built?.app.close();
    await rx?.close();
    await env?.cleanup();
  });

  it('the delivery in flight is sent again by another worker, with the same event id', async () => {
    const first = await startWorker(env.cfg, extra);
    workers.push(first);
    const s = await signIn(built.app, 'forwarder1@demo.test');
    const reg = await as(built.app, s)({ method: 'POST', url: '/api/webhooks', payload: { url: rx.url('/k'), events: ['booking.confirmed'] } });
    expect(reg.statusCode).toBe(201);
    let hang = true;
    rx.behaviour.set('/k', () => (hang ? 'hang' : 200));
    const booking = await bookOne(built.app, s, env.db);
    await waitUntil(async () => rx.got.some((g) => g.path === '/k'), 'the first worker to be mid-delivery', 300, 50);

    const pid = Number(/worker (\d+) running queues/.exec(first.output())?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await first.stop('SIGKILL');
    hang = false;

    workers.push(await startWorker(env.cfg, extra));
    const ok = await waitUntil(async () => rx.got.find((g) => g.path === '/k' && g.status === 200), 'the delivery by the second worker', 600, 100);
    const sent = rx.got.filter((g) => g.path === '/k');
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sent.map((g) => g.headers['cx-event-id'])).size).toBe(1);
    expect(event(ok).data).toMatchObject({ id: booking.id });
    const d = await waitUntil(async () => {
      const rows = await env.db.selectFrom('webhook_deliveries').select(['status', 'attempts']).execute();
      return rows.length === 1 && rows[0]!.status === 'succeeded' ? rows[0] : null;
    }, 'the delivery recorded as succeeded');
    expect(d!.attempts).toBeGreaterThanOrEqual(2);
  });
});
