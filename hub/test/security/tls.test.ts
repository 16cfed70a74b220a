/**
 * TLS: with --tls-cert and --tls-key the HTTP port serves only HTTPS and
 * WSS, and MQTT over TLS opens on --mqtts-port; TLS below 1.2 is refused.
 * Bad certificate settings stop the hub at start with one line, exit 2.
 * The test makes a throwaway self-signed pair with the openssl CLI.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import type { DeviceView, ProvisionResponse } from '@iot-hub/protocol';
import { ConfigError, loadConfig } from '@iot-hub/hub';
import { startTestHub } from '../helpers/hub.js';

const dir = mkdtempSync(join(tmpdir(), 'iot-hub-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function makePair(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}-cert.pem`);
  const key = join(dir, `${name}-key.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

const pair = makePair('hub');
const other = makePair('other');
const ca = readFileSync(pair.cert);

t.test('bad TLS settings are one ConfigError naming the setting', async (t) => {
  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  const aDir = join(dir, 'a-directory.pem');
  mkdirSync(aDir, { recursive: true });
  const cases: [string[], RegExp][] = [
    [['--tls-cert', join(dir, 'missing.pem'), '--tls-key', pair.key], /^invalid configuration: --tls-cert: cannot read ".*missing\.pem" \(ENOENT\)$/],
    [['--tls-cert', aDir, '--tls-key', pair.key], /^invalid configuration: --tls-cert: cannot read ".*a-directory\.pem" \(EISDIR\)$/],
    [['--tls-cert', garbage, '--tls-key', pair.key], /^invalid configuration: --tls-cert: ".*garbage\.pem" is not a PEM certificate$/],
    [['--tls-cert', pair.cert, '--tls-key', garbage], /^invalid configuration: --tls-key: ".*garbage\.pem" is not a PEM private key/],
    [['--tls-cert', pair.cert, '--tls-key', pair.cert], /^invalid configuration: --tls-key: .* is not a PEM private key/],
    [['--tls-cert', pair.cert], /^invalid configuration: --tls-key: required with --tls-cert/],
    [['--tls-key', pair.key], /^invalid configuration: --tls-cert: required with --tls-key/],
    [['--tls-cert', pair.cert, '--tls-key', other.key], /^invalid configuration: --tls-key: ".*other-key\.pem" is not the private key of the certificate in ".*hub-cert\.pem"$/],
    [['--tls-cert', pair.cert, '--tls-key', pair.key, '--mqtt-port', '8883'], /^invalid configuration: --mqtts-port: 8883 is also --mqtt-port/],
  ];
  for (const [argv, message] of cases) {
    t.throws(() => loadConfig(argv, {}), ConfigError);
    t.throws(() => loadConfig(argv, {}), { message }, argv.join(' '));
  }
  const env = loadConfig([], { HUB_TLS_CERT: pair.cert, HUB_TLS_KEY: pair.key }).config;
  t.match(env, { tlsCert: pair.cert, tlsKey: pair.key, mqttsPort: 8883 }, 'a good pair from the environment');
});

t.test('the CLI stops with one line and exit code 2 on an unreadable certificate', async (t) => {
  const main = resolve(import.meta.dirname, '../../dist/main.js');
  const run = spawnSync(process.execPath, [main, '--tls-cert', join(dir, 'nope.pem'), '--tls-key', pair.key], { encoding: 'utf8' });
  t.equal(run.status, 2);
  t.match(run.stderr, /^invalid configuration: --tls-cert: cannot read ".*nope\.pem" \(ENOENT\)\n$/);
});

/** Tries a TLS 1.1 handshake; ciphers at security level 0 so that the client itself can speak 1.1. */
function tls11(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0', rejectUnauthorized: false }, () => {
      resolve(`connected with ${socket.getProtocol()}`);
      socket.destroy();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

t.test('HTTPS, WSS and MQTT over TLS with the configured certificate; TLS 1.1 refused', async (t) => {
  const hub = await startTestHub(t, { tlsCert: pair.cert, tlsKey: pair.key, mqttsPort: 0 });
  const { httpPort, mqttsPort } = hub.hub;
  t.ok(mqttsPort !== null && mqttsPort > 0, 'MQTT over TLS is listening');

  const https = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: unknown }>((resolveRes, reject) => {
      const req = request({ host: '127.0.0.1', port: httpPort, path, method, ca, headers: { authorization: `Bearer ${hub.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolveRes({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
      });
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });

  t.equal((await https('GET', '/healthz')).status, 200, 'HTTPS with the CA');
  await t.rejects(fetch(`http://127.0.0.1:${httpPort}/healthz`), 'no plain HTTP on the HTTPS port');
  const created = await https('POST', '/api/devices', { id: 'tls-dev', kind: 'sensor' });
  t.equal(created.status, 201);
  const { id, token } = created.body as ProvisionResponse;

  const client = mqtt.connect(`mqtts://127.0.0.1:${mqttsPort}`, { clientId: id, username: id, password: token, ca, reconnectPeriod: 0, connectTimeout: 5000 });
  t.teardown(() => client.endAsync(true));
  await new Promise<void>((ok, fail) => {
    client.once('connect', () => ok());
    client.once('error', fail);
  });
  await client.publishAsync(`devices/${id}/telemetry`, '{"metrics":{"t":1}}', { qos: 1 });
  t.equal(((await https('GET', `/api/devices/${id}`)).body as DeviceView).latest.t?.value, 1, 'MQTT over TLS stores telemetry');
  await client.endAsync();

  const ws = new WebSocket(`wss://127.0.0.1:${httpPort}/ws/device`, { ca, headers: { authorization: 'Basic ' + Buffer.from(`${id}:${token}`).toString('base64') } });
  t.teardown(() => ws.terminate());
  const welcome = await new Promise<Record<string, unknown>>((ok, fail) => {
    ws.once('message', (data: Buffer) => ok(JSON.parse(data.toString()) as Record<string, unknown>));
    ws.once('error', fail);
  });
  t.match(welcome, { type: 'welcome', id }, 'WSS device socket');
  ws.send(JSON.stringify({ type: 'telemetry', mid: 1, metrics: { t: 2 } }));
  await new Promise((ok) => ws.on('message', (data: Buffer) => (JSON.parse(data.toString()) as { type?: string }).type === 'ack' && ok(null)));
  ws.close(1000);

  // The same client handshake succeeds against a server that allows TLS 1.1: a refusal is the hub's doing.
  const control = createTlsServer({ cert: ca, key: readFileSync(pair.key), minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }, (s) => s.end());
  await new Promise<void>((ok) => control.listen(0, '127.0.0.1', ok));
  t.teardown(() => control.close());
  t.equal(await tls11((control.address() as { port: number }).port), 'connected with TLSv1.1', 'the client can speak TLS 1.1');
  t.match(await tls11(httpPort), /PROTOCOL_VERSION/, 'HTTPS refuses TLS 1.1');
  t.match(await tls11(mqttsPort as number), /PROTOCOL_VERSION/, 'MQTT over TLS refuses TLS 1.1');
});

t.test('without a certificate there is no MQTT over TLS port', async (t) => {
  const hub = await startTestHub(t);
  t.equal(hub.hub.mqttsPort, null);
});
