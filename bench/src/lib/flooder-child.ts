/**
 * Child entry of the overload flooder (see flooder.ts): N raw TCP MQTT
 * connections that, once told to, write pre-encoded QoS 0 PUBLISH packets as
 * fast as each socket takes them, with no flow control: a new chunk goes out
 * as soon as the previous one was handed to the kernel ('drain'). Whether
 * they can write depends only on the server reading: a server that stops
 * reading fills the kernel buffers and the writes block.
 *
 * Its own process, so the flood does not take the bench process's event
 * loop (the probes that time the server run there). Talks over the IPC
 * channel: FloodCommand in, FloodReport out.
 */
import { connect, type Socket } from 'node:net';
import { CONNACK, encodeConnect, encodePublishQos0, encodeSubscribe, repeat } from './mqtt-wire.js';

export interface FloodSetup {
  host: string;
  port: number;
  devices: readonly { id: string; token: string }[];
  payload: string;
  /** Bytes per write: whole packets, about this many bytes. */
  chunkBytes: number;
  /** Also open one raw subscriber to this filter that reads and discards everything. */
  subscribeFilter: string | null;
}

export type FloodCommand = { cmd: 'setup'; setup: FloodSetup } | { cmd: 'flood' } | { cmd: 'stats' } | { cmd: 'disconnect' };

export interface FloodStats {
  /** Bytes whose write completed (handed to the kernel), over all publishers. */
  flushedBytes: number;
  /** Publishers still connected. */
  open: number;
  /** Publisher connections that ended while flooding (closed or errored by the server). */
  closedByServer: number;
  /** Bytes handed to the kernel by publishers that the server closed: what it had not read of them was discarded. */
  flushedByClosed: number;
  /** Bytes the subscriber received. */
  subscriberBytes: number;
  /** Local ports of the publishers, to find their kernel queues in /proc/net/tcp. */
  localPorts: number[];
}

export type FloodReport =
  | { type: 'ready'; connected: number; refused: string[]; packetBytes: number; stats: FloodStats }
  | { type: 'stats'; stats: FloodStats }
  | { type: 'disconnected'; stats: FloodStats };

const send = (report: FloodReport): void => void process.send?.(report);

let flushedBytes = 0;
let closedByServer = 0;
let flushedByClosed = 0;
let subscriberBytes = 0;
let flooding = false;
let disconnecting = false;
const publishers: Socket[] = [];
let subscriber: Socket | null = null;

function stats(): FloodStats {
  return {
    flushedBytes,
    open: publishers.filter((s) => !s.destroyed).length,
    closedByServer,
    flushedByClosed,
    subscriberBytes,
    localPorts: publishers.filter((s) => !s.destroyed && s.localPort !== undefined).map((s) => s.localPort as number),
  };
}

/** Connects and waits for CONNACK; resolves with the socket or the reason it was refused. */
function open(host: string, port: number, connectPacket: Buffer): Promise<Socket | string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let settled = false;
    const done = (result: Socket | string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (typeof result === 'string') socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('no CONNACK within 10 s'), 10_000);
    socket.once('error', (err) => done(err.message));
    socket.once('close', () => done('closed before CONNACK'));
    socket.once('connect', () => socket.write(connectPacket));
    socket.once('data', (data: Buffer) => {
      if (data[0] !== CONNACK << 4) return done(`expected CONNACK, got packet type ${(data[0] ?? 0) >> 4}`);
      if (data[3] !== 0) return done(`CONNACK return code ${data[3]}`);
      // Whatever the server sends later (error messages) is read and dropped:
      // only the server's reading is under test, not ours.
      socket.on('data', () => undefined);
      done(socket);
    });
  });
}

async function setup(s: FloodSetup): Promise<void> {
  const refused: string[] = [];
  const one = (id: string) => encodePublishQos0(`devices/${id}/telemetry`, s.payload);
  // 20 at a time: the server's admission limits are not what is measured.
  for (let i = 0; i < s.devices.length; i += 20) {
    const batch = s.devices.slice(i, i + 20);
    const sockets = await Promise.all(batch.map((d) => open(s.host, s.port, encodeConnect(d.id, d.id, d.token))));
    sockets.forEach((socket, j) => {
      if (typeof socket === 'string') return void refused.push(`${batch[j]?.id}: ${socket}`);
      const publish = one(batch[j]?.id as string);
      const chunk = repeat(publish, Math.max(1, Math.floor(s.chunkBytes / publish.length)));
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      let flushed = 0;
      socket.on('close', () => {
        if (disconnecting) return;
        closedByServer++;
        flushedByClosed += flushed;
      });
      const pump = (): void => {
        // As fast as the socket takes it: the next chunk once this one is in the kernel.
        while (
          flooding &&
          !socket.destroyed &&
          socket.write(chunk, (err) => {
            if (err) return;
            flushedBytes += chunk.length;
            flushed += chunk.length;
          })
        );
      };
      socket.on('drain', pump);
      (socket as Socket & { pump?: () => void }).pump = pump;
      publishers.push(socket);
    });
  }
  if (s.subscribeFilter !== null) {
    const sub = await open(s.host, s.port, encodeConnect('overload-subscriber', 'overload-subscriber', 'x'));
    if (typeof sub === 'string') refused.push(`subscriber: ${sub}`);
    else {
      subscriber = sub;
      sub.on('error', () => undefined);
      sub.on('data', (data: Buffer) => (subscriberBytes += data.length));
      sub.write(encodeSubscribe(1, s.subscribeFilter));
    }
  }
  const packetBytes = s.devices[0] ? one(s.devices[0].id).length : 0;
  send({ type: 'ready', connected: publishers.length, refused, packetBytes, stats: stats() });
}

process.on('message', (message: FloodCommand) => {
  switch (message.cmd) {
    case 'setup':
      void setup(message.setup);
      break;
    case 'flood':
      flooding = true;
      for (const s of publishers) (s as Socket & { pump?: () => void }).pump?.();
      break;
    case 'stats':
      send({ type: 'stats', stats: stats() });
      break;
    case 'disconnect': {
      // All at once, in one turn of the event loop: the moment bare aedes is known to die in.
      // With a reset, as when the devices' network drops: a plain close would first deliver
      // the megabytes still in each kernel send queue, and the server would see the
      // disconnects only once it had read them all, minutes later under push-back.
      const before = stats();
      flooding = false;
      disconnecting = true;
      for (const s of publishers) s.resetAndDestroy();
      subscriber?.destroy();
      send({ type: 'disconnected', stats: before });
      break;
    }
  }
});
process.on('disconnect', () => process.exit(0));
