import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { liveBudget, LocalFanout, pressure, type FanoutOptions } from '../../server/adapters/realtime/fanout.ts';
import type { LiveEvent } from '../../server/adapters/realtime/events.ts';
import { parseEntries } from '../../server/adapters/realtime/relay.ts';

/** Fake rooms: fixed sizes, records what was emitted. */
function rooms(sizes: Record<string, number>, budget = 10_000) {
  const sent: { rooms: string[]; event: string; payload: { seq?: number; n?: number } }[] = [];
  return {
    sent,
    budgetPerSec: () => budget,
    size: (r: string) => sizes[r] ?? 0,
    emit: (to: string[], event: string, payload: unknown) => sent.push({ rooms: to, event, payload: payload as { seq?: number } }),
  };
}

const avail = (dep: string, seq: number): LiveEvent => ({
  rooms: [`corridor:c`, `departure:${dep}`],
  event: 'departure:availability',
  payload: { departureId: dep, seq },
  coalesceKey: `avail:${dep}`,
});

describe('LocalFanout', () => {
  afterEach(() => vi.useRealTimers());
  const opts: FanoutOptions = { minIntervalMs: 100, tickMs: 25 };

  it('sends a first update at once and keeps only the newest of a burst, which it sends after the interval', () => {
    let now = 1_000_000;
    const r = rooms({ 'corridor:c': 100 });
    const f = new LocalFanout(r, opts, () => now);
    f.deliver([avail('d1', 1)]);
    f.deliver([avail('d1', 2), avail('d1', 3)]);
    expect(r.sent.map((s) => s.payload.seq)).toEqual([1]);
    now += 50;
    f.tick();
    expect(r.sent).toHaveLength(1); // interval not over
    now += 60;
    f.tick();
    expect(r.sent.map((s) => s.payload.seq)).toEqual([1, 3]);
    expect(f.stats.superseded).toBe(1);
    expect(f.waitingCount).toBe(0);
  });

  it('never delays nor drops events without a coalescing key, even over budget', () => {
    const now = 5_000;
    const r = rooms({ 'org:o': 30_000 });
    const f = new LocalFanout(r, opts, () => now);
    for (let i = 0; i < 5; i++) f.deliver([{ rooms: ['org:o'], event: 'booking:confirmed', payload: { n: i } }]);
    expect(r.sent.map((s) => s.payload.n)).toEqual([0, 1, 2, 3, 4]);
  });

  it('holds coalesced updates back while the budget is spent and lets the oldest waiting key go first', () => {
    let now = 0;
    const r = rooms({ 'corridor:c': 4_000 });
    const f = new LocalFanout(r, opts, () => now);
    f.deliver([avail('a', 1), avail('b', 1)]); // 8,000 of 10,000 tokens
    f.deliver([avail('c', 1)]); // would need 4,000: waits
    f.deliver([avail('d', 1)]);
    expect(r.sent.map((s) => (s.payload as { departureId?: string }).departureId)).toEqual(['a', 'b']);
    now += 200; // +2,000 tokens: 4,000 — enough for one
    f.tick();
    expect(r.sent.map((s) => (s.payload as { departureId?: string }).departureId)).toEqual(['a', 'b', 'c']);
    now += 400;
    f.tick();
    expect(r.sent.map((s) => (s.payload as { departureId?: string }).departureId)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('sends nothing for rooms with no local sockets', () => {
    const r = rooms({});
    const f = new LocalFanout(r, opts, () => 0);
    f.deliver([avail('a', 1), { rooms: ['org:x'], event: 'hold:expired', payload: {} }]);
    expect(r.sent).toHaveLength(0);
    expect(f.waitingCount).toBe(0);
  });

  it('property: whatever arrives and whenever ticks run, the last state of every key is delivered, in seq order, within the budget', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dep: fc.constantFrom('a', 'b', 'c'), dt: fc.integer({ min: 0, max: 120 }), tick: fc.boolean() }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 6_000 }),
        (steps, size) => {
          let now = 0;
          const r = rooms({ 'corridor:c': size }, 5_000);
          const f = new LocalFanout(r, opts, () => now);
          const seq: Record<string, number> = {};
          for (const s of steps) {
            now += s.dt;
            seq[s.dep] = (seq[s.dep] ?? 0) + 1;
            f.deliver([avail(s.dep, seq[s.dep]!)]);
            if (s.tick) f.tick();
          }
          // quiet period: ticks until nothing waits (bounded)
          for (let i = 0; i < 10_000 && f.waitingCount > 0; i++) {
            now += 25;
            f.tick();
          }
          expect(f.waitingCount).toBe(0);
          const lastSeen: Record<string, number> = {};
          for (const m of r.sent) {
            const p = m.payload as { departureId: string; seq: number };
            expect(p.seq).toBeGreaterThan(lastSeen[p.departureId] ?? 0);
            lastSeen[p.departureId] = p.seq;
          }
          expect(lastSeen).toEqual(seq);
          // spend never exceeds one bucket plus the refill over the elapsed time plus one oversized send
          expect(f.stats.deliveries).toBeLessThanOrEqual(5_000 + (now * 5_000) / 1000 + size);
        },
      ),
    );
  });
});

