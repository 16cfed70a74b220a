/**
 * Provisioning simulated devices through the hub API (POST /api/devices with
 * the admin token), or reusing tokens from a credentials file.
 *
 * Simulated devices own their ids: when an id already exists (409), the old
 * device is deleted and provisioned again, because its token was shown only
 * once and is gone. Never point the simulator's id prefix at real devices.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { ProvisionRequest } from '@iot-hub/protocol';
import { HubApi, HubApiError } from './hub-api.js';

export interface DeviceCredentials {
  id: string;
  token: string;
  kind: string;
}

export interface ProvisionOptions {
  hubUrl: string;
  adminToken: string;
  devices: readonly ProvisionRequest[];
  /** Requests in flight at once (default 50). */
  concurrency?: number;
  /** On 409, delete the existing device and provision again (default true). */
  replaceExisting?: boolean;
}

export async function provisionDevices(options: ProvisionOptions): Promise<DeviceCredentials[]> {
  const api = new HubApi(options.hubUrl, options.adminToken);
  const replace = options.replaceExisting ?? true;
  return mapConcurrent(options.devices, options.concurrency ?? 50, (request) => provisionOne(api, request, replace));
}

async function provisionOne(api: HubApi, request: ProvisionRequest, replace: boolean): Promise<DeviceCredentials> {
  try {
    const created = await api.provision(request);
    return { id: created.id, token: created.token, kind: created.kind };
  } catch (err) {
    if (!(err instanceof HubApiError) || err.status !== 409 || !replace) throw err;
  }
  await api.deleteDevice(request.id);
  const created = await api.provision(request);
  return { id: created.id, token: created.token, kind: created.kind };
}

/** Deletes devices, ignoring ones already gone (404). */
export async function deleteDevices(options: { hubUrl: string; adminToken: string; ids: readonly string[]; concurrency?: number }): Promise<void> {
  const api = new HubApi(options.hubUrl, options.adminToken);
  await mapConcurrent(options.ids, options.concurrency ?? 50, async (id) => {
    try {
      await api.deleteDevice(id);
    } catch (err) {
      if (!(err instanceof HubApiError) || err.status !== 404) throw err;
    }
  });
}

/** The credentials file: `{"devices":[{"id","token","kind"}...]}`. */
interface CredentialsFile {
  devices: DeviceCredentials[];
}

export async function readCredentialsFile(path: string): Promise<DeviceCredentials[]> {
  const text = await readFile(path, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`credentials file ${path} is not JSON: ${(err as Error).message}`);
  }
  const devices = (parsed as Partial<CredentialsFile> | null)?.devices;
  if (!Array.isArray(devices)) throw new Error(`credentials file ${path} has no "devices" array`);
  devices.forEach((device: Partial<DeviceCredentials>, i) => {
    if (typeof device?.id !== 'string' || typeof device.token !== 'string' || typeof device.kind !== 'string') {
      throw new Error(`credentials file ${path}: devices[${i}] needs string "id", "token" and "kind"`);
    }
  });
  return devices as DeviceCredentials[];
}

export async function writeCredentialsFile(path: string, devices: readonly DeviceCredentials[]): Promise<void> {
  const body: CredentialsFile = { devices: [...devices] };
  // Tokens are secrets: readable by the owner only.
  await writeFile(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order; the first error wins. */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (err) {
        failed = true; // the other workers finish their current item and stop
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
