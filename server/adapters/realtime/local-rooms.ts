import { performance } from 'node:perf_hooks';
import type { Server } from 'socket.io';
import { liveBudget, pressure, type LocalRooms } from './fanout.ts';

/**
 * LocalRooms over a Socket.IO server: room sizes from its in-memory adapter, broadcasts to this process's
 * sockets only (every server reads every event), and a budget from the socket count and event-loop load.
 * A broadcast to a large room is cut into slices sent one event-loop turn apart, so HTTP requests get in
 * between; slices go out strictly in order, so no socket ever sees an older state after a newer one.
 */
export function socketRooms(
  io: Server,
  o: { framesPerSocket: number; busyFramesPerSocket: number; slice?: number },
): LocalRooms & { close(): void; traded(): void } {
  const slice = o.slice ?? 100;
  let elu = performance.eventLoopUtilization();
  let pressed = 0;
  let trades = 0;
  let tradeRate = 0;
  const sampler = setInterval(() => {
    const next = performance.eventLoopUtilization();
    const utilisation = performance.eventLoopUtilization(next, elu).utilization;
    elu = next;
    tradeRate = 0.5 * tradeRate + 0.5 * trades * 4; // per second, smoothed over ~½ s
    trades = 0;
    pressed = pressure(utilisation, tradeRate);
  }, 250);
  sampler.unref();

  const queue: { to: string[]; event: string; payload: unknown }[] = [];
  let pumping = false;
  const pump = () => {
    const job = queue.shift();
    if (job) io.local.to(job.to).emit(job.event, job.payload);
    if (queue.length > 0) setImmediate(pump);
    else pumping = false;
  };

  return {
    size: (room) => io.sockets.adapter.rooms.get(room)?.size ?? 0,
    budgetPerSec: () => liveBudget(io.sockets.sockets.size, pressed, { framesPerSocket: o.framesPerSocket, busyFramesPerSocket: o.busyFramesPerSocket, floor: 1000 }),
    emit(to, event, payload) {
      let total = 0;
      for (const r of to) total += io.sockets.adapter.rooms.get(r)?.size ?? 0;
      if (total <= slice && !pumping) {
        io.local.to(to).emit(event, payload);
        return;
      }
      // the sockets in any of the rooms, once each, in slices addressed by socket id (every socket's own room)
      const ids = new Set<string>();
      for (const r of to) for (const id of io.sockets.adapter.rooms.get(r) ?? []) ids.add(id);
      const all = [...ids];
      for (let i = 0; i < all.length; i += slice) queue.push({ to: all.slice(i, i + slice), event, payload });
      if (!pumping) {
        pumping = true;
        pump();
      }
    },
    close: () => clearInterval(sampler),
    /** Counts one trading request (hold, bid, confirmation…) for the pressure. */
    traded: () => void trades++,
  };
}