describe('liveBudget and pressure', () => {
  const o = { framesPerSocket: 4, busyFramesPerSocket: 1, floor: 1_000 };
  it('gives every socket 4 frames a second without pressure, 1 under full pressure, never under the floor', () => {
    expect(liveBudget(5_000, 0, o)).toBe(20_000);
    expect(liveBudget(5_000, 0.5, o)).toBe(12_500);
    expect(liveBudget(5_000, 1, o)).toBe(5_000);
    expect(liveBudget(5_000, 7, o)).toBe(5_000);
    expect(liveBudget(10, 0, o)).toBe(1_000);
  });
  it('is pressed by a busy event loop or by trading, whichever is more', () => {
    expect(pressure(0.3, 5)).toBe(0);
    expect(pressure(0.96, 0)).toBe(1);
    expect(pressure(0.1, 100)).toBe(1);
    expect(pressure(0.875, 25)).toBeCloseTo(0.5);
  });
  it('never grows with load', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        (n, a, b, x, y) => {
          const [lo, hi] = a < b ? [a, b] : [b, a];
          const [tlo, thi] = x < y ? [x, y] : [y, x];
          expect(liveBudget(n, pressure(hi, thi), o)).toBeLessThanOrEqual(liveBudget(n, pressure(lo, tlo), o));
        },
      ),
    );
  });
});

describe('LocalFanout ordering', () => {
  it('drops an older state that arrives after a newer one, and marks frames that stand for several states', () => {
    let now = 0;
    const r = rooms({ 'corridor:c': 10 });
    const f = new LocalFanout(r, { minIntervalMs: 100, tickMs: 25 }, () => now);
    f.deliver([{ ...avail('a', 1), version: 1 }]);
    f.deliver([{ ...avail('a', 3), version: 3 }]); // waits (interval)
    f.deliver([{ ...avail('a', 4), version: 4 }]); // replaces 3
    f.deliver([{ ...avail('a', 2), version: 2 }]); // late, older: dropped
    now += 100;
    f.tick();
    expect(r.sent.map((s) => s.payload)).toEqual([
      { departureId: 'a', seq: 1 },
      { departureId: 'a', seq: 4, coalesced: true },
    ]);
  });
});

describe('stream relay parsing', () => {
  const entry = (id: string, ev: LiveEvent): [string, string[]] => [
    id,
    [...(ev.coalesceKey ? ['k', ev.coalesceKey, ...(ev.version !== undefined ? ['v', String(ev.version)] : [])] : []), 'e', JSON.stringify(ev)],
  ];
  it('keeps every non-state event and, per key, only the newest state of a batch (by version, else the later)', () => {
    const a = (v: number) => ({ rooms: ['r'], event: 'departure:availability', payload: { seq: v }, coalesceKey: 'avail:a', version: v });
    const out = parseEntries([
      entry('1-0', a(3)),
      entry('2-0', { rooms: ['o'], event: 'booking:confirmed', payload: { n: 1 } }),
      entry('3-0', a(5)),
      entry('4-0', a(4)), // late, older: loses to 5
      entry('5-0', { rooms: ['l'], event: 'listing:update', payload: { x: 1 }, coalesceKey: 'listing:l' }),
      entry('6-0', { rooms: ['l'], event: 'listing:update', payload: { x: 2 }, coalesceKey: 'listing:l' }),
      ['7-0', ['e', '{not json']],
    ]);
    expect(out.map((e) => [e.event, e.payload])).toEqual([
      ['booking:confirmed', { n: 1 }],
      ['departure:availability', { seq: 5 }],
      ['listing:update', { x: 2 }],
    ]);
  });
});
