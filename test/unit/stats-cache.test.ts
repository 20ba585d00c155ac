import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, Lru, mergeParts, RowText, settledBefore } from '../../server/core/stats-cache.ts';

describe('stats cache: the settled days (server/core/stats-cache.ts)', () => {
  it('settled: before two days before the earlier of the caller\'s and the database\'s UTC day; weeks from their Monday', () => {
    expect(settledBefore(new Date('2026-12-03T13:00:00Z'), '2026-12-03')).toBe('2026-12-01');
    expect(settledBefore(new Date('2026-12-03T00:10:00Z'), '2026-12-02')).toBe('2026-11-30'); // database behind
    expect(settledBefore(new Date('2030-01-01T00:00:00Z'), '2026-12-03')).toBe('2026-12-01'); // a caller's future now
    expect(settledBefore(new Date('2026-11-01T12:00:00Z'), '2026-12-03')).toBe('2026-10-30'); // a caller's past now
    // 2026-12-01 is a Tuesday: its week began on Monday 2026-11-30
    expect(settledBefore(new Date('2026-12-03T13:00:00Z'), '2026-12-03', 'week')).toBe('2026-11-30');
    expect(settledBefore(new Date('2026-12-02T13:00:00Z'), '2026-12-02', 'week')).toBe('2026-11-30');
    expect(settledBefore(new Date('2026-12-02T13:00:00Z'), '2026-12-02', 'day')).toBe('2026-11-30');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
  });

  it('merges two parts in rank order, the settled row first on equal ranks', () => {
    const s = [{ r: 0, d: '1' }, { r: 2, d: '1' }, { r: 2, d: '2' }, { r: 5, d: '1' }];
    const l = [{ r: 1, d: '8' }, { r: 2, d: '8' }, { r: 6, d: '8' }];
    expect(mergeParts(s, l, (x) => x.r).map((x) => `${x.r}${x.d}`)).toEqual(['01', '18', '21', '22', '28', '51', '68']);
    expect(mergeParts([], l, (x) => x.r)).toBe(l);
    expect(mergeParts(s, [], (x) => x.r)).toBe(s);
  });

  it('keeps at most its size, dropping the least recently used; counts hits and misses', () => {
    const c = new Lru<number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1);
    c.set('c', 3); // b is the least recently used
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(1);
    expect(c.get('c')).toBe(3);
    expect(c.size).toBe(2);
    expect([c.hits, c.misses]).toEqual([3, 1]);
  });
});

describe('stats cache: bounded by weight', () => {
  it('drops the least recently used until the rows fit; a part heavier than the whole is not kept', () => {
    const c = new Lru<string>(10, 100);
    c.set('a', 'a', 60);
    c.set('b', 'b', 30);
    c.set('c', 'c', 20); // 110 > 100: a goes
    expect([c.get('a'), c.get('b'), c.get('c')]).toEqual([undefined, 'b', 'c']);
    c.set('d', 'd', 101);
    expect(c.get('d')).toBeUndefined();
    expect(c.size).toBe(2);
    c.set('b', 'b2', 80); // replaces b: 80 + 20 = 100 fits
    expect([c.get('b'), c.get('c')]).toEqual(['b2', 'c']);
    c.set('e', 'e', 1); // 101: the least recently used (b) goes
    expect([c.get('b'), c.get('c'), c.get('e')]).toEqual([undefined, 'c', 'e']);
  });
});

describe('stats cache: answers written from the rows\' kept text', () => {
  const value = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.constant(null), fc.boolean(), fc.constant(undefined));
  const row = fc.dictionary(fc.string(), value);
  it('writes exactly what JSON.stringify writes, whichever rows are kept', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 8 }), fc.array(fc.boolean(), { maxLength: 8 }), fc.dictionary(fc.string().filter((k) => k !== 'rows'), value, { maxKeys: 4 }), (rows, kept, head) => {
        const t = new RowText();
        t.keep(rows.filter((_, i) => kept[i]));
        const answer = { ...head, rows, totals: { n: rows.length } };
        expect(t.answerJson(answer)).toBe(JSON.stringify(answer));
      }),
    );
  });
  it('uses the text made when the row was kept', () => {
    const t = new RowText();
    const r = { a: 1 };
    t.keep([r]);
    r.a = 2; // a kept row is never changed in the product; here it shows which text is written
    expect(t.answerJson({ rows: [r, { a: 3 }] })).toBe('{"rows":[{"a":1},{"a":3}]}');
  });
});
