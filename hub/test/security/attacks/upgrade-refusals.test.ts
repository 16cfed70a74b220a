/**
 * Issue 18 item 1: every WebSocket upgrade the hub refuses (unknown path,
 * Upgrade on an API route, bad device credentials, dashboard without
 * credentials, foreign Origin, connection cap, per-address rate), with the
 * client resetting (RST) or closing (FIN) instead of reading the answer,
 * many times, against the hub running as a process. It must stay up and
 * keep serving /healthz and MQTT.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { ProvisionResponse } from '@iot-hub/protocol';
import { spawnHub, type HubProcess } from '../../helpers/hub-process.js';
import { RUDE_CLOSES, sendAndLeave, statusOf, upgradeRequest } from '../../helpers/raw-http.js';

const ADMIN = 'attack-admin-token-0123456789';
const ROUNDS = 5;

async function startHub(t: Test, extra: string[] = []): Promise<HubProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'iot-hub-attack-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  return spawnHub(t, ['--data-dir', dataDir, '--admin-token', ADMIN, ...extra]);
}

async function provision(hub: HubProcess, id: string): Promise<ProvisionResponse> {
  const res = await fetch(`http://127.0.0.1:${hub.httpPort}/api/devices`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id, kind: 'sensor' }),
  });
  if (res.status !== 201) throw new Error(`provision ${id}: ${res.status}`);
  return (await res.json()) as ProvisionResponse;
}

async function mqttConnects(hub: HubProcess, device: ProvisionResponse): Promise<boolean> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${hub.mqttPort}`, { clientId: device.id, username: device.id, password: device.token, reconnectPeriod: 0, connectTimeout: 5000 });
  try {
    return await new Promise<boolean>((resolve) => {
      client.once('connect', () => resolve(true));
      client.once('error', () => resolve(false));
      client.once('close', () => resolve(false));
    });
  } finally {
    await client.endAsync(true);
  }
}

/** Every refusal path × every rude close, ROUNDS times; returns the statuses seen when an answer was read. */
async function hammer(t: Test, hub: HubProcess, paths: Record<string, [string, Record<string, string>]>): Promise<Record<string, Set<number>>> {
  const seen: Record<string, Set<number>> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, [path, headers]] of Object.entries(paths)) {
      await Promise.all(
        RUDE_CLOSES.map(async (how) => {
          const status = statusOf(await sendAndLeave(t, hub.httpPort, upgradeRequest(path, headers), how));
          if (status !== null) (seen[name] ??= new Set()).add(status);
        }),
      );
    }
  }
  return seen;
}

async function assertServing(t: Test, hub: HubProcess, device: ProvisionResponse): Promise<void> {
  t.equal(hub.child.exitCode, null, `still running (stderr: ${hub.stderr().slice(-400)})`);
  t.equal((await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`)).status, 200, '/healthz answers');
  t.ok(await mqttConnects(hub, device), 'a device still connects over MQTT');
  const metrics = await (await fetch(`http://127.0.0.1:${hub.httpPort}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
  t.match(metrics, /^iot_hub_uncaught_errors_total\{kind="uncaught_exception"\} 0$/m, 'nothing reached the process guard either');
}

t.test('refused upgrades closed with RST or FIN do not stop the hub: 404, 401, 403', async (t) => {
  const hub = await startHub(t);
  const device = await provision(hub, 'survivor');
  const wrongBasic = 'Basic ' + Buffer.from(`${device.id}:wrong-token`).toString('base64');
  const seen = await hammer(t, hub, {
    'unknown path': ['/nope', {}],
    'Upgrade on an API route': ['/api/devices', {}],
    'device, wrong credentials': ['/ws/device', { Authorization: wrongBasic }],
    'device, malformed credentials': ['/ws/device', { Authorization: 'Basic !!!' }],
    'dashboard, no credentials': ['/ws/dashboard', {}],
    'dashboard, foreign origin': ['/ws/dashboard', { Origin: 'https://evil.example' }],
  });
  t.same(
    Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, [...v]])),
    {
      'unknown path': [404],
      'Upgrade on an API route': [404],
      'device, wrong credentials': [401],
      'device, malformed credentials': [401],
      'dashboard, no credentials': [401],
      'dashboard, foreign origin': [403],
    },
    'each path answers its refusal to a client that reads it',
  );
  await assertServing(t, hub, device);
});

t.test('upgrades refused by the connection guard (503 at the cap, 429 over the rate) closed rudely do not stop the hub', async (t) => {
  const atCap = await startHub(t, ['--max-connections', '1']);
  const [holder, other] = [await provision(atCap, 'holder'), await provision(atCap, 'other')];
  const held = mqtt.connect(`mqtt://127.0.0.1:${atCap.mqttPort}`, { clientId: holder.id, username: holder.id, password: holder.token, reconnectPeriod: 0 });
  t.teardown(() => held.endAsync(true));
  await new Promise((r) => held.once('connect', r));
  const basic = 'Basic ' + Buffer.from(`${other.id}:${other.token}`).toString('base64');
  const capSeen = await hammer(t, atCap, { 'device at the cap': ['/ws/device', { Authorization: basic }] });
  t.same([...(capSeen['device at the cap'] ?? [])], [503]);
  await held.endAsync(true);
  await assertServing(t, atCap, holder);

  const overRate = await startHub(t, ['--ip-connect-rate', '1', '--ip-connect-burst', '1']);
  const device = await provision(overRate, 'rated');
  const rateSeen = await hammer(t, overRate, { 'device over the rate': ['/ws/device', { Authorization: 'Basic ' + Buffer.from(`${device.id}:${device.token}`).toString('base64') }] });
  t.ok(rateSeen['device over the rate']?.has(429), '429 seen');
  await new Promise((r) => setTimeout(r, 1100));
  await assertServing(t, overRate, device);
});
