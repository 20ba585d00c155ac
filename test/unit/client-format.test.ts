import { describe, expect, it } from 'vitest';
import { fmtCountdown } from '../../client/src/lib/format.ts';

describe('fmtCountdown', () => {
  it('ticks as m:ss and h:mm:ss within a day, and says days and hours beyond (a walkthrough read "in 94:59:44")', () => {
    expect(fmtCountdown(0)).toBe('0:00');
    expect(fmtCountdown(-5)).toBe('0:00');
    expect(fmtCountdown(65_000)).toBe('1:05');
    expect(fmtCountdown(3_600_000 + 61_000)).toBe('1:01:01');
    expect(fmtCountdown(86_399_000)).toBe('23:59:59');
    expect(fmtCountdown(86_400_000)).toBe('1 d');
    expect(fmtCountdown(94 * 3_600_000 + 59 * 60_000 + 44_000)).toBe('3 d 22 h');
  });
});
