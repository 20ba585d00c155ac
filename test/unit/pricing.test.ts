import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  fallingPrice,
  nextPriceChangeAt,
  totalCents,
  validateFallingSchedule,
  type FallingSchedule,
} from '../../server/core/pricing.ts';

const MIN = 60_000;
const T = new Date('2024-05-01T08:00:00Z');
const at = (minutes: number) => new Date(T.getTime() + minutes * MIN);
const S: FallingSchedule = { startPriceCents: 1000, floorPriceCents: 450, stepCents: 100, stepEveryMinutes: 30, startsAt: T };

describe('fallingPrice', () => {
  it('holds the start price until the first step, then drops per step down to the floor', () => {
    expect(fallingPrice(S, at(-60))).toBe(1000);
    expect(fallingPrice(S, T)).toBe(1000);
    expect(fallingPrice(S, new Date(at(30).getTime() - 1))).toBe(1000);
    expect(fallingPrice(S, at(30))).toBe(900);
    expect(fallingPrice(S, at(150))).toBe(500);
    expect(fallingPrice(S, at(180))).toBe(450); // 400 would be below the floor
    expect(fallingPrice(S, at(10_000_000))).toBe(450);
  });
});

describe('nextPriceChangeAt', () => {
  it('gives the next step instant, or null at the floor', () => {
    expect(nextPriceChangeAt(S, at(-60))).toEqual(at(30));
    expect(nextPriceChangeAt(S, T)).toEqual(at(30));
    expect(nextPriceChangeAt(S, at(45))).toEqual(at(60));
    expect(nextPriceChangeAt(S, at(150))).toEqual(at(180));
    expect(nextPriceChangeAt(S, at(180))).toBeNull();
    expect(nextPriceChangeAt({ ...S, floorPriceCents: 1000 }, at(-5))).toBeNull();
  });
});

describe('validateFallingSchedule', () => {
  it('accepts a valid schedule and an ISO startsAt', () => {
    expect(validateFallingSchedule(S)).toEqual({ ok: true, schedule: S });
    const r = validateFallingSchedule({ ...S, startsAt: '2024-05-01T08:00:00Z' });
    expect(r.ok && r.schedule.startsAt.getTime()).toBe(T.getTime());
  });
  it.each([
    ['not an object', 42],
    ['floor above start', { ...S, floorPriceCents: 1001 }],
    ['fractional cents', { ...S, startPriceCents: 999.5 }],
    ['negative floor', { ...S, floorPriceCents: -1 }],
    ['zero step', { ...S, stepCents: 0 }],
    ['zero interval', { ...S, stepEveryMinutes: 0 }],
    ['bad date', { ...S, startsAt: 'yesterday-ish' }],
    ['missing date', { ...S, startsAt: undefined }],
  ])('rejects %s', (_n, input) => {
    expect(validateFallingSchedule(input)).toMatchObject({ ok: false, code: 'invalid_falling_schedule' });
  });
});

describe('totalCents', () => {
  it('multiplies in integer cents', () => {
    expect(totalCents(98_000, 3)).toBe(294_000);
    expect(totalCents(0, 5)).toBe(0);
  });
  it('refuses non-integers and overflow as programming errors', () => {
    expect(() => totalCents(10.5, 2)).toThrow(RangeError);
    expect(() => totalCents(10, 1.5)).toThrow(RangeError);
    expect(() => totalCents(Number.MAX_SAFE_INTEGER, 2)).toThrow(RangeError);
  });
});

const scheduleArb: fc.Arbitrary<FallingSchedule> = fc
  .record({
    floor: fc.integer({ min: 0, max: 200_000 }),
    span: fc.integer({ min: 0, max: 200_000 }),
    stepCents: fc.integer({ min: 1, max: 50_000 }),
    stepEveryMinutes: fc.integer({ min: 1, max: 24 * 60 }),
  })
  .map(({ floor, span, stepCents, stepEveryMinutes }) => ({
    startPriceCents: floor + span,
    floorPriceCents: floor,
    stepCents,
    stepEveryMinutes,
    startsAt: T,
  }));
const offsetArb = fc.integer({ min: -10 * 24 * 60 * MIN, max: 60 * 24 * 60 * MIN });

describe('falling price properties', () => {
  it('is an integer within [floor, start]', () => {
    fc.assert(
      fc.property(scheduleArb, offsetArb, (s, off) => {
        const p = fallingPrice(s, new Date(T.getTime() + off));
        expect(Number.isSafeInteger(p)).toBe(true);
        expect(p).toBeGreaterThanOrEqual(s.floorPriceCents);
        expect(p).toBeLessThanOrEqual(s.startPriceCents);
      }),
    );
  });

  it('never increases with time', () => {
    fc.assert(
      fc.property(scheduleArb, offsetArb, offsetArb, (s, a, b) => {
        const [early, late] = a <= b ? [a, b] : [b, a];
        expect(fallingPrice(s, new Date(T.getTime() + late))).toBeLessThanOrEqual(
          fallingPrice(s, new Date(T.getTime() + early)),
        );
      }),
    );
  });

  it('next change is the first later instant where the price drops; null only at the floor', () => {
    fc.assert(
      fc.property(scheduleArb, offsetArb, (s, off) => {
        const now = new Date(T.getTime() + off);
        const p = fallingPrice(s, now);
        const next = nextPriceChangeAt(s, now);
        if (next === null) {
          expect(p).toBe(s.floorPriceCents);
          expect(fallingPrice(s, new Date(now.getTime() + 365 * 24 * 60 * MIN))).toBe(p);
        } else {
          expect(next.getTime()).toBeGreaterThan(now.getTime());
          expect(fallingPrice(s, new Date(next.getTime() - 1))).toBe(p);
          expect(fallingPrice(s, next)).toBeLessThan(p);
        }
      }),
    );
  });
});
