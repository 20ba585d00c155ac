import { describe, expect, it } from 'vitest';
import { applyAvailability } from '../../client/src/lib/availability.ts';

const dep = (seq: number) => ({ id: 'd', seq, freeTeu: 10, freeTonnes: 100 });

describe('client: applying availability frames', () => {
  it('applies the next seq, ignores stale ones, and asks for a re-read when a change was missed', () => {
    const d = dep(5);
    expect(applyAvailability(d, { departureId: 'd', seq: 5, freeTeu: 1, freeTonnes: 1 })).toBe('stale');
    expect(applyAvailability(d, { departureId: 'd', seq: 6, freeTeu: 9, freeTonnes: 90 })).toBe('applied');
    expect(applyAvailability(d, { departureId: 'd', seq: 9, freeTeu: 7, freeTonnes: 70 })).toBe('gap');
    expect(d).toMatchObject({ seq: 9, freeTeu: 7, freeTonnes: 70 });
  });

  it('takes a coalesced frame (several changes, newest state) without a re-read', () => {
    const d = dep(5);
    expect(applyAvailability(d, { departureId: 'd', seq: 12, freeTeu: 3, freeTonnes: 30, coalesced: true })).toBe('applied');
    expect(d).toMatchObject({ seq: 12, freeTeu: 3, freeTonnes: 30 });
  });
});
