import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideSettlement, decimalEuros, euros, invoiceNumber, platformFee, refundSplit, releaseSplit, vatNote, vatOf } from '../../server/core/settlement.ts';

describe('settlement arithmetic (integer cents, basis points)', () => {
  it('fee is rounded down: the fraction of a cent stays with the operator', () => {
    expect(platformFee(99_999, 300)).toBe(2_999);
    expect(releaseSplit(99_999, 300)).toEqual({ operatorCents: 97_000, feeCents: 2_999 });
    expect(platformFee(0, 300)).toBe(0);
    expect(platformFee(33, 300)).toBe(0);
    expect(platformFee(10_000, 10_000)).toBe(10_000);
    expect(platformFee(Number.MAX_SAFE_INTEGER, 300)).toBe(Number((BigInt(Number.MAX_SAFE_INTEGER) * 300n) / 10_000n));
    expect(() => platformFee(1.5, 300)).toThrow(RangeError);
    expect(() => platformFee(100, 10_001)).toThrow(RangeError);
  });

  it('VAT is rounded half up', () => {
    expect(vatOf(1_000, 1_900)).toBe(190);
    expect(vatOf(5, 1_000)).toBe(1); // 0.5 → 1
    expect(vatOf(4, 1_000)).toBe(0);
  });

  it('release parts add up to the amount, both ≥ 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 0, max: 10_000 }), (amount, bps) => {
        const r = releaseSplit(amount, bps);
        return r.operatorCents + r.feeCents === amount && r.operatorCents >= 0 && r.feeCents >= 0;
      }),
    );
  });

  it('refund leaves everyone where a settlement of the fee alone would have (order does not matter)', () => {
    expect(refundSplit(100_000, 50_000, 300)).toEqual({ refundCents: 50_000, fromOperatorCents: 48_500, fromPlatformCents: 1_500 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 10_000 }), (charged, f, bps) => {
        const kept = Math.floor(charged * f);
        const r = refundSplit(charged, kept, bps);
        const full = releaseSplit(charged, bps);
        const feeOnly = releaseSplit(kept, bps);
        return (
          r.refundCents === charged - kept &&
          r.fromOperatorCents >= 0 &&
          r.fromPlatformCents >= 0 &&
          r.fromOperatorCents + r.fromPlatformCents === r.refundCents &&
          full.operatorCents - r.fromOperatorCents === feeOnly.operatorCents &&
          full.feeCents - r.fromPlatformCents === feeOnly.feeCents
        );
      }),
    );
  });

  it('decimal euros for CSV are exact: parsed back, they give the cents again (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (cents) => {
        const s = decimalEuros(cents);
        expect(s).toMatch(/^-?\d+\.\d\d$/);
        const [whole, frac] = s.replace('-', '').split('.');
        expect((BigInt(whole!) * 100n + BigInt(frac!)) * (cents < 0 ? -1n : 1n)).toBe(BigInt(cents));
      }),
    );
    expect(decimalEuros(5)).toBe('0.05');
    expect(decimalEuros(240_000)).toBe('2400.00');
  });

  it('formats invoice numbers, euros and the VAT note', () => {
    expect(invoiceNumber('rhine-cargo-rail', 2026, 123)).toBe('RHINE-CARGO-RAIL-2026-000123');
    expect(euros(123_456_789)).toBe('€1,234,567.89');
    expect(euros(5)).toBe('€0.05');
    expect(vatNote(0)).toMatch(/^Reverse charge .*Art\. 196 Directive 2006\/112\/EC/);
    expect(vatNote(1_900)).toBe('VAT 19 %');
    expect(vatNote(2_150)).toBe('VAT 21.5 %');
  });
});

describe('decideSettlement', () => {
  it('posts the total of a confirmed booking, the fee of a cancelled one, nothing twice', () => {
    expect(decideSettlement({ status: 'confirmed', totalCents: 10_000, cancellationFeeCents: null }, { chargedCents: null, freeRecorded: false }, 300)).toEqual({
      kind: 'post', amountCents: 10_000, operatorCents: 9_700, feeCents: 300, cancelled: false,
    });
    expect(decideSettlement({ status: 'cancelled', totalCents: 10_000, cancellationFeeCents: 5_000 }, { chargedCents: null, freeRecorded: false }, 300)).toMatchObject({
      kind: 'post', amountCents: 5_000, cancelled: true,
    });
    expect(decideSettlement({ status: 'cancelled', totalCents: 10_000, cancellationFeeCents: 0 }, { chargedCents: null, freeRecorded: false }, 300)).toEqual({ kind: 'free' });
    expect(decideSettlement({ status: 'cancelled', totalCents: 10_000, cancellationFeeCents: 0 }, { chargedCents: null, freeRecorded: true }, 300)).toEqual({ kind: 'already', amountCents: 0 });
    expect(decideSettlement({ status: 'settled', totalCents: 10_000, cancellationFeeCents: null }, { chargedCents: 10_000, freeRecorded: false }, 300)).toEqual({ kind: 'already', amountCents: 10_000 });
  });

  it('property: a posting always splits exactly, and anything already charged is never posted again', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('confirmed', 'cancelled'),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.option(fc.integer({ min: 0, max: 10_000_000 })),
        fc.option(fc.integer({ min: 0, max: 10_000_000 })),
        fc.boolean(),
        fc.integer({ min: 0, max: 10_000 }),
        (status, total, fee, charged, freeRecorded, bps) => {
          const d = decideSettlement({ status, totalCents: total, cancellationFeeCents: fee }, { chargedCents: charged, freeRecorded }, bps);
          if (charged !== null) expect(d.kind).toBe('already');
          if (d.kind === 'post') {
            expect(d.operatorCents + d.feeCents).toBe(d.amountCents);
            expect(d.amountCents).toBe(status === 'cancelled' ? fee : total);
            expect(d.amountCents).toBeGreaterThan(0);
          }
        },
      ),
    );
  });
});
