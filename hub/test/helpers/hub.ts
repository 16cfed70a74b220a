/**
 * Starts the real hub in-process on port 0 with a temp data dir, for tests.
 * Teardown (stop + remove the dir) is registered on the tap test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProvisionResponse } from '@iot-hub/protocol';
import { buildHub, loadConfig, type Hub, type HubConfig, type HubDeps } from '@iot-hub/hub';

export interface TestHub {
  hub: Hub;
  httpUrl: string;
  wsUrl: string;
  mqttUrl: string;
  adminToken: string;
  dataDir: string;
  config: Readonly<HubConfig>;
  /** Calls the API with the admin token; JSON in and out. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  provision(id: string, kind?: string): Promise<ProvisionResponse>;
  stop(): Promise<void>;
  /** Stops and starts a new hub on the same data dir (new ports). */
  restart(): Promise<TestHub>;
}

interface TapLike {
  teardown(fn: () => unknown): void;
}

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export async function startTestHub(t: TapLike, overrides: Partial<HubConfig> = {}, dataDir?: string, deps: HubDeps = {}): Promise<TestHub> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'iot-hub-test-'));
  // Before start(): a hub that fails to start must not leave its data dir behind.
  if (!dataDir) t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { config: base } = loadConfig([], {});
  const config: HubConfig = {
    ...base,
    httpPort: 0,
    mqttPort: 0,
    dataDir: dir,
    adminToken: TEST_ADMIN_TOKEN,
    logLevel: (process.env.HUB_TEST_LOG as HubConfig['logLevel'] | undefined) ?? 'silent',
    ...overrides,
  };
  // The hub builds its own logger (with its throttle) unless the test passes one; deps.logDestination captures the lines.
  const hub = buildHub(Object.freeze(config), deps);
  await hub.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await hub.stop();
  };
  t.teardown(stop);

  const httpUrl = `http://127.0.0.1:${hub.httpPort}`;
  const adminToken = config.adminToken ?? TEST_ADMIN_TOKEN;
  const api: TestHub['api'] = async (method, path, body, headers = {}) => {
    const res = await fetch(httpUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  };

  const self: TestHub = {
    hub,
    httpUrl,
    wsUrl: `ws://127.0.0.1:${hub.httpPort}`,
    mqttUrl: `mqtt://127.0.0.1:${hub.mqttPort}`,
    adminToken,
    dataDir: dir,
    config,
    api,
    async provision(id, kind = 'sensor') {
      const res = await api('POST', '/api/devices', { id, kind });
      if (res.status !== 201) throw new Error(`provision ${id} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as ProvisionResponse;
    },
    stop,
    async restart() {
      await stop();
      return startTestHub(t, overrides, dir);
    },
  };
  return self;
}
