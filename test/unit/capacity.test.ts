import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checkHold,
  notOpenYet,
  freeOf,
  holdExpiresAt,
  isHoldExpired,
  MIN_TONNES_PER_TEU,
  type Availability,
} from '../../server/core/capacity.ts';

const T0 = new Date('2024-03-01T12:00:00Z');
const CUTOFF = new Date('2024-03-02T12:00:00Z');

function avail(over: Partial<Availability> = {}): Availability & { cutoffAt: Date } {
  return {
    capacityTeu: 90,
    capacityTonnes: 1800,
    heldTeu: 10,
    heldTonnes: 200,
    bookedTeu: 30,
    bookedTonnes: 600,
    cutoffAt: CUTOFF,
    ...over,
  };
}

describe('freeOf', () => {
  it('subtracts held and booked in both dimensions', () => {
    expect(freeOf(avail())).toEqual({ freeTeu: 50, freeTonnes: 1000 });
  });
  it('never reports negative free capacity', () => {
    expect(freeOf(avail({ bookedTeu: 100, bookedTonnes: 2000 }))).toEqual({ freeTeu: 0, freeTonnes: 0 });
  });
});

describe('checkHold', () => {
  it('accepts a request that fits both dimensions exactly', () => {
    expect(checkHold(avail(), { teu: 50, tonnes: 1000 }, T0)).toEqual({ ok: true });
    expect(checkHold(avail(), { teu: 1, tonnes: 1 }, T0)).toEqual({ ok: true }); // 1 t per TEU is the least (issue 9)
  });

  it.each([
    [{ teu: 0, tonnes: 10 }],
    [{ teu: -1, tonnes: 10 }],
    [{ teu: 1.5, tonnes: 10 }],
    [{ teu: 1, tonnes: -1 }],
    [{ teu: 1, tonnes: 2.5 }],
    [{ teu: Number.NaN, tonnes: 1 }],
    [{ teu: 1, tonnes: 0 }],
    [{ teu: 3, tonnes: 2 }],
  ])('rejects invalid quantity %o', (req) => {
    const r = checkHold(avail(), req, T0);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe('invalid_quantity');
  });

  it("refuses before the listing's opensAt and accepts from that instant on (none: at once)", () => {
    const opensAt = new Date(T0.getTime() + 60_000);
    const early = checkHold({ ...avail(), opensAt }, { teu: 1, tonnes: 1 }, T0);
    expect(early).toMatchObject({ ok: false, code: 'listing_not_open' });
    expect(checkHold({ ...avail(), opensAt }, { teu: 1, tonnes: 1 }, opensAt)).toEqual({ ok: true });
    expect(checkHold({ ...avail(), opensAt: null }, { teu: 1, tonnes: 1 }, T0)).toEqual({ ok: true });
    expect(notOpenYet(opensAt, new Date(opensAt.getTime() - 1))).toMatch(/opens at/);
    expect(notOpenYet(undefined, T0)).toBeNull();
  });

  it('rejects at and after cut-off', () => {
    for (const now of [CUTOFF, new Date(CUTOFF.getTime() + 1)]) {
      const r = checkHold(avail(), { teu: 1, tonnes: 1 }, now);
      expect(r.ok ? 'ok' : r.code).toBe('past_cutoff');
    }
    expect(checkHold(avail(), { teu: 1, tonnes: 1 }, new Date(CUTOFF.getTime() - 1)).ok).toBe(true);
  });

  it('rejects when either TEU or tonnes do not fit', () => {
    const teu = checkHold(avail(), { teu: 51, tonnes: 51 }, T0);
    const tonnes = checkHold(avail(), { teu: 1, tonnes: 1001 }, T0);
    expect(teu.ok ? 'ok' : teu.code).toBe('insufficient_capacity');
    expect(tonnes.ok ? 'ok' : tonnes.code).toBe('insufficient_capacity');
  });

  it('checks quantity before cut-off before capacity', () => {
    const late = new Date(CUTOFF.getTime() + 1);
    const r1 = checkHold(avail(), { teu: 0, tonnes: 99_999 }, late);
    const r2 = checkHold(avail(), { teu: 999, tonnes: 99_999 }, late);
    expect(r1.ok ? 'ok' : r1.code).toBe('invalid_quantity');
    expect(r2.ok ? 'ok' : r2.code).toBe('past_cutoff');
  });

  it('accepts exactly when the request is valid, before cut-off and fits both dimensions', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: -2, max: 120 }),
        fc.integer({ min: -2, max: 2200 }),
        fc.boolean(),
        (heldTeu, bookedTeu, heldTonnes, bookedTonnes, teu, tonnes, late) => {
          const a = avail({ heldTeu, bookedTeu, heldTonnes, bookedTonnes });
          const now = late ? CUTOFF : T0;
          const { freeTeu, freeTonnes } = freeOf(a);
          const expected = teu >= 1 && tonnes >= teu * MIN_TONNES_PER_TEU && !late && teu <= freeTeu && tonnes <= freeTonnes;
          expect(checkHold(a, { teu, tonnes }, now).ok).toBe(expected);
        },
      ),
    );
  });
});

