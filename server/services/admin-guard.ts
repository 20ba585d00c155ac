import type { Tx } from '../adapters/db/db.ts';
import { activeKeyRole } from '../adapters/db/api-keys-repo.ts';
import { lockTeamOfOrg } from '../adapters/db/members-repo.ts';
import { sessionLive } from '../adapters/db/sessions-repo.ts';
import { forbidden, unauthorized } from '../domain/errors.ts';
import { policy, type Principal } from '../domain/principal.ts';

/**
 * An admin action's rights, checked again where they count: inside the action's own transaction, after the
 * organisation's team lock (`lockTeamOfOrg`), which every change of people and keys takes first.
 *
 * The principal was read before (and may come from a cache): without this, an admin being demoted or disabled
 * could still add members, promote itself back, mint API keys or disable the admin demoting it with requests in
 * flight as the demotion commits — they waited on the lock and then went on with rights read before it. Here a
 * person's session must still be live (a demotion or a withdrawal ends it in its own transaction) and the person
 * still an enabled admin of the organisation; an API key must still be active and an admin key. Refusals: 401 when
 * the session or key has ended meanwhile (sign in again), 403 when the rights are gone. Returns the locked team.
 */
export async function lockTeamAsAdmin(tx: Tx, p: Principal, now = new Date()) {
  policy.requireAdmin(p);
  const team = await lockTeamOfOrg(tx, p.orgId);
  if (p.apiKeyId) {
    const role = await activeKeyRole(tx, p.apiKeyId, p.orgId);
    if (role === null) throw unauthorized('this API key was revoked');
    if (role !== 'admin') throw forbidden('only an organisation admin may do this');
    return team;
  }
  if (p.sessionId && !(await sessionLive(tx, p.sessionId, now))) throw unauthorized('your session ended meanwhile; sign in again');
  const me = team.find((m) => m.user_id === p.userId);
  if (!me || me.role !== 'admin' || me.disabled_at !== null) throw forbidden('your admin rights were withdrawn');
  return team;
}
