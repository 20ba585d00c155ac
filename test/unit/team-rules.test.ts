import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideMemberChange, type TeamMember } from '../../server/core/team.ts';

describe('team rules (pure): an enabled admin always remains; taking rights away ends sessions', () => {
  const member = fc.record({ role: fc.constantFrom('admin' as const, 'member' as const), disabled: fc.boolean() });
  it('for any team and any change', () => {
    fc.assert(
      fc.property(fc.array(member, { minLength: 1, maxLength: 6 }), fc.nat(), fc.record({ role: fc.option(fc.constantFrom('admin' as const, 'member' as const), { nil: undefined }), disabled: fc.option(fc.boolean(), { nil: undefined }) }), (ms, pick, change) => {
        const team: TeamMember[] = ms.map((m, i) => ({ userId: `u${i}`, ...m }));
        const target = team[pick % team.length]!;
        const d = decideMemberChange(team, target.userId, change);
        const admins = (t: TeamMember[]) => t.filter((m) => m.role === 'admin' && !m.disabled).length;
        const after = team.map((m) => (m.userId === target.userId ? { ...m, ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) } : m));
        if (d.ok) {
          expect(admins(after) > 0 || admins(team) === 0).toBe(true);
          expect(d.endSessions).toBe(after.find((m) => m.userId === target.userId)!.role !== target.role || (!target.disabled && !!change.disabled));
        } else {
          expect(d.code).toBe('last_admin');
          expect(admins(team)).toBeGreaterThan(0);
          expect(admins(after)).toBe(0);
        }
      }),
    );
    expect(decideMemberChange([{ userId: 'a', role: 'admin', disabled: false }], 'b', { role: 'member' })).toMatchObject({ ok: false, code: 'not_found' });
  });
});
