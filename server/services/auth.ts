import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../adapters/db/db.ts';
import { audit } from '../adapters/db/audit.ts';
import type { Role } from '../domain/enums.ts';
import { normalizeEmail } from '../core/identity.ts';
import { AppError, notFound, unauthorized } from '../domain/errors.ts';
import { verifyPassword } from './passwords.ts';
import { policy, type Principal } from '../domain/principal.ts';

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const token = (bytes: number) => randomBytes(bytes).toString('base64url');

export interface Me {
  user: { id: string; email: string; name: string } | null;
  org: { id: string; name: string; kind: Principal['orgKind'] };
  role: Role;
  csrfToken?: string;
}

export function meOf(p: Principal): Me {
  return {
    user: p.userId ? { id: p.userId, email: p.email ?? '', name: p.name ?? '' } : null,
    org: { id: p.orgId, name: p.orgName, kind: p.orgKind },
    role: p.role,
    ...(p.csrfToken ? { csrfToken: p.csrfToken } : {}),
  };
}

/** Called when a session or key stops being valid, so live connections are cut at once. */
export type RevocationHook = (room: string) => void;

/**
 * Principals of recently seen sessions and keys, in process, for `ttlMs` (and never past a session's own
 * expiry): saves a four-table query on every request. Sign-out and key revocation evict at once here and,
 * through the revocation hook (Redis pub/sub, see app.ts), in every other server; `ttlMs` bounds how long
 * any other change made behind the service's back (a user disabled in the database) can go unseen.
 */
export class PrincipalCache {
  private readonly map = new Map<string, { p: Principal; until: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max = 50_000,
  ) {}

  get(key: string, now: number): Principal | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    if (hit.until > now) return hit.p;
    this.map.delete(key);
    return undefined;
  }

  set(key: string, p: Principal, now: number, notAfter = Infinity) {
    if (this.ttlMs <= 0) return;
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, { p, until: Math.min(now + this.ttlMs, notAfter) });
  }

  /** Forgets the principal of a revoked session or key, given its live room (`session:<id>` / `apikey:<id>`). */
  evict(room: string) {
    const [kind, id] = [room.slice(0, room.indexOf(':')), room.slice(room.indexOf(':') + 1)];
    if (kind === 'session') this.map.delete(`s:${id}`);
    else if (kind === 'apikey') for (const [k, v] of this.map) if (v.p.apiKeyId === id) this.map.delete(k);
  }
}

export class AuthService {
  readonly principals: PrincipalCache;

  constructor(
    private readonly db: Db,
    private readonly opts: { sessionTtlMs: number; principalCacheMs?: number },
    private readonly onRevoke: RevocationHook = () => {},
  ) {
    this.principals = new PrincipalCache(opts.principalCacheMs ?? 0);
  }

