import { io, type Socket } from 'socket.io-client';

/** A new websocket-only Socket.IO client (no reconnection) signed in by cookie or API key; not yet awaited. */
export function openSocket(url: string, auth: { cookie?: string; token?: string }): Socket {
  return io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 5000,
    ...(auth.cookie ? { extraHeaders: { cookie: auth.cookie } } : {}),
    ...(auth.token ? { auth: { token: auth.token } } : {}),
  });
}

/** A Socket.IO client that records every event it receives. */
export async function connectLive(url: string, auth: { cookie?: string; token?: string }): Promise<{ socket: Socket; events: { event: string; payload: any }[] }> {
  const socket = openSocket(url, auth);
  const events: { event: string; payload: any }[] = [];
  socket.onAny((event, payload) => events.push({ event, payload }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return { socket, events };
}

export async function subscribe(socket: Socket, target: Record<string, string>): Promise<{ ok: boolean; error?: string }> {
  return socket.timeout(5000).emitWithAck('subscribe', target);
}
