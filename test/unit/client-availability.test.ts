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

  it('follows held and booked TEU when the frame carries them (the departure page shows them to its operator)', () => {
    const d: { seq: number; freeTeu: number; freeTonnes: number; heldTeu?: number; bookedTeu?: number } = { ...dep(5), heldTeu: 0, bookedTeu: 4 };
    expect(applyAvailability(d, { departureId: 'd', seq: 6, freeTeu: 4, freeTonnes: 40, heldTeu: 2, bookedTeu: 8 })).toBe('applied');
    expect(d).toMatchObject({ heldTeu: 2, bookedTeu: 8, freeTeu: 4 });
    applyAvailability(d, { departureId: 'd', seq: 7, freeTeu: 5, freeTonnes: 50 }); // an older server's frame: left as they were
    expect(d).toMatchObject({ heldTeu: 2, bookedTeu: 8, freeTeu: 5 });
    applyAvailability(d, { departureId: 'd', seq: 7, freeTeu: 0, freeTonnes: 0, heldTeu: 9, bookedTeu: 9 }); // stale: nothing
    expect(d).toMatchObject({ heldTeu: 2, bookedTeu: 8, freeTeu: 5 });
  });
});
