/**
 * Mosquitto 2 (Debian package `mosquitto`) as a peer broker, started by hand
 * on a free loopback port with a generated config in a temp dir, no systemd
 * and no persistence. Two variants (issue 8):
 *
 *   stock   listener, anonymous clients: Mosquitto's defaults otherwise
 *           (Nagle on, at most 1,000 queued QoS 1/2 messages per client,
 *           beyond which it drops them)
 *   tuned   plus `set_tcp_nodelay true` and `max_queued_messages 1000000`
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerProcess } from './peer.js';

export const MOSQUITTO = process.env.MOSQUITTO_PATH ?? '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  /** `set_tcp_nodelay true` and `max_queued_messages 1000000` on top of the stock config. */
  tuned: boolean;
  startTimeoutMs?: number;
}

export interface MosquittoPeer extends PeerProcess {
  /** The generated mosquitto.conf, for the report. */
  config: string;
}

/** The generated config: apart from the listener, the stock variant is Mosquitto's defaults (its log goes to stderr). */
export function mosquittoConfig(port: number, tuned: boolean): string {
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    ...(tuned ? ['set_tcp_nodelay true', 'max_queued_messages 1000000'] : []),
    '',
  ].join('\n');
}

export async function startMosquitto(options: MosquittoOptions): Promise<MosquittoPeer> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} is missing: install Mosquitto with \`sudo apt-get install mosquitto\` (or set MOSQUITTO_PATH)`);
  const name = options.tuned ? 'mosquitto (tuned)' : 'mosquitto (stock)';
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-bench-mosquitto-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  let port: number;
  try {
    port = await freePort();
  } catch (err) {
    removeDir();
    throw err;
  }
  const config = mosquittoConfig(port, options.tuned);
  const configFile = join(dir, 'mosquitto.conf');
  writeFileSync(configFile, config);

  const child = spawn(MOSQUITTO, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output = (output + chunk).slice(-2000); // only for the error message if it dies
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && !spawnError) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    removeDir();
  };

  try {
    const timeoutMs = options.startTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (spawnError) throw new Error(`${name}: cannot start ${MOSQUITTO}: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${name} exited before listening (code ${child.exitCode}, signal ${child.signalCode}): ${output.trim() || 'no output'}`);
      }
      if (await accepts(port)) break;
      if (Date.now() > deadline) throw new Error(`${name} did not accept connections on port ${port} within ${timeoutMs} ms: ${output.trim() || 'no output'}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return { name, pid: child.pid as number, url: `mqtt://127.0.0.1:${port}`, config, stop };
}

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