describe('hold expiry', () => {
  it('expires exactly at expiresAt', () => {
    const exp = holdExpiresAt(T0, 15 * 60_000);
    expect(exp.toISOString()).toBe('2024-03-01T12:15:00.000Z');
    expect(isHoldExpired(exp, new Date(exp.getTime() - 1))).toBe(false);
    expect(isHoldExpired(exp, exp)).toBe(true);
    expect(isHoldExpired(exp, new Date(exp.getTime() + 1))).toBe(true);
  });
});

type Cmd =
  | { kind: 'hold'; teu: number; tonnes: number; ttlMin: number }
  | { kind: 'release'; pick: number }
  | { kind: 'confirm'; pick: number }
  | { kind: 'tick'; minutes: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({
    kind: fc.constant('hold' as const),
    teu: fc.integer({ min: -1, max: 40 }),
    tonnes: fc.integer({ min: -1, max: 900 }),
    ttlMin: fc.integer({ min: 1, max: 30 }),
  }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('confirm' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('tick' as const), minutes: fc.integer({ min: 0, max: 20 }) }),
);

describe('capacity model', () => {
  it('no sequence of accepted holds, releases, confirmations and expiries overbooks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.array(cmdArb, { maxLength: 80 }),
        (capacityTeu, capacityTonnes, cmds) => {
          let now = T0.getTime();
          const cutoffAt = new Date(now + 10 * 60 * 60_000);
          const holds: { teu: number; tonnes: number; expiresAt: Date }[] = [];
          let bookedTeu = 0;
          let bookedTonnes = 0;
          const state = (): Availability & { cutoffAt: Date } => {
            // holds that have expired no longer count
            for (let i = holds.length - 1; i >= 0; i--) {
              if (isHoldExpired(holds[i]!.expiresAt, new Date(now))) holds.splice(i, 1);
            }
            return {
              capacityTeu,
              capacityTonnes,
              heldTeu: holds.reduce((s, h) => s + h.teu, 0),
              heldTonnes: holds.reduce((s, h) => s + h.tonnes, 0),
              bookedTeu,
              bookedTonnes,
              cutoffAt,
            };
          };
          for (const c of cmds) {
            if (c.kind === 'hold') {
              const a = state();
              if (checkHold(a, c, new Date(now)).ok) {
                holds.push({ teu: c.teu, tonnes: c.tonnes, expiresAt: holdExpiresAt(new Date(now), c.ttlMin * 60_000) });
              }
            } else if (c.kind === 'release') {
              state();
              if (holds.length > 0) holds.splice(c.pick % holds.length, 1);
            } else if (c.kind === 'confirm') {
              state();
              if (holds.length > 0) {
                const [h] = holds.splice(c.pick % holds.length, 1);
                bookedTeu += h!.teu;
                bookedTonnes += h!.tonnes;
              }
            } else {
              now += c.minutes * 60_000;
            }
            const a = state();
            expect(a.heldTeu + a.bookedTeu).toBeLessThanOrEqual(capacityTeu);
            expect(a.heldTonnes + a.bookedTonnes).toBeLessThanOrEqual(capacityTonnes);
            const f = freeOf(a);
            expect(f.freeTeu).toBe(capacityTeu - a.heldTeu - a.bookedTeu);
            expect(f.freeTonnes).toBe(capacityTonnes - a.heldTonnes - a.bookedTonnes);
          }
        },
      ),
    );
  });
});
