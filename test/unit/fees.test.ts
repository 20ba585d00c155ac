import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_FEE_RULE, cancellationFee, notCancellable, validateFeeRule, type FeeRule } from '../../server/core/fees.ts';

const MIN = 60_000;
const DEP = new Date('2024-06-20T20:00:00Z');
const CUT = new Date(DEP.getTime() - 5 * 60 * MIN);
const times = { departsAt: DEP, cutoffAt: CUT };
const before = (ms: number) => new Date(DEP.getTime() - ms);

describe('DEFAULT_FEE_RULE', () => {
  it('is valid', () => {
    const r = validateFeeRule(DEFAULT_FEE_RULE);
    expect(r.ok).toBe(true);
  });

  it('is free until 7 days before, 50 % until cut-off, 100 % after', () => {
    const week = 7 * 24 * 60 * MIN;
    expect(cancellationFee(DEFAULT_FEE_RULE, 10_000, times, before(week + 1))).toEqual({
      feeCents: 0,
      refundCents: 10_000,
      percent: 0,
      band: 'free',
    });
    expect(cancellationFee(DEFAULT_FEE_RULE, 10_000, times, before(week))).toMatchObject({ feeCents: 5_000, percent: 50 });
    expect(cancellationFee(DEFAULT_FEE_RULE, 10_000, times, new Date(CUT.getTime() - 1))).toMatchObject({
      feeCents: 5_000,
      refundCents: 5_000,
    });
    expect(cancellationFee(DEFAULT_FEE_RULE, 10_000, times, CUT)).toEqual({
      feeCents: 10_000,
      refundCents: 0,
      percent: 100,
      band: 'after_cutoff',
    });
    expect(cancellationFee(DEFAULT_FEE_RULE, 10_000, times, new Date(DEP.getTime() + 1))).toMatchObject({
      band: 'after_cutoff',
    });
  });

  it('rounds half-up to whole cents', () => {
    expect(cancellationFee(DEFAULT_FEE_RULE, 101, times, before(60 * 60 * MIN)).feeCents).toBe(51);
    const rule: FeeRule = { tiers: [{ fromMinutesBeforeDeparture: 60 * 24, percent: 33 }], afterCutoffPercent: 100 };
    const at = before(12 * 60 * MIN);
    expect(cancellationFee(rule, 150, times, at)).toMatchObject({ feeCents: 50, refundCents: 100 }); // 49.5 → 50
    expect(cancellationFee(rule, 149, times, at)).toMatchObject({ feeCents: 49, refundCents: 100 }); // 49.17 → 49
  });

  it('picks the closest applicable tier', () => {
    const rule: FeeRule = {
      tiers: [
        { fromMinutesBeforeDeparture: 60 * 24, percent: 25 },
        { fromMinutesBeforeDeparture: 60 * 24 * 7, percent: 10 },
      ],
      afterCutoffPercent: 80,
    };
    expect(cancellationFee(rule, 1000, times, before(3 * 24 * 60 * MIN))).toMatchObject({
      percent: 10,
      band: 'from_10080_min',
    });
    expect(cancellationFee(rule, 1000, times, before(10 * 60 * MIN))).toMatchObject({ percent: 25, band: 'from_1440_min' });
    expect(cancellationFee(rule, 1000, times, CUT)).toMatchObject({ percent: 80, feeCents: 800 });
  });

  it('treats a negative or fractional total as a programming error', () => {
    expect(() => cancellationFee(DEFAULT_FEE_RULE, -1, times, CUT)).toThrow(RangeError);
    expect(() => cancellationFee(DEFAULT_FEE_RULE, 1.5, times, CUT)).toThrow(RangeError);
  });
});

describe('validateFeeRule', () => {
  it.each([
    ['null', null],
    ['no tiers', { afterCutoffPercent: 100 }],
    ['percent above 100', { tiers: [], afterCutoffPercent: 101 }],
    ['fractional percent', { tiers: [{ fromMinutesBeforeDeparture: 10, percent: 1.5 }], afterCutoffPercent: 100 }],
    ['zero minutes', { tiers: [{ fromMinutesBeforeDeparture: 0, percent: 10 }], afterCutoffPercent: 100 }],
    [
      'duplicate tier start',
      {
        tiers: [
          { fromMinutesBeforeDeparture: 10, percent: 10 },
          { fromMinutesBeforeDeparture: 10, percent: 20 },
        ],
        afterCutoffPercent: 100,
      },
    ],
    [
      'fee falling towards departure',
      {
        tiers: [
          { fromMinutesBeforeDeparture: 1000, percent: 50 },
          { fromMinutesBeforeDeparture: 100, percent: 20 },
        ],
        afterCutoffPercent: 100,
      },
    ],
    ['after-cutoff below a tier', { tiers: [{ fromMinutesBeforeDeparture: 100, percent: 60 }], afterCutoffPercent: 50 }],
  ])('rejects %s', (_name, rule) => {
    const r = validateFeeRule(rule);
    expect(r).toMatchObject({ ok: false, code: 'invalid_fee_rule' });
  });

  it('sorts tiers from earliest to latest and drops unknown fields', () => {
    const r = validateFeeRule({
      tiers: [
        { fromMinutesBeforeDeparture: 100, percent: 20, extra: 1 },
        { fromMinutesBeforeDeparture: 1000, percent: 10 },
      ],
      afterCutoffPercent: 100,
      other: 'x',
    });
    expect(r).toEqual({
      ok: true,
      rule: {
        tiers: [
          { fromMinutesBeforeDeparture: 1000, percent: 10 },
          { fromMinutesBeforeDeparture: 100, percent: 20 },
        ],
        afterCutoffPercent: 100,
      },
    });
  });
});

