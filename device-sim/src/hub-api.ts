/**
 * A thin typed client of the hub's HTTP API (wire types from protocol/),
 * one method per call, used by provisioning, the bench and tests. Every
 * failure is a HubApiError whose message names the call and the hub's answer.
 */
import type {
  ApiErrorBody,
  DeviceListResponse,
  DeviceView,
  HealthResponse,
  HistoryResponse,
  ProvisionRequest,
  ProvisionResponse,
} from '@iot-hub/protocol';

export class HubApiError extends Error {
  /** HTTP status; 0 when the hub was not reached at all. */
  readonly status: number;
  /** The hub's error body when it sent one [FP-8]. */
  readonly body: ApiErrorBody | undefined;

  constructor(message: string, status: number, body?: ApiErrorBody) {
    super(message);
    this.name = 'HubApiError';
    this.status = status;
    this.body = body;
  }

  get unreachable(): boolean {
    return this.status === 0;
  }
}

export interface HistoryQuery {
  metric?: string;
  from?: number;
  to?: number;
  maxPoints?: number;
}

export class HubApi {
  readonly baseUrl: string;
  readonly #adminToken: string | undefined;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, adminToken?: string, options: { timeoutMs?: number } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#adminToken = adminToken;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  health(): Promise<HealthResponse> {
    return this.#request('GET', '/healthz');
  }

  provision(request: ProvisionRequest): Promise<ProvisionResponse> {
    return this.#request('POST', '/api/devices', request);
  }

  async deleteDevice(id: string): Promise<void> {
    await this.#request('DELETE', `/api/devices/${encodeURIComponent(id)}`);
  }

  listDevices(): Promise<DeviceListResponse> {
    return this.#request('GET', '/api/devices');
  }

  device(id: string): Promise<DeviceView> {
    return this.#request('GET', `/api/devices/${encodeURIComponent(id)}`);
  }

  history(id: string, query: HistoryQuery = {}): Promise<HistoryResponse> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    const qs = params.size > 0 ? `?${params.toString()}` : '';
    return this.#request('GET', `/api/devices/${encodeURIComponent(id)}/telemetry${qs}`);
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const what = `${method} ${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#adminToken) headers.authorization = `Bearer ${this.#adminToken}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new HubApiError(`hub unreachable at ${this.baseUrl} (${what}): ${networkReason(err)}`, 0);
    }
    const text = await res.text();
    if (!res.ok) {
      const errorBody = parseErrorBody(text);
      const detail = errorBody ? `${errorBody.error}: ${errorBody.message}` : text.slice(0, 300) || res.statusText;
      throw new HubApiError(`${what} failed: HTTP ${res.status} ${detail}`, res.status, errorBody);
    }
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new HubApiError(`${what}: the hub answered HTTP ${res.status} with a body that is not JSON`, res.status);
    }
  }
}

function parseErrorBody(text: string): ApiErrorBody | undefined {
  try {
    const value = JSON.parse(text) as Partial<ApiErrorBody>;
    if (typeof value.error === 'string' && typeof value.message === 'string') return value as ApiErrorBody;
  } catch {
    // not JSON
  }
  return undefined;
}

/** "ECONNREFUSED" / "timed out" rather than undici's bare "fetch failed". */
function networkReason(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timed out';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