  /** Signs in with e-mail and password; a new session id every time. */
  async signIn(rawEmail: string, password: string, meta: { ip?: string; userAgent?: string } = {}) {
    const email = normalizeEmail(rawEmail);
    const row = await this.db
      .selectFrom('users as u')
      .innerJoin('memberships as m', 'm.user_id', 'u.id')
      .innerJoin('organisations as o', 'o.id', 'm.org_id')
      .select(['u.id', 'u.email', 'u.name', 'u.password_hash', 'u.disabled_at', 'm.role', 'o.id as org_id', 'o.name as org_name', 'o.kind as org_kind'])
      .where((eb) => eb(eb.fn('lower', ['u.email']), '=', email))
      .executeTakeFirst();
    const ok = await verifyPassword(row?.password_hash ?? null, password);
    if (!row || !ok || row.disabled_at) {
      await audit(this.db, null, 'session.sign_in_failed', { type: 'user', id: row?.id ?? null }, { email: email.slice(0, 200) }, meta.ip);
      throw new AppError(401, 'invalid_credentials', 'e-mail or password is wrong');
    }
    const secret = token(32);
    const csrfToken = token(24);
    const sessionId = sha256(secret);
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('sessions')
        .values({
          id: sessionId,
          user_id: row.id,
          org_id: row.org_id,
          csrf_token: csrfToken,
          ip: meta.ip ?? null,
          user_agent: meta.userAgent?.slice(0, 500) ?? null,
          expires_at: new Date(Date.now() + this.opts.sessionTtlMs),
        })
        .execute();
      await audit(tx, { userId: row.id, orgId: row.org_id }, 'session.sign_in', { type: 'session', id: sessionId.slice(0, 12) }, undefined, meta.ip);
    });
    const principal: Principal = {
      kind: 'session',
      userId: row.id,
      email: row.email,
      name: row.name,
      orgId: row.org_id,
      orgName: row.org_name,
      orgKind: row.org_kind,
      role: row.role,
      sessionId,
      csrfToken,
    };
    return { cookieValue: secret, principal };
  }

  async signOut(p: Principal, ip?: string): Promise<void> {
    if (!p.sessionId) return;
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('sessions').set({ revoked_at: new Date() }).where('id', '=', p.sessionId!).execute();
      await audit(tx, p, 'session.sign_out', { type: 'session', id: p.sessionId!.slice(0, 12) }, undefined, ip);
    });
    this.principals.evict(`session:${p.sessionId}`);
    this.onRevoke(`session:${p.sessionId}`);
  }

  /**
   * Whether this server already knows the principal behind a cookie or key (no Postgres look-up needed).
   * Unknown credentials cost a look-up each, so the HTTP layer counts those per address first.
   */
  isCached(cred: { cookie?: string; key?: string }, now = Date.now()): boolean {
    if (cred.key !== undefined) return cred.key.length <= 200 && !!this.principals.get(`k:${sha256(cred.key)}`, now);
    if (cred.cookie !== undefined) return cred.cookie.length <= 200 && !!this.principals.get(`s:${sha256(cred.cookie)}`, now);
    return true;
  }

  /** The principal behind a session cookie, or null when missing, expired, revoked or disabled. */
  async fromSession(cookieValue: string | undefined): Promise<Principal | null> {
    if (!cookieValue || cookieValue.length > 200) return null;
    const id = sha256(cookieValue);
    const now = Date.now();
    const cached = this.principals.get(`s:${id}`, now);
    if (cached) return cached;
    const row = await this.db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .innerJoin('memberships as m', (j) => j.onRef('m.user_id', '=', 's.user_id').onRef('m.org_id', '=', 's.org_id'))
      .innerJoin('organisations as o', 'o.id', 's.org_id')
      .select(['s.id', 's.csrf_token', 's.expires_at', 'u.id as user_id', 'u.email', 'u.name', 'm.role', 'o.id as org_id', 'o.name as org_name', 'o.kind as org_kind'])
      .where('s.id', '=', id)
      .where('s.revoked_at', 'is', null)
      .where('s.expires_at', '>', new Date())
      .where('u.disabled_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    const p: Principal = {
      kind: 'session',
      userId: row.user_id,
      email: row.email,
      name: row.name,
      orgId: row.org_id,
      orgName: row.org_name,
      orgKind: row.org_kind,
      role: row.role,
      sessionId: row.id,
      csrfToken: row.csrf_token,
      sessionExpiresAt: row.expires_at.getTime(),
    };
    this.principals.set(`s:${id}`, p, now, row.expires_at.getTime());
    return p;
  }

  /**
   * Re-validates many live principals in ONE query (the socket server asks every SOCKET_RECHECK_MS), by
   * their live rooms (`session:<id>` / `apikey:<id>`). Answers the rooms still valid, with their current
   * role, organisation and session expiry; a room missing from the answer has ended (session expired or
   * revoked, user disabled, membership removed, key revoked) and is evicted from the principal cache too.
   */
  async revalidate(liveRooms: string[]): Promise<Map<string, { role: Role; orgId: string; expiresAt: number | null }>> {
    const sessionIds = liveRooms.filter((r) => r.startsWith('session:')).map((r) => r.slice(8));
    const keyIds = liveRooms.filter((r) => r.startsWith('apikey:')).map((r) => r.slice(7)).filter((id) => UUID.test(id));
    const now = new Date();
    const rows = await sql<{ room: string; role: Role; org_id: string; expires_at: Date | null }>`
      select 'session:' || s.id as room, m.role, s.org_id, s.expires_at
        from sessions s
        join users u on u.id = s.user_id
        join memberships m on m.user_id = s.user_id and m.org_id = s.org_id
       where s.id = any(${sessionIds}::text[]) and s.revoked_at is null and s.expires_at > ${now} and u.disabled_at is null
      union all
      select 'apikey:' || k.id::text, k.role, k.org_id, null
        from api_keys k
       where k.id = any(${keyIds}::uuid[]) and k.revoked_at is null`.execute(this.db);
    const valid = new Map(rows.rows.map((r) => [r.room, { role: r.role, orgId: r.org_id, expiresAt: r.expires_at ? new Date(r.expires_at).getTime() : null }]));
    for (const room of liveRooms) if (!valid.has(room)) this.principals.evict(room);
    return valid;
  }

  /** The principal behind an API key (`cxk_<prefix>_<secret>`), or null. */
  async fromApiKey(key: string | undefined): Promise<Principal | null> {
    if (!key || key.length > 200 || !key.startsWith('cxk_')) return null;
    const hash = sha256(key);
    const now = Date.now();
    const cached = this.principals.get(`k:${hash}`, now);
    if (cached) return cached;
    const row = await this.db
      .selectFrom('api_keys as k')
      .innerJoin('organisations as o', 'o.id', 'k.org_id')
      .select(['k.id', 'k.role', 'o.id as org_id', 'o.name as org_name', 'o.kind as org_kind'])
      .where('k.key_hash', '=', hash)
      .where('k.revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    const p: Principal = {
      kind: 'apiKey',
      userId: null,
      email: null,
      name: null,
      orgId: row.org_id,
      orgName: row.org_name,
      orgKind: row.org_kind,
      role: row.role,
      apiKeyId: row.id,
    };
    this.principals.set(`k:${hash}`, p, now);
    return p;
  }

  /** Creates an API key for the caller's organisation. The secret is returned once and stored hashed:
   *  it has 256 bits of entropy, so a fast SHA-256 is the right hash (argon2 is for guessable passwords). */
  async createApiKey(p: Principal, input: { name?: string; role?: Role }, ip?: string) {
    policy.requireAdmin(p);
    const prefix = token(6);
    const key = `cxk_${prefix}_${token(32)}`;
    const role = input.role ?? 'member';
    const name = input.name?.trim() || 'API key';
    return this.db.transaction().execute(async (tx) => {
      const row = await tx
        .insertInto('api_keys')
        .values({ org_id: p.orgId, created_by: p.userId, name, prefix, key_hash: sha256(key), role })
        .returning(['id', 'created_at'])
        .executeTakeFirstOrThrow();
      await audit(tx, p, 'api_key.create', { type: 'api_key', id: row.id }, { name, role }, ip);
      return { id: row.id, key, name, role, prefix, createdAt: row.created_at.toISOString() };
    });
  }

  async listApiKeys(p: Principal) {
    policy.requireAdmin(p);
    const rows = await this.db
      .selectFrom('api_keys')
      .select(['id', 'name', 'prefix', 'role', 'created_at', 'revoked_at'])
      .where('org_id', '=', p.orgId)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      prefix: r.prefix,
      role: r.role,
      createdAt: r.created_at.toISOString(),
      revokedAt: r.revoked_at?.toISOString() ?? null,
    }));
  }

  async revokeApiKey(p: Principal, id: string, ip?: string): Promise<void> {
    policy.requireAdmin(p);
    const done = await this.db.transaction().execute(async (tx) => {
      const res = await tx
        .updateTable('api_keys')
        .set({ revoked_at: new Date() })
        .where('id', '=', id)
        .where('org_id', '=', p.orgId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      await audit(tx, p, 'api_key.revoke', { type: 'api_key', id }, undefined, ip);
      return true;
    });
    if (!done) throw notFound('API key');
    this.principals.evict(`apikey:${id}`);
    this.onRevoke(`apikey:${id}`);
  }

  static unauthorized = unauthorized;
}
