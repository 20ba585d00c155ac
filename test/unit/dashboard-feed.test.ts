import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DepartureKey } from '../../server/adapters/db/dashboard-repo.ts';
import { DashboardFeed, type StatsUpdate } from '../../server/adapters/realtime/dashboard-feed.ts';
import type { LiveEvent } from '../../server/adapters/realtime/events.ts';

const NET = 'dashboard:network';
const OP1 = 'dashboard:operator:op1';
const OP2 = 'dashboard:operator:op2';

const KEYS: Record<string, DepartureKey> = {
  d1: { id: 'd1', corridorId: 'c1', operatorOrgId: 'op1', day: '2027-01-02' },
  d2: { id: 'd2', corridorId: 'c2', operatorOrgId: 'op2', day: '2027-01-01' },
  d3: { id: 'd3', corridorId: 'c1', operatorOrgId: 'op1', day: '2027-01-03' },
};

const avail = (dep: string, corridor = 'cx'): LiveEvent => ({
  rooms: [`departure:${dep}`, `corridor:${corridor}`],
  event: 'departure:availability',
  payload: { departureId: dep, seq: 1, freeTeu: 1, freeTonnes: 1 },
  coalesceKey: `avail:${dep}`,
  version: 1,
});
const booked = (dep: string): LiveEvent => ({ rooms: ['org:f', 'org:o'], event: 'booking:confirmed', payload: { id: 'b', departureId: dep } });

/** A feed over fake rooms and a fake look-up; `watched` rooms, what was sent to each, the look-ups made. */
function setup(watched: string[], o: { failLookup?: boolean; maxDepartures?: number } = {}) {
  const sent: { room: string; update: StatsUpdate }[] = [];
  const lookups: string[][] = [];
  const feed = new DashboardFeed(
    { watched: () => watched, emit: (room, _event, payload) => sent.push({ room, update: payload as StatsUpdate }) },
    async (ids) => {
      lookups.push([...ids].sort());
      if (o.failLookup) throw new Error('database away');
      return ids.flatMap((id) => (KEYS[id] ? [KEYS[id]] : []));
    },
    { intervalMs: 2000, maxDepartures: o.maxDepartures },
  );
  return { feed, sent, lookups, to: (room: string) => sent.filter((s) => s.room === room).map((s) => s.update) };
}

describe('DashboardFeed', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2027-01-01T12:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('sends the first change at once, then merges later ones into at most one update per interval', async () => {
    const { feed, to, sent } = setup([NET]);
    feed.observe([avail('d1', 'c1')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(to(NET)).toEqual([{ dashboard: 'network', asOf: '2027-01-01T12:00:00.000Z', departureIds: ['d1'], corridorIds: ['c1'], days: ['2027-01-02'] }]);

    for (let i = 0; i < 30; i++) feed.observe([avail(i % 2 ? 'd2' : 'd3'), booked('d1')]);
    await vi.advanceTimersByTimeAsync(1999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(to(NET)[1]).toMatchObject({ departureIds: ['d1', 'd2', 'd3'], corridorIds: ['c1', 'c2'], days: ['2027-01-01', '2027-01-02', '2027-01-03'] });
    expect(to(NET)[1]!.truncated).toBeUndefined();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent).toHaveLength(2); // nothing changed since
  });

  it("tells each operator's room of its own departures only, and a room with none of them nothing", async () => {
    const { feed, to } = setup([NET, OP1, OP2, 'dashboard:operator:op3']);
    feed.observe([avail('d1'), avail('d3'), booked('d1')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(to(OP1)).toEqual([expect.objectContaining({ dashboard: 'operator', departureIds: ['d1', 'd3'], corridorIds: ['c1'], days: ['2027-01-02', '2027-01-03'] })]);
    expect(to(OP2)).toEqual([]);
    expect(to('dashboard:operator:op3')).toEqual([]);
    expect(to(NET)).toHaveLength(1);
    feed.observe([avail('d2')]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(to(OP2)).toEqual([expect.objectContaining({ departureIds: ['d2'], corridorIds: ['c2'] })]);
    expect(to(OP1)).toHaveLength(1);
  });

  it('looks a departure up once (its keys never change), and not at all while nobody here watches', async () => {
    const watched: string[] = [];
    const { feed, lookups, sent } = setup(watched);
    feed.observe([avail('d1')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(lookups).toEqual([]);
    expect(sent).toEqual([]);
    watched.push(NET);
    feed.observe([avail('d1'), avail('d2')]);
    await vi.advanceTimersByTimeAsync(0);
    feed.observe([avail('d1'), avail('d2'), avail('d3')]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(lookups).toEqual([['d1', 'd2'], ['d3']]);
    expect(sent).toHaveLength(2);
  });

  it('without the look-up (database away) still tells the network room, with the corridor the event named, and no operator', async () => {
    const { feed, to, sent } = setup([NET, OP1], { failLookup: true });
    feed.observe([avail('d1', 'c1'), booked('d9')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((s) => s.room)).toEqual([NET]);
    expect(to(NET)[0]).toMatchObject({ departureIds: ['d1', 'd9'], corridorIds: ['c1'], days: [] });
  });

  it('lists at most maxDepartures and says the update is truncated (to every watched room)', async () => {
    const { feed, to } = setup([NET, OP2], { maxDepartures: 2 });
    feed.observe([avail('d1'), avail('d3'), avail('d2'), avail('d1')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(to(NET)[0]).toMatchObject({ departureIds: ['d1', 'd3'], truncated: true });
    expect(to(OP2)[0]).toMatchObject({ departureIds: [], truncated: true });
  });

  it('ignores events that change no figures, and stops on close', async () => {
    const { feed, sent } = setup([NET]);
    feed.observe([
      { rooms: ['listing:l'], event: 'listing:update', payload: { listingId: 'l' } },
      { rooms: ['org:o'], event: 'hold:expired', payload: { holdId: 'h', listingId: 'l' } },
      { rooms: ['x'], event: 'departure:availability', payload: { departureId: 7 } },
    ]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual([]);
    feed.close();
    feed.observe([avail('d1')]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual([]);
  });
});
