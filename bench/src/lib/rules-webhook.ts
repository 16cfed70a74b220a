/**
 * The rules benchmark's webhook receiver: a local HTTP server that verifies
 * each notification's HMAC-SHA256 signature (docs/notifications.md) and
 * notes when the firing of each device's alert arrived.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertNotification } from '@iot-hub/protocol';

export interface RulesWebhook {
  url: string;
  /** Arrival time of the first firing notification listing each device. */
  readonly firedAt: Map<string, number>;
  readonly counts: { requests: number; badSignature: number; firing: number; resolved: number };
  setSecret(secret: string): void;
  close(): Promise<void>;
}

export async function startRulesWebhook(): Promise<RulesWebhook> {
  let secret = '';
  const firedAt = new Map<string, number>();
  const counts = { requests: 0, badSignature: 0, firing: 0, resolved: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('error', () => res.destroy());
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // Stamped before the signature check and parse: the hub's latency, not this receiver's.
      const at = Date.now();
      const body = Buffer.concat(chunks);
      counts.requests += 1;
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
      const got = Buffer.from(String(req.headers['x-hub-signature-256'] ?? ''));
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        counts.badSignature += 1;
        res.writeHead(401).end();
        return;
      }
      const n = JSON.parse(body.toString('utf8')) as AlertNotification;
      if (n.state === 'firing') {
        counts.firing += 1;
        for (const a of n.alerts) if (!firedAt.has(a.deviceId)) firedAt.set(a.deviceId, at);
      } else counts.resolved += 1;
      res.writeHead(204).end();
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bench/alerts`,
    firedAt,
    counts,
    setSecret: (s) => {
      secret = s;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
