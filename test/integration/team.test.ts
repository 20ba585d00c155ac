import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../server/http/app.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { as, buildApp, expectErrorShape, signIn, type Session } from '../helpers/http.ts';

/**
 * An organisation's team (README "Team, keys and audit"): its admins add people with a one-time password, change
 * roles and withdraw access — a change that takes rights away ends the member's sessions at once, and the
 * organisation always keeps an enabled admin, also when two admins demote each other at the same moment —;
 * every person changes their own password; the admins read the organisation's audit log, page by page, and
 * nothing of another organisation.
 */
describe('team: members, roles, access, passwords and the audit log', () => {
  let env: TestEnv;
  let built: App;
  let f1: Session;
  let f2: Session;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { signInPerMinute: 1000, signInPerAccountPerHour: 1000, signInPerAddressPerMinute: 1000, principalCacheMs: 60_000 } });
    built = await buildApp(env.cfg);
    [f1, f2] = await Promise.all([signIn(built.app, 'forwarder1@demo.test'), signIn(built.app, 'forwarder2@demo.test')]);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  const call = (s: Session | null) => as(built.app, s);
  const me = async (s: Session) => (await call(s)({ method: 'GET', url: '/api/me' })).statusCode;
  async function add(by: Session, email: string, role?: 'admin' | 'member') {
    const r = await call(by)({ method: 'POST', url: '/api/team/members', payload: { email, name: 'New Colleague', ...(role ? { role } : {}) } });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { userId: string; email: string; role: string; temporaryPassword: string };
  }
  const patch = (by: Session, userId: string, payload: object) => call(by)({ method: 'PATCH', url: `/api/team/members/${userId}`, payload });

  it('an admin adds a colleague (e-mail normalised, shown once); the colleague signs in as a member and may not manage the team', async () => {
    const m = await add(f1, '  Dispatch.One@Example.TEST ');
    expect(m.email).toBe('dispatch.one@example.test');
    expect(m.role).toBe('member');
    expect(m.temporaryPassword.length).toBeGreaterThanOrEqual(16);
    const stored = await env.db.selectFrom('users').select('password_hash').where('id', '=', m.userId).executeTakeFirstOrThrow();
    expect(stored.password_hash).toMatch(/^\$argon2id\$/);
    expect(stored.password_hash).not.toContain(m.temporaryPassword);

    const colleague = await signIn(built.app, 'DISPATCH.ONE@example.test', m.temporaryPassword);
    expect(colleague.me.org.id).toBe(f1.me.org.id);
    expect(colleague.me.role).toBe('member');
    expect((await call(colleague)({ method: 'GET', url: '/api/bookings' })).statusCode).toBe(200);
    for (const r of [
      await call(colleague)({ method: 'GET', url: '/api/team/members' }),
      await call(colleague)({ method: 'POST', url: '/api/team/members', payload: { email: 'x@example.test', name: 'X' } }),
      await call(colleague)({ method: 'GET', url: '/api/team/audit' }),
    ]) {
      expect(r.statusCode).toBe(403);
      expectErrorShape(r.json());
    }
    const list = (await call(f1)({ method: 'GET', url: '/api/team/members' })).json() as { email: string; lastSignInAt: string | null }[];
    expect(list.find((x) => x.email === 'dispatch.one@example.test')?.lastSignInAt).not.toBeNull();
    // another organisation's admin sees none of them
    const other = (await call(f2)({ method: 'GET', url: '/api/team/members' })).json() as { email: string }[];
    expect(other.map((x) => x.email)).not.toContain('dispatch.one@example.test');
  });

  it('an e-mail taken in any organisation, in any spelling, is refused (409) and nothing is created', async () => {
    const before = await env.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    for (const email of ['FORWARDER2@demo.test', ' dispatch.one@EXAMPLE.test']) {
      const r = await call(f1)({ method: 'POST', url: '/api/team/members', payload: { email, name: 'Dup' } });
      expect(r.statusCode, email).toBe(409);
      expect(r.json().error.code).toBe('email_taken');
    }
    const after = await env.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it("a new role ends the member's sessions at once (even a cached one); the next sign-in carries the new role", async () => {
    const m = await add(f1, 'promote.me@example.test');
    const s = await signIn(built.app, m.email, m.temporaryPassword);
    expect(await me(s)).toBe(200); // cached principal now
    const r = await patch(f1, m.userId, { role: 'admin' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ role: 'admin', disabled: false });
    expect(await me(s)).toBe(401);
    expect((await signIn(built.app, m.email, m.temporaryPassword)).me.role).toBe('admin');
  });

  it('withdrawn access ends the sessions and refuses sign-in; restored access lets the member in again', async () => {
    const m = await add(f1, 'leaver@example.test');
    const s = await signIn(built.app, m.email, m.temporaryPassword);
    expect((await patch(f1, m.userId, { disabled: true })).json()).toMatchObject({ disabled: true });
    expect(await me(s)).toBe(401);
    const refused = await built.app.inject({ method: 'POST', url: '/api/session', payload: { email: m.email, password: m.temporaryPassword } });
    expect(refused.statusCode).toBe(401);
    expect((await patch(f1, m.userId, { disabled: false })).json()).toMatchObject({ disabled: false });
    expect(await me(await signIn(built.app, m.email, m.temporaryPassword))).toBe(200);
  });

  it('the organisation keeps an enabled admin: the last one can neither step down nor lock themself out', async () => {
    const f3 = await signIn(built.app, 'forwarder3@demo.test'); // the only admin of forwarder 3's organisation
    for (const change of [{ role: 'member' }, { disabled: true }]) {
      const r = await patch(f3, f3.me.user.id, change);
      expect(r.statusCode, JSON.stringify(change)).toBe(409);
      expect(r.json().error.code).toBe('last_admin');
    }
    expect(await me(f3)).toBe(200);
    const row = await env.db.selectFrom('memberships').select('role').where('user_id', '=', f3.me.user.id).executeTakeFirstOrThrow();
    expect(row.role).toBe('admin');
  });

  it('two admins demoting each other at the same moment: one wins; the other, demoted and signed out by it, is refused (401); an admin remains', async () => {
    const f4 = await signIn(built.app, 'forwarder4@demo.test');
    const m = await add(f4, 'second.admin@example.test', 'admin');
    const other = await signIn(built.app, m.email, m.temporaryPassword);
    const [a, b] = await Promise.all([patch(f4, other.me.user.id, { role: 'member' }), patch(other, f4.me.user.id, { role: 'member' })]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 401]);
    const admins = await env.db.selectFrom('memberships').select('user_id').where('org_id', '=', f4.me.org.id).where('role', '=', 'admin').execute();
    expect(admins).toHaveLength(1);
  });

  it('two admins withdrawn at the same moment (by an admin key): one of the two is refused, an enabled admin remains', async () => {
    const f3 = await signIn(built.app, 'forwarder3@demo.test');
    const key = (await call(f3)({ method: 'POST', url: '/api/api-keys', payload: { name: 'race', role: 'admin' } })).json().key as string;
    const byKey = (userId: string, payload: object) =>
      built.app.inject({ method: 'PATCH', url: `/api/team/members/${userId}`, headers: { authorization: `Bearer ${key}` }, payload });
    const a1 = await add(f3, 'race.admin1@example.test', 'admin');
    const a2 = await add(f3, 'race.admin2@example.test', 'admin');
    expect((await byKey(f3.me.user.id, { role: 'member' })).statusCode).toBe(200);
    for (let round = 0; round < 3; round++) {
      const [r1, r2] = await Promise.all([byKey(a1.userId, { disabled: true }), byKey(a2.userId, { disabled: true })]);
      expect([r1.statusCode, r2.statusCode].sort(), `round ${round}`).toEqual([200, 409]);
      const enabledAdmins = await env.db
        .selectFrom('memberships as m').innerJoin('users as u', 'u.id', 'm.user_id').select('u.id')
        .where('m.org_id', '=', f3.me.org.id).where('m.role', '=', 'admin').where('u.disabled_at', 'is', null).execute();
      expect(enabledAdmins, `round ${round}`).toHaveLength(1);
      for (const m of [a1, a2]) expect((await byKey(m.userId, { disabled: false })).statusCode).toBe(200);
    }
  });

  it('rights taken away while admin requests are in flight: once the demotion commits, none of them acts (sessions and keys alike)', async () => {
    // B, an admin of forwarder 2, has admin requests waiting on the organisation's team lock (and a cached admin
    // principal) when its demotion commits; an admin key's request waits likewise when the key is revoked
    const b = await add(f2, 'inflight.admin@example.test', 'admin');
    const bs = await signIn(built.app, b.email, b.temporaryPassword);
    const key = (await call(f2)({ method: 'POST', url: '/api/api-keys', payload: { name: 'inflight', role: 'admin' } })).json() as { id: string; key: string };
    const waiting = async (n: number) => {
      for (let i = 0; i < 400; i++) {
        const r = await env.db.selectFrom(sql<{ n: number }>`(select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock')`.as('w')).select('n').executeTakeFirstOrThrow();
        if (r.n >= n) return;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error(`fewer than ${n} requests came to wait on the lock`);
    };
    let answers: { statusCode: number; body: string }[] = [];
    await env.db.transaction().execute(async (tx) => {
      await tx.selectFrom('organisations').select('id').where('id', '=', f2.me.org.id).forNoKeyUpdate().execute();
      const inFlight = Promise.all([
        patch(bs, b.userId, { role: 'admin', disabled: false }),
        call(bs)({ method: 'POST', url: '/api/api-keys', payload: { name: 'backdoor', role: 'admin' } }),
        call(bs)({ method: 'POST', url: '/api/team/members', payload: { email: 'backdoor.user@example.test', name: 'Backdoor', role: 'admin' } }),
        patch(bs, f2.me.user.id, { disabled: true }),
        built.app.inject({ method: 'POST', url: '/api/team/members', headers: { authorization: `Bearer ${key.key}` }, payload: { email: 'backdoor.key@example.test', name: 'Backdoor' } }),
      ]);
      await waiting(5);
      // the demotion and the revocation commit while they wait (as the API does: role, sessions ended; key revoked)
      await tx.updateTable('memberships').set({ role: 'member' }).where('user_id', '=', b.userId).execute();
      await tx.updateTable('sessions').set({ revoked_at: new Date() }).where('user_id', '=', b.userId).where('revoked_at', 'is', null).execute();
      await tx.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', key.id).execute();
      void inFlight.then((r) => (answers = r));
    });
    await expect.poll(() => answers.length, { timeout: 30_000 }).toBe(5);
    expect(answers.map((r) => r.statusCode)).toEqual([401, 401, 401, 401, 401]);
    for (const r of answers) expectErrorShape(JSON.parse(r.body));
    const member = await env.db.selectFrom('memberships').select('role').where('user_id', '=', b.userId).executeTakeFirstOrThrow();
    expect(member.role).toBe('member');
    expect(await env.db.selectFrom('api_keys').select('id').where('name', '=', 'backdoor').execute()).toHaveLength(0);
    expect(await env.db.selectFrom('users').select('id').where('email', 'like', 'backdoor.%').execute()).toHaveLength(0);
    expect((await env.db.selectFrom('users').select('disabled_at').where('id', '=', f2.me.user.id).executeTakeFirstOrThrow()).disabled_at).toBeNull();
  });

  it('a member id in upper case names the same member; answers that show a secret are never cached', async () => {
    const m = await add(f2, 'upper.case@example.test');
    const upper = m.userId.toUpperCase();
    const r = await patch(f2, upper, { role: 'admin' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().userId).toBe(m.userId);
    expect((await call(f2)({ method: 'POST', url: `/api/team/members/${f2.me.user.id.toUpperCase()}/reset-password` })).statusCode).toBe(400); // own_password
    expect((await patch(f2, upper, { role: 'member' })).statusCode).toBe(200);
    const reset = await call(f2)({ method: 'POST', url: `/api/team/members/${upper}/reset-password` });
    expect(reset.statusCode, reset.body).toBe(200);
    const key = await call(f2)({ method: 'POST', url: '/api/api-keys', payload: { name: 'cache check' } });
    const notFound = await call(f2)({ method: 'GET', url: '/api/no-such-route' });
    expect(notFound.statusCode).toBe(404);
    for (const res of [reset, key, notFound, await call(f2)({ method: 'GET', url: '/api/me' }), await call(f2)({ method: 'GET', url: '/api/bookings' })]) {
      expect(res.headers['cache-control']).toBe('no-store');
    }
    // a key revoked by its id in upper case stops at once, as by the lower-case id (it had gone on for seconds: the
    // servers' principal cache is keyed by the id as stored)
    const { id: keyId, key: secret } = key.json() as { id: string; key: string };
    const byKey = () => built.app.inject({ method: 'GET', url: '/api/bookings', headers: { authorization: `Bearer ${secret}` } });
    expect((await byKey()).statusCode).toBe(200); // now cached
    expect((await call(f2)({ method: 'DELETE', url: `/api/api-keys/${keyId.toUpperCase()}` })).statusCode).toBe(204);
    expect((await byKey()).statusCode).toBe(401);
    const revokedEntry = await env.db.selectFrom('audit_log').select('entity_id').where('action', '=', 'api_key.revoke').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(revokedEntry.entity_id).toBe(keyId); // one id per object in the audit log
  });

  it('an admin\'s password is not reset by another admin (409): they are made a member first', async () => {
    const m = await add(f1, 'fellow.admin@example.test', 'admin');
    const r = await call(f1)({ method: 'POST', url: `/api/team/members/${m.userId}/reset-password` });
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe('member_is_admin');
    expect(await me(await signIn(built.app, m.email, m.temporaryPassword))).toBe(200);
  });

  it('a password change racing sign-ins with the old password: no session made with the old password outlives it', async () => {
    const m = await add(f1, 'racing.signins@example.test');
    const mine = await signIn(built.app, m.email, m.temporaryPassword);
    const attempts = Array.from({ length: 4 }, () => built.app.inject({ method: 'POST', url: '/api/session', payload: { email: m.email, password: m.temporaryPassword } }));
    const change = call(mine)({ method: 'POST', url: '/api/me/password', payload: { currentPassword: m.temporaryPassword, newPassword: 'a brand new passphrase' } });
    const [changed, ...signIns] = await Promise.all([change, ...attempts]);
    expect(changed.statusCode).toBe(204);
    for (const r of signIns.filter((x) => x.statusCode === 200)) {
      const cookie = String(r.headers['set-cookie']).split(';')[0]!;
      expect((await built.app.inject({ method: 'GET', url: '/api/me', headers: { cookie } })).statusCode).toBe(401);
    }
  });

  it('a password change racing an admin reset never undoes the reset: the reset password is the one that works', async () => {
    for (let round = 0; round < 3; round++) {
      const m = await add(f1, `reset.race${round}@example.test`);
      const mine = await signIn(built.app, m.email, m.temporaryPassword);
      const [changed, reset] = await Promise.all([
        call(mine)({ method: 'POST', url: '/api/me/password', payload: { currentPassword: m.temporaryPassword, newPassword: 'my own new passphrase' } }),
        call(f1)({ method: 'POST', url: `/api/team/members/${m.userId}/reset-password` }),
      ]);
      expect(reset.statusCode).toBe(200);
      expect([204, 401]).toContain(changed.statusCode);
      const tryPw = async (password: string) => (await built.app.inject({ method: 'POST', url: '/api/session', payload: { email: m.email, password } })).statusCode;
      expect(await tryPw((reset.json() as { temporaryPassword: string }).temporaryPassword), `round ${round}`).toBe(200);
      expect(await tryPw('my own new passphrase'), `round ${round}`).toBe(401);
    }
  });

  it("members of another organisation are not found (404), and the rule holds for unknown ids", async () => {
    const m = await add(f2, 'f2.colleague@example.test');
    const r = await patch(f1, m.userId, { disabled: true });
    expect(r.statusCode).toBe(404);
    const row = await env.db.selectFrom('users').select('disabled_at').where('id', '=', m.userId).executeTakeFirstOrThrow();
    expect(row.disabled_at).toBeNull();
  });

  it('a person changes their own password: the current one is checked, other sessions end, this one stays', async () => {
    const m = await add(f1, 'rotate.pw@example.test');
    const [mine, elsewhere] = [await signIn(built.app, m.email, m.temporaryPassword), await signIn(built.app, m.email, m.temporaryPassword)];
    const wrong = await call(mine)({ method: 'POST', url: '/api/me/password', payload: { currentPassword: 'nope', newPassword: 'correct horse battery' } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.code).toBe('wrong_password');
    const short = await call(mine)({ method: 'POST', url: '/api/me/password', payload: { currentPassword: m.temporaryPassword, newPassword: 'short' } });
    expect(short.statusCode).toBe(400);
    const ok = await call(mine)({ method: 'POST', url: '/api/me/password', payload: { currentPassword: m.temporaryPassword, newPassword: 'correct horse battery' } });
    expect(ok.statusCode, ok.body).toBe(204);
    expect(await me(mine)).toBe(200);
    expect(await me(elsewhere)).toBe(401);
    expect((await built.app.inject({ method: 'POST', url: '/api/session', payload: { email: m.email, password: m.temporaryPassword } })).statusCode).toBe(401);
    expect(await me(await signIn(built.app, m.email, 'correct horse battery'))).toBe(200);
    // an API key has no password to change
    const key = (await call(f1)({ method: 'POST', url: '/api/api-keys', payload: { name: 'team test', role: 'admin' } })).json().key as string;
    const byKey = await built.app.inject({ method: 'POST', url: '/api/me/password', headers: { authorization: `Bearer ${key}` }, payload: { currentPassword: 'x', newPassword: 'correct horse battery' } });
    expect(byKey.statusCode).toBe(403);
    // … but an admin key may read the team (provisioning from an identity system)
    expect((await built.app.inject({ method: 'GET', url: '/api/team/members', headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(200);
  });

  it('an admin resets a member\'s forgotten password: a new temporary one, shown once; the old one and the sessions end', async () => {
    const m = await add(f1, 'forgetful@example.test');
    const s = await signIn(built.app, m.email, m.temporaryPassword);
    const r = await call(f1)({ method: 'POST', url: `/api/team/members/${m.userId}/reset-password` });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const { temporaryPassword } = r.json() as { temporaryPassword: string };
    expect(temporaryPassword).not.toBe(m.temporaryPassword);
    expect(await me(s)).toBe(401);
    expect((await built.app.inject({ method: 'POST', url: '/api/session', payload: { email: m.email, password: m.temporaryPassword } })).statusCode).toBe(401);
    expect(await me(await signIn(built.app, m.email, temporaryPassword))).toBe(200);
    // not the admin's own (that asks for the current password), not another organisation's member
    const own = await call(f1)({ method: 'POST', url: `/api/team/members/${f1.me.user.id}/reset-password` });
    expect(own.statusCode).toBe(400);
    expect(own.json().error.code).toBe('own_password');
    const theirs = await add(f2, 'f2.forgetful@example.test');
    expect((await call(f1)({ method: 'POST', url: `/api/team/members/${theirs.userId}/reset-password` })).statusCode).toBe(404);
    expect(await me(await signIn(built.app, theirs.email, theirs.temporaryPassword))).toBe(200);
  });

  it('the audit log: the organisation\'s own entries, newest first, with their actor; pages meet without overlap; filtered by action', async () => {
    type Page = { entries: { id: number; at: string; action: string; actor: { kind: string; name: string | null } }[]; next: string | null };
    const get = async (s: Session, q: string) => {
      const r = await call(s)({ method: 'GET', url: `/api/team/audit${q}` });
      expect(r.statusCode, r.body).toBe(200);
      return r.json() as Page;
    };
    const all = await get(f1, '?limit=200');
    expect(all.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['member.add', 'member.update', 'session.sign_in', 'user.password_change', 'api_key.create']));
    const times = all.entries.map((e) => e.at);
    expect([...times].sort().reverse()).toEqual(times);
    expect(all.entries.find((e) => e.action === 'member.add')?.actor).toMatchObject({ kind: 'user', name: expect.any(String) });
    // page through 3 at a time: the same entries, in the same order
    const paged: number[] = [];
    let cursor: string | null = '';
    for (let i = 0; i < 100 && cursor !== null; i++) {
      const p: Page = await get(f1, `?limit=3${cursor ? `&before=${cursor}` : ''}`);
      paged.push(...p.entries.map((e) => e.id));
      cursor = p.next;
    }
    expect(paged).toEqual(all.entries.map((e) => e.id));
    const members = await get(f1, '?action=member.&limit=200');
    expect(members.entries.length).toBeGreaterThan(0);
    expect(members.entries.every((e) => e.action.startsWith('member.'))).toBe(true);
    // forwarder 2's log has none of forwarder 1's entries
    const theirs = await get(f2, '?limit=200');
    const mine = new Set(all.entries.map((e) => e.id));
    expect(theirs.entries.filter((e) => mine.has(e.id))).toEqual([]);
    for (const q of ['?before=abc', '?before=1.2.3', '?limit=0', '?limit=1000', '?action=DROP%20TABLE']) {
      const r = await call(f1)({ method: 'GET', url: `/api/team/audit${q}` });
      expect(r.statusCode, q).toBe(400);
      expectErrorShape(r.json());
    }
  });
});

describe('team: a password change is counted against the sign-in limits of the account', () => {
  let env: TestEnv;
  let built: App;

  beforeAll(async () => {
    env = await createTestEnv({ cfg: { signInPerMinute: 100, signInPerAddressPerMinute: 100, signInPerAccountPerHour: 4 } });
    built = await buildApp(env.cfg);
  });
  afterAll(async () => {
    await built?.app.close();
    await env?.cleanup();
  });

  it('a stolen session cannot guess the current password faster than a sign-in could (429)', async () => {
    const s = await signIn(built.app, 'operator2@demo.test'); // 1 of the account's 4 an hour
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await as(built.app, s)({ method: 'POST', url: '/api/me/password', payload: { currentPassword: `guess-${i}`, newPassword: 'a brand new passphrase' } });
      codes.push(r.statusCode);
    }
    expect(codes).toEqual([400, 400, 400, 429, 429]);
  });
});
