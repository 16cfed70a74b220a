/**
 * Device credentials: rotating a token returns a new one once and kills the
 * old one, revoking refuses every token until the next rotation, and either
 * cuts the device's live connection at once, on MQTT and WebSocket alike.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WS_CLOSE, type DeviceView } from '@iot-hub/protocol';
import { collectMessages, connectMqtt, deviceSocket, mqttClosed, upgradeStatus } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { hashToken } from '../../src/auth/tokens.js';
import { REGISTRY_SCHEMA_VERSION } from '../../src/registry/sqlite-registry-store.js';

/** The hub cuts the device off while answering the request; a second is the promise. */
const CUT_OFF_MS = 1000;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function connackCode(t: Parameters<typeof connectMqtt>[0], hub: TestHub, id: string, token: string): Promise<number | 'connected'> {
  try {
    await connectMqtt(t, hub, id, token);
    return 'connected';
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

t.test('rotating a token returns a new one once, refuses the old one and cuts the MQTT device off', async (t) => {
  const hub = await startTestHub(t);
  const { id, token: oldToken } = await hub.provision('rot-1');
  const device = await connectMqtt(t, hub, id, oldToken);
  const inbox = collectMessages(device);
  await device.subscribeAsync(`devices/${id}/errors`, { qos: 0 });
  const closed = mqttClosed(device);

  const res = await hub.api('POST', `/api/devices/${id}/token`);
  t.equal(res.status, 200);
  const body = res.body as { id: string; token: string; issuedAt: number };
  t.match(body, { id, token: /^[A-Za-z0-9_-]{43}$/, issuedAt: Number });
  t.not(body.token, oldToken, 'a new token');
  await within(closed, CUT_OFF_MS, 'the disconnect');
  t.match(inbox.find((m) => m.topic === `devices/${id}/errors`)?.payload, { error: 'unauthorized', code: 401, message: /token was rotated/ }, 'told why');

  t.equal(await connackCode(t, hub, id, oldToken), 4, 'the old token no longer works');
  const again = await connectMqtt(t, hub, id, body.token);
  await again.publishAsync(`devices/${id}/telemetry`, '{"metrics":{"x":1}}', { qos: 1 });
  t.equal(((await hub.api('GET', `/api/devices/${id}`)).body as DeviceView).latest.x?.value, 1, 'the new token works');
  t.notOk(JSON.stringify((await hub.api('GET', `/api/devices/${id}`)).body).includes(body.token), 'the token is not in the device view');
});

t.test('revoking refuses every token until the next rotation and cuts the WS device off with 4401', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('rev-1');
  const device = await deviceSocket(t, hub, id, token);
  await device.next((f) => f.type === 'welcome');

  const res = await hub.api('POST', `/api/devices/${id}/revoke`);
  t.equal(res.status, 200);
  t.match(res.body, { id, revokedAt: Number });
  t.equal((await within(device.closed, CUT_OFF_MS, 'the close')).code, WS_CLOSE.unauthorized);
  t.match(await device.next((f) => f.type === 'error'), { error: 'unauthorized', code: 401, message: /token was revoked/ });

  t.equal(await upgradeStatus(deviceSocket(t, hub, id, token)), 401, 'WS refused');
  t.equal(await connackCode(t, hub, id, token), 4, 'MQTT refused');
  const twice = await hub.api('POST', `/api/devices/${id}/revoke`);
  t.same(twice.body, res.body, 'revoking again changes nothing');

  const rotated = (await hub.api('POST', `/api/devices/${id}/token`)).body as { token: string };
  t.equal(await connackCode(t, hub, id, token), 4, 'the revoked token stays dead');
  const back = await deviceSocket(t, hub, id, rotated.token);
  await back.next((f) => f.type === 'welcome');
  t.pass('a rotation ends the revocation');

  const audit = (await hub.api('GET', `/api/audit?deviceId=${id}`)).body as { entries: { action: string; actor: string; outcome: string }[] };
  t.same(
    audit.entries.map((e) => [e.action, e.actor, e.outcome]),
    [['device.token.rotate', 'admin', 'ok'], ['device.token.revoke', 'admin', 'ok'], ['device.token.revoke', 'admin', 'ok'], ['device.create', 'admin', 'ok']],
    'rotations and revocations are audited',
  );
});

t.test('a device deleted while connected over WebSocket is cut off with 4401', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('del-ws');
  const device = await deviceSocket(t, hub, id, token);
  await device.next((f) => f.type === 'welcome');
  t.equal((await hub.api('DELETE', `/api/devices/${id}`)).status, 204);
  t.equal((await within(device.closed, CUT_OFF_MS, 'the close')).code, WS_CLOSE.unauthorized);
  t.equal(await upgradeStatus(deviceSocket(t, hub, id, token)), 401);
});

t.test('the credential routes need the admin token and a known device', async (t) => {
  const hub = await startTestHub(t);
  const { id } = await hub.provision('known');
  for (const action of ['token', 'revoke']) {
    t.match(await hub.api('POST', `/api/devices/nobody/${action}`), { status: 404, body: { error: 'not_found', message: /no device "nobody"/ } }, action);
    const anonymous = await fetch(`${hub.httpUrl}/api/devices/${id}/${action}`, { method: 'POST' });
    t.equal(anonymous.status, 401, `${action} without the admin token`);
  }
});

t.test('rotations and revocations survive a restart', async (t) => {
  const hub = await startTestHub(t);
  const a = await hub.provision('keep-a');
  const b = await hub.provision('keep-b');
  const rotated = (await hub.api('POST', `/api/devices/${a.id}/token`)).body as { token: string };
  await hub.api('POST', `/api/devices/${b.id}/revoke`);
  const after = await hub.restart();
  t.equal(await connackCode(t, after, a.id, a.token), 4, 'the old token of a is still dead');
  t.equal(await connackCode(t, after, a.id, rotated.token), 'connected', 'the rotated token of a works');
  t.equal(await connackCode(t, after, b.id, b.token), 4, 'b is still revoked');
});

t.test('a registry.db from before token rotation is migrated in place', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const token = 'old-device-token-from-the-first-schema';
  const db = new Database(join(dir, 'registry.db'));
  // The schema as the first hub version created it (user_version 0).
  db.exec(`CREATE TABLE devices (id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, token_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL, capabilities TEXT, last_seen INTEGER, last_transport TEXT)`);
  db.prepare('INSERT INTO devices VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL)').run('legacy', 'sensor', 'Legacy', hashToken(token), 1_700_000_000_000);
  db.close();

  const hub = await startTestHub(t, {}, dir);
  t.equal(await connackCode(t, hub, 'legacy', token), 'connected', 'its token still works');
  const rotated = (await hub.api('POST', '/api/devices/legacy/token')).body as { token: string };
  t.equal(await connackCode(t, hub, 'legacy', rotated.token), 'connected');
  await hub.stop();

  const check = new Database(join(dir, 'registry.db'), { readonly: true });
  t.teardown(() => check.close());
  t.equal(check.pragma('user_version', { simple: true }), REGISTRY_SCHEMA_VERSION, 'migrated to the latest schema version');
  const row = check.prepare('SELECT token_hash, token_issued_at, token_revoked_at FROM devices').get() as Record<string, unknown>;
  t.match(row, { token_hash: hashToken(rotated.token), token_issued_at: Number, token_revoked_at: null });
});
