import { describe, expect, it } from 'vitest';
import { outboxJobs } from '../../server/adapters/db/outbox.ts';
import { SETTLE_BATCH } from '../../server/adapters/queue/jobs.ts';

const settleRow = (id: number, delay = 0) => ({ id, job_name: 'booking.settle', job_id: `booking.settle-b${id}`, data: { bookingId: `b${id}` }, delay_ms: delay });

/** What the outbox drain makes of pending rows: settlements due now travel together, everything else one job per row. */
describe('outboxJobs', () => {
  it('carries booking.settle rows due now in bookings.settle jobs of at most SETTLE_BATCH, other rows one job each', () => {
    const rows = [
      ...Array.from({ length: SETTLE_BATCH + 10 }, (_, i) => settleRow(i + 1)),
      { id: 9001, job_name: 'auction.close', job_id: 'auction.close-x-1', data: { listingId: 'x' }, delay_ms: 5000 },
      { id: 9002, job_name: 'booking.refund', job_id: 'booking.refund-b1', data: { bookingId: 'b1' }, delay_ms: 0 },
      settleRow(9003, 1500), // a delayed settlement (none are today) keeps its own job and delay
      { id: 9004, job_name: 'booking.settle', job_id: 'booking.settle-bad', data: {}, delay_ms: 0 }, // malformed: alone
    ];
    const items = outboxJobs(rows);
    const batches = items.filter((it) => it.job.name === 'bookings.settle');
    expect(batches.map((b) => (b.job.data as { bookingIds: string[] }).bookingIds.length)).toEqual([SETTLE_BATCH, 10]);
    expect(batches[0]!.rowIds).toEqual(Array.from({ length: SETTLE_BATCH }, (_, i) => i + 1));
    expect((batches[1]!.job.data as { bookingIds: string[] }).bookingIds).toEqual(Array.from({ length: 10 }, (_, i) => `b${SETTLE_BATCH + i + 1}`));
    const singles = items.filter((it) => it.job.name !== 'bookings.settle');
    expect(singles.map((s) => [s.job.opts.jobId, s.job.opts.delay, s.rowIds])).toEqual([
      ['auction.close-x-1', 5000, [9001]],
      ['booking.refund-b1', 0, [9002]],
      ['booking.settle-b9003', 1500, [9003]],
      ['booking.settle-bad', 0, [9004]],
    ]);
    // every row is carried by exactly one job
    expect(items.flatMap((it) => it.rowIds).sort((a, b) => a - b)).toEqual(rows.map((r) => r.id).sort((a, b) => a - b));
  });

  it('a batch job id names exactly its bookings: the same rows give the same id, a different set never does', () => {
    const id = (ids: number[]) => outboxJobs(ids.map((i) => settleRow(i)))[0]!.job.opts.jobId;
    expect(id([1, 2, 3])).toBe(id([1, 2, 3]));
    expect(id([1, 2, 3])).not.toBe(id([1, 2, 4])); // same first row and count, one row differs (another drain skipped row 3)
    expect(id([1, 2, 3])).not.toBe(id([1, 2]));
    expect(id([1, 2, 3])).toMatch(/^bookings\.settle-3-[0-9a-f]{32}$/); // BullMQ forbids ':' in custom ids
    // outbox row ids handed out again (a restored database, a reset sequence) carrying other bookings: another id
    const other = outboxJobs([1, 2, 3].map((i) => ({ ...settleRow(i), data: { bookingId: `other-${i}` } })))[0]!.job.opts.jobId;
    expect(other).not.toBe(id([1, 2, 3]));
  });
});
