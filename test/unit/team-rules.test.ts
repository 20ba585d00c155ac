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

describe('team page helpers (client/src/lib/team-data.ts)', () => {
  it('checks the forms as the server does, and says what an audit entry changed', async () => {
    const { checkMemberForm, checkPasswordForm, detailLabel, actorLabel, actionLabel } = await import('../../client/src/lib/team-data.ts');
    expect(checkMemberForm({ name: ' ', email: 'no-at-sign' })).toEqual({ name: expect.any(String), email: expect.any(String) });
    expect(checkMemberForm({ name: 'Dana', email: ' dana@example.test ' })).toEqual({});
    expect(checkPasswordForm({ current: '', next: 'short', repeat: 'other' })).toEqual({ current: expect.any(String), next: expect.any(String), repeat: expect.any(String) });
    expect(checkPasswordForm({ current: 'same password!', next: 'same password!', repeat: 'same password!' }).next).toMatch(/different/);
    expect(checkPasswordForm({ current: 'old one', next: 'twelve chars', repeat: 'twelve chars' })).toEqual({});
    const entry = { id: 1, at: '2026-12-04T10:00:00Z', action: 'member.update', entityType: 'user', entityId: null, ip: null, data: { disabled: true, sessionsEnded: 2 } };
    expect(detailLabel({ ...entry, actor: { kind: 'user', userId: 'u', apiKeyId: null, name: 'Ana' } })).toBe('access withdrawn, 2 sessions ended');
    expect(actorLabel({ ...entry, actor: { kind: 'apiKey', userId: null, apiKeyId: 'k', name: 'TMS' } })).toBe('API key TMS');
    expect(actorLabel({ ...entry, actor: { kind: 'system', userId: null, apiKeyId: null, name: null } })).toBe('the platform');
    expect(actionLabel('member.add')).toBe('added a member');
    // trading entries read as words too, with what they were about (an operator found raw codes and empty details)
    expect(actionLabel('listing.cancel')).toBe('withdrew a listing');
    expect(actionLabel('booking.no_show')).toBe('marked a booking as a no-show');
    expect(actionLabel('something.new_here')).toBe('something new here');
    const noShow = { ...entry, action: 'booking.no_show', entityType: 'booking', entityId: 'c87efe1b-0000-4000-8000-000000000000', data: { feeCents: 120_000 }, actor: { kind: 'user' as const, userId: 'u', apiKeyId: null, name: 'Ola' } };
    expect(detailLabel(noShow)).toBe('booking #c87efe1b, €1,200.00 fee');
  });
});
