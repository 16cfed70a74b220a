/** The hub's HTTP API as the runner uses it: one thin function per call, JSON in and out. */
import type { ApiErrorBody, DeviceStateView, DeviceView, ProbeRequest, ProbeResponse, StateValue } from '@iot-hub/protocol';

/** An error answer of the API, with its catalog code. */
export class HubApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
    this.name = 'HubApiError';
  }
}

export class HubClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  device(id: string): Promise<DeviceView> {
    return this.call('GET', `/api/devices/${encodeURIComponent(id)}`);
  }

  state(id: string): Promise<DeviceStateView> {
    return this.call('GET', `/api/devices/${encodeURIComponent(id)}/state`);
  }

  patchDesired(id: string, state: Record<string, StateValue>): Promise<DeviceStateView> {
    return this.call('PATCH', `/api/devices/${encodeURIComponent(id)}/state/desired`, { state });
  }

  probe(id: string, probe: ProbeRequest): Promise<ProbeResponse> {
    return this.call('POST', `/api/devices/${encodeURIComponent(id)}/probes`, probe);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new HubApiError(0, 'unreachable', `cannot reach the hub at ${this.baseUrl}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      throw new HubApiError(res.status, 'bad_answer', `${method} ${path}: ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const e = (parsed ?? {}) as Partial<ApiErrorBody>;
      throw new HubApiError(res.status, e.error ?? 'unknown', `${method} ${path}: ${res.status} ${e.error ?? ''}: ${e.message ?? text.slice(0, 200)}`);
    }
    return parsed as T;
  }
}
