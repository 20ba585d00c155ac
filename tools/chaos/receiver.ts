// The chaos run's webhook receiver: a real HTTP server on 127.0.0.1 that records every delivery (raw body,
// headers) and answers 500 to a seeded share of them, so the workers' retries are exercised too.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from '../../server/core/rng.ts';

export interface Delivery {
  eventId: string;
  type: string;
  signature: string;
  body: string;
  status: number;
}

export class WebhookReceiver {
  readonly got: Delivery[] = [];
  private server: Server | null = null;
  url = '';

  constructor(
    /** Share of deliveries answered 500 (retried by the workers). */
    private readonly failShare: number,
    seed: number,
    private readonly rng = prng(seed + 77),
  ) {}

  async start() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const status = this.rng.next() < this.failShare ? 500 : 200;
        this.got.push({
          eventId: String(req.headers['cx-event-id'] ?? ''),
          type: String(req.headers['cx-event-type'] ?? ''),
          signature: String(req.headers['cx-signature'] ?? ''),
          body: Buffer.concat(chunks).toString('utf8'),
          status,
        });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'chaos says no');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/chaos-hook`;
  }

  async close() {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** The README's verification: any `v1` of `t=<unix>,v1=<hex>` equal to HMAC-SHA256(secret, t + "." + body). */
export function validSignature(secret: string, header: string, body: string): boolean {
  const parts = header.split(',').map((p) => p.split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isFinite(t)) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return parts.filter(([k]) => k === 'v1').some(([, v]) => v?.length === 64 && timingSafeEqual(Buffer.from(v, 'hex'), expected));
}
