import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LiveEvent } from '../../server/adapters/realtime/events.ts';
import { LadderFeed, type CommittedBook } from '../../server/services/auctions/ladder-feed.ts';

/** A book as the feed sees it: its newest seq moves when a later batch adds bids (before that batch commits). */
class FakeBook {
  seq = 0;
  renders = 0;
  committed(listingId = 'L'): CommittedBook {
    const at = this.seq;
    return {
      listingId,
      seq: at,
      currentSeq: () => this.seq,
      render: () => {
        this.renders++;
        return { rooms: [`listing:${listingId}`], event: 'listing:update', payload: { listingId, seq: this.seq } };
      },
    };
  }
}

describe('LadderFeed: conflated live ladders', () => {
  let sent: LiveEvent[];
  let reloads: string[];
  let feed: LadderFeed;
  const seqs = () => sent.map((e) => (e.payload as { seq: number }).seq);
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    reloads = [];
    const sink = { emit: async (es: LiveEvent[]) => void sent.push(...es) };
    feed = new LadderFeed(sink, async (id) => (reloads.push(id), { rooms: [], event: 'listing:update', payload: { listingId: id, seq: -1 } }), 100);
  });
  afterEach(() => vi.useRealTimers());

  it('sends the first state at once, then only the newest committed one per window, rendered once', async () => {
    const book = new FakeBook();
    for (let i = 1; i <= 20; i++) {
      book.seq = i;
      feed.committed([book.committed()]);
    }
    expect(seqs()).toEqual([1]);
    await vi.advanceTimersByTimeAsync(100);
    expect(seqs()).toEqual([1, 20]);
    expect(book.renders).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(seqs()).toEqual([1, 20]);
  });

  it('holds a state back while a later batch has the book, and sends that batch’s state when it commits', async () => {
    const book = new FakeBook();
    book.seq = 1;
    feed.committed([book.committed()]);
    book.seq = 2;
    feed.committed([book.committed()]); // waits for the window
    book.seq = 3; // a later batch adds a bid, not yet committed: its state must not leave
    await vi.advanceTimersByTimeAsync(100);
    expect(seqs()).toEqual([1]);
    feed.committed([book.committed()]); // that batch commits
    expect(seqs()).toEqual([1, 3]);
  });

  it('when that later batch fails, the stored ladder is read again and sent (timer pending or not)', async () => {
    const book = new FakeBook();
    book.seq = 1;
    feed.committed([book.committed()]);
    book.seq = 2;
    feed.committed([book.committed()]);
    book.seq = 3; // the failing batch's uncommitted bid
    await feed.failed(['L', 'other']);
    expect(reloads).toEqual(['L']);
    expect(seqs()).toEqual([1, -1]);
    await vi.advanceTimersByTimeAsync(500);
    expect(seqs()).toEqual([1, -1]); // the timer was cleared: the uncommitted state never leaves
  });

  it('a failed batch whose listing has nothing held back reads nothing', async () => {
    const book = new FakeBook();
    book.seq = 1;
    feed.committed([book.committed()]);
    await feed.failed(['L']);
    expect(reloads).toEqual([]);
  });

  it('keeps listings apart, and flush sends what waits (read again when the book moved)', async () => {
    const a = new FakeBook();
    const b = new FakeBook();
    a.seq = 1;
    b.seq = 1;
    feed.committed([a.committed('A'), b.committed('B')]);
    a.seq = 2;
    b.seq = 2;
    feed.committed([a.committed('A'), b.committed('B')]);
    b.seq = 3;
    await feed.flush();
    expect(sent.map((e) => (e.payload as { listingId: string; seq: number }))).toEqual([
      { listingId: 'A', seq: 1 },
      { listingId: 'B', seq: 1 },
      { listingId: 'A', seq: 2 },
      { listingId: 'B', seq: -1 },
    ]);
    expect(reloads).toEqual(['B']);
  });
});