/** Valid rules: distinct tier starts with percentages that rise towards departure. */
const validRuleArb: fc.Arbitrary<FeeRule> = fc
  .uniqueArray(fc.integer({ min: 1, max: 30 * 24 * 60 }), { maxLength: 5 })
  .chain((froms) =>
    fc
      .tuple(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: froms.length, maxLength: froms.length }),
        fc.integer({ min: 0, max: 100 }),
      )
      .map(([ps, extra]) => {
        const sortedFroms = [...froms].sort((a, b) => b - a);
        const sortedPs = [...ps].sort((a, b) => a - b);
        const max = sortedPs.at(-1) ?? 0;
        return {
          tiers: sortedFroms.map((f, i) => ({ fromMinutesBeforeDeparture: f, percent: sortedPs[i]! })),
          afterCutoffPercent: Math.max(max, extra),
        };
      }),
  );

/** Any rule-shaped object, valid or not. */
const anyRuleArb = fc.record({
  tiers: fc.array(
    fc.record({
      fromMinutesBeforeDeparture: fc.integer({ min: -5, max: 50_000 }),
      percent: fc.integer({ min: -5, max: 105 }),
    }),
    { maxLength: 5 },
  ),
  afterCutoffPercent: fc.integer({ min: -5, max: 105 }),
});

const totalArb = fc.oneof(fc.integer({ min: 0, max: 10_000_000 }), fc.constant(Number.MAX_SAFE_INTEGER));
const offsetArb = fc.integer({ min: -5 * 24 * 60 * MIN, max: 40 * 24 * 60 * MIN }); // ms before departure
const cutoffArb = fc.integer({ min: 0, max: 48 * 60 }); // minutes before departure

describe('cancellationFee properties', () => {
  it('generated valid rules pass validation', () => {
    fc.assert(
      fc.property(validRuleArb, (rule) => {
        expect(validateFeeRule(rule).ok).toBe(true);
      }),
    );
  });

  it('fee + refund = total, both within 0..total, integers', () => {
    fc.assert(
      fc.property(fc.oneof(validRuleArb, anyRuleArb), totalArb, offsetArb, cutoffArb, (rule, total, off, cut) => {
        const t = { departsAt: DEP, cutoffAt: new Date(DEP.getTime() - cut * MIN) };
        const r = cancellationFee(rule, total, t, before(off));
        expect(r.feeCents + r.refundCents).toBe(total);
        expect(Number.isSafeInteger(r.feeCents)).toBe(true);
        expect(r.feeCents).toBeGreaterThanOrEqual(0);
        expect(r.feeCents).toBeLessThanOrEqual(total);
        expect(r.percent).toBeGreaterThanOrEqual(0);
        expect(r.percent).toBeLessThanOrEqual(100);
        // the fee equals the half-up rounding of the exact percentage
        expect(BigInt(r.feeCents)).toBe((BigInt(total) * BigInt(r.percent) + 50n) / 100n);
      }),
    );
  });

  it('never decreases as now approaches departure, for any validated rule', () => {
    fc.assert(
      fc.property(
        fc.oneof(validRuleArb, anyRuleArb),
        totalArb,
        offsetArb,
        offsetArb,
        cutoffArb,
        (raw, total, o1, o2, cut) => {
          const v = validateFeeRule(raw);
          fc.pre(v.ok);
          if (!v.ok) return;
          const t = { departsAt: DEP, cutoffAt: new Date(DEP.getTime() - cut * MIN) };
          const [far, near] = o1 >= o2 ? [o1, o2] : [o2, o1];
          const a = cancellationFee(v.rule, total, t, before(far));
          const b = cancellationFee(v.rule, total, t, before(near));
          expect(b.feeCents).toBeGreaterThanOrEqual(a.feeCents);
          expect(b.percent).toBeGreaterThanOrEqual(a.percent);
        },
      ),
    );
  });
});

describe('notCancellable', () => {
  const departsAt = new Date('2026-12-10T08:00:00Z');
  it('lets a booking be cancelled until its departure leaves, not from then on', () => {
    expect(notCancellable({ departsAt }, new Date(departsAt.getTime() - 1))).toBeNull();
    expect(notCancellable({ departsAt }, departsAt)).toMatch(/left at 2026-12-10T08:00:00.000Z/);
    expect(notCancellable({ departsAt }, new Date(departsAt.getTime() + 86_400_000))).not.toBeNull();
  });
});
