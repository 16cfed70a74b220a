/**
 * `npm run demo` as users run it (`node demo/dist/demo.js`): the hub and the
 * simulated home start in one process, the printed dashboard URL carries a
 * working admin token, the home's devices are online over both transports,
 * the built dashboard is served, and SIGTERM stops everything with exit 0.
 * A restart keeps the same devices (their tokens are saved in the data dir).
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DeviceListResponse } from '@iot-hub/protocol';
import { planFleet } from '@iot-hub/device-sim';

const DEMO = resolve(import.meta.dirname, '../dist/demo.js');
// The demo's home, as demo.ts plans it.
const HOME_IDS = planFleet({ devices: 10, transport: 'mixed', idPrefix: 'home-', seed: 42 }).map((d) => d.id).sort();

interface Demo {
  port: number;
  token: string;
  banner: string;
  exited: Promise<number | null>;
  kill(): void;
}

/** Starts the demo on free ports and resolves once it printed its banner. */
async function startDemo(t: Test, dataDir: string): Promise<Demo> {
  const child = spawn(process.execPath, [DEMO, '--http-port', '0', '--mqtt-port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const banner = await new Promise<string>((resolveBanner, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('Press Ctrl-C to stop.')) resolveBanner(stdout);
    });
    void exited.then((code) => reject(new Error(`the demo exited early with ${code}: ${stderr}`)));
  });
  const url = /Dashboard: {3}http:\/\/localhost:(\d+)\/#token=(\S+)\n/.exec(banner);
  if (!url) throw new Error(`no dashboard URL in: ${banner}`);
  return { port: Number(url[1]), token: url[2] as string, banner, exited, kill: () => child.kill('SIGTERM') };
}

async function devices(demo: Demo): Promise<DeviceListResponse['devices']> {
  const res = await fetch(`http://127.0.0.1:${demo.port}/api/devices`, { headers: { authorization: `Bearer ${demo.token}` } });
  if (res.status !== 200) throw new Error(`GET /api/devices: ${res.status}`);
  return ((await res.json()) as DeviceListResponse).devices;
}

t.test('the demo prints a working dashboard URL, runs the simulated home, and stops on SIGTERM', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'iot-hub-demo-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

  const demo = await startDemo(t, dataDir);
  t.match(demo.banner, /IoT hub demo: 10 simulated devices \(MQTT and WebSocket\) are reporting\./);
  t.match(demo.banner, `data: ${dataDir}`);
  const listed = await devices(demo);
  t.same(listed.map((d) => d.id).sort(), HOME_IDS, 'the home as planned');
  t.same([...new Set(listed.map((d) => d.presence.status))], ['online'], 'every device is connected');
  t.same([...new Set(listed.map((d) => d.presence.transport))].sort(), ['mqtt', 'ws'], 'over both transports');

  const page = await fetch(`http://127.0.0.1:${demo.port}/`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/, 'the built dashboard is served (npm run build builds it)');

  demo.kill();
  t.equal(await demo.exited, 0, 'SIGTERM stops the home and the hub cleanly');

  const again = await startDemo(t, dataDir);
  const relisted = await devices(again);
  t.same(relisted.map((d) => d.id).sort(), HOME_IDS, 'the same devices after a restart, no leftovers');
  t.same([...new Set(relisted.map((d) => d.presence.status))], ['online'], 'reconnected with their saved tokens');
  again.kill();
  t.equal(await again.exited, 0);
});
