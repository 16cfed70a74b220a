/**
 * Child process entry (forked by idle-client-process.ts): holds the device
 * connections of the conns and storm benchmarks, so that the server's RSS
 * and CPU in /proc are its own and the clients' are measured apart.
 *
 * The parent sends one request at a time over IPC and gets one answer:
 *   wave   → open a connection per device, at most `concurrency` handshakes
 *            at once, as fast as they complete; answers with counts and times
 *   status → how many are still held, and how many the server closed
 *   drop   → destroys every connection without a goodbye (a network blip)
 * and `progress` messages once a second during a wave.
 */
import { LatencyRecorder } from '@iot-hub/device-sim';
import { IdleMqttConnection, type IdleMqttEvents } from './idle-mqtt.js';
import { IdleWsConnection } from './idle-ws.js';
import type { ClientRequest, ClientReply, WaveRequest, WaveResult } from './idle-client-process.js';

/** The hello of an idle sensor [FP-4.1]: the longest heartbeat, so the hub keeps it while the benchmark waits. */
const HELLO_MQTT = JSON.stringify({ kind: 'idle-sensor', fw: '1.0.0', heartbeatSec: 3600, metrics: { temperature: { type: 'number', unit: '°C' } } });
const HELLO_WS = JSON.stringify({ type: 'hello', mid: 1, ...(JSON.parse(HELLO_MQTT) as object) });

type Connection = IdleMqttConnection | IdleWsConnection;

let held: Connection[] = [];
let lost = 0;
let pinger: NodeJS.Timeout | undefined;

function reply(message: ClientReply): void {
  process.send?.(message);
}

async function runWave(request: WaveRequest): Promise<WaveResult> {
  const connectLatency = new LatencyRecorder();
  const readyLatency = new LatencyRecorder();
  const failed: Record<string, number> = {};
  const counts = { accepted: 0, ready: 0, failed: 0 };
  const startedAt = Date.now();
  let firstAcceptedAt: number | null = null;
  let lastAcceptedAt: number | null = null;
  let lastReadyAt: number | null = null;
  const url = new URL(request.url);
  const cpuStart = process.cpuUsage();

  const progress = setInterval(() => reply({ op: 'progress', ...counts }), 1000);
  let next = 0;
  const openOne = (device: { id: string; token: string }): Promise<void> =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      let settled = false;
      // One deadline per connection: a refused or stuck handshake frees its slot.
      const timer = setTimeout(() => {
        connection.destroy();
        finish('timeout');
      }, request.timeoutMs);
      const finish = (reason?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (reason !== undefined) {
          counts.failed++;
          failed[reason] = (failed[reason] ?? 0) + 1;
        }
        resolve();
      };
      const events: IdleMqttEvents = {
        accepted: () => {
          const now = Date.now();
          firstAcceptedAt ??= now;
          lastAcceptedAt = now;
          counts.accepted++;
          connectLatency.record(performance.now() - t0);
        },
        ready: () => {
          lastReadyAt = Date.now();
          counts.ready++;
          readyLatency.record(performance.now() - t0);
          held.push(connection);
          finish();
        },
        failed: (reason) => finish(reason),
        lost: () => {
          lost++;
        },
      };
      const connection: Connection =
        request.transport === 'mqtt'
          ? new IdleMqttConnection(
              { host: url.hostname, port: Number(url.port || 1883), id: device.id, token: device.token, keepaliveSec: request.keepaliveSec, handshake: request.handshake, hello: HELLO_MQTT },
              events,
            )
          : new IdleWsConnection({ url: request.url, id: device.id, token: device.token, handshake: request.handshake, hello: HELLO_WS, helloAsBinary: request.helloAsBinary ?? false }, events);
    });
  const worker = async (): Promise<void> => {
    while (next < request.devices.length) await openOne(request.devices[next++] as { id: string; token: string });
  };
  await Promise.all(Array.from({ length: Math.min(request.concurrency, request.devices.length) }, worker));
  clearInterval(progress);
  const cpu = process.cpuUsage(cpuStart);
  const endedAt = Date.now();
  if (request.transport === 'mqtt' && pinger === undefined) {
    // The broker drops a client silent for 1.5 × keep alive [MQTT-3.1.2-24].
    pinger = setInterval(() => held.forEach((c) => c.ping()), (request.keepaliveSec * 1000) / 2);
  }
  return {
    op: 'wave-done',
    attempted: request.devices.length,
    ...counts,
    failedBy: failed,
    startedAt,
    firstAcceptedAt,
    lastAcceptedAt,
    lastReadyAt,
    endedAt,
    connectLatencyMs: connectLatency.summary(),
    readyLatencyMs: readyLatency.summary(),
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

function drop(): number {
  const n = held.length;
  for (const c of held) c.destroy();
  held = [];
  clearInterval(pinger);
  pinger = undefined;
  return n;
}

process.on('message', (message: ClientRequest) => {
  void (async () => {
    try {
      if (message.op === 'wave') reply(await runWave(message));
      else if (message.op === 'status') reply({ op: 'status', held: held.filter((c) => c.ready).length, lost });
      else if (message.op === 'drop') reply({ op: 'dropped', count: drop() });
    } catch (err) {
      reply({ op: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});

// The parent going away (even killed) ends the clients too: nothing outlives a benchmark.
process.on('disconnect', () => {
  drop();
  process.exit(0);
});
