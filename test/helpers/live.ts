import { io, type Socket } from 'socket.io-client';

/** A Socket.IO client that records every event it receives. */
export async function connectLive(url: string, auth: { cookie?: string; token?: string }): Promise<{ socket: Socket; events: { event: string; payload: any }[] }> {
  const socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    ...(auth.cookie ? { extraHeaders: { cookie: auth.cookie } } : {}),
    ...(auth.token ? { auth: { token: auth.token } } : {}),
  });
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
