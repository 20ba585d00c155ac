import { describe, expect, it, vi } from 'vitest';
import { ConflatedSink } from '../../server/adapters/realtime/conflate.ts';
import type { LiveEvent } from '../../server/adapters/realtime/events.ts';

/** Live ladders leave the process conflated: at once when quiet, the newest state at the end of a busy window. */
const ev = (key: string | undefined, n: number): LiveEvent => ({ rooms: ['r'], event: 'listing:update', payload: { n }, ...(key ? { coalesceKey: key } : {}) });

function harness() {
  let now = 1_000;
  const sent: LiveEvent[][] = [];
  const sink = new ConflatedSink({ emit: async (e) => void sent.push(e) }, 50, () => now);
  return { sink, sent, advance: (ms: number) => (now += ms), payloads: () => sent.flat().map((e) => (e.payload as { n: number }).n) };
}

describe('ConflatedSink', () => {
  it('sends a state at once when its key was quiet, and only the newest of a busy window after it', async () => {
    const h = harness();
    await h.sink.emit([ev('listing:a', 1)]);
    expect(h.payloads()).toEqual([1]);
    await h.sink.emit([ev('listing:a', 2)]);
    await h.sink.emit([ev('listing:a', 3)]);
    expect(h.payloads()).toEqual([1]); // within the window: waiting, 2 superseded by 3
    h.advance(50);
    await h.sink.flush();
    expect(h.payloads()).toEqual([1, 3]);
    // the window restarts with that send: a state right after waits again; after a quiet window it goes at once
    await h.sink.emit([ev('listing:a', 4)]);
    expect(h.payloads()).toEqual([1, 3]);
    await h.sink.flush();
    expect(h.payloads()).toEqual([1, 3, 4]);
    h.advance(60);
    await h.sink.emit([ev('listing:a', 5)]);
    expect(h.payloads()).toEqual([1, 3, 4, 5]);
  });

  it('never delays events without a key, nor other keys', async () => {
    const h = harness();
    await h.sink.emit([ev('listing:a', 1)]);
    await h.sink.emit([ev('listing:a', 2), ev(undefined, 10), ev('listing:b', 20)]);
    expect(h.payloads()).toEqual([1, 10, 20]);
    await h.sink.flush();
    expect(h.payloads()).toEqual([1, 10, 20, 2]);
  });

  it('always ends on the newest state: the waiting one goes out by itself when the window ends', async () => {
    const h = harness();
    const real = new ConflatedSink({ emit: async (e) => void h.sent.push(e) }, 20);
    await real.emit([ev('k', 1)]);
    await real.emit([ev('k', 2)]);
    await real.emit([ev('k', 3)]);
    expect(h.payloads()).toEqual([1]);
    await vi.waitFor(() => expect(h.payloads()).toEqual([1, 3]), { timeout: 5000 });
  });
});
