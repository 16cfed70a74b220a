/**
 * Thin typed calls to the hub's HTTP API under /api/, one function per
 * endpoint. No DOM and no state: the caller passes the token every time, so
 * these work the same in the browser and in Node tests.
 */
import type { ApiErrorBody, DeviceListResponse, HealthResponse } from '@iot-hub/protocol';

export interface ApiAuth {
  /** The admin (or viewer) bearer token. */
  token: string;
  /** Origin of the hub; empty (the default) means the page's own origin. */
  baseUrl?: string;
  /** Injected in tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/** A non-2xx answer from the API, carrying the catalog code when the body had one. */
export class ApiError extends Error {
  readonly status: number;
  /** Stable code from the error catalog (`unauthorized`, `not_found` ...), or `http_<status>`. */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

function isApiErrorBody(body: unknown): body is ApiErrorBody {
  return typeof body === 'object' && body !== null && typeof (body as ApiErrorBody).error === 'string';
}

async function request<T>(auth: ApiAuth, path: string, init: RequestInit = {}): Promise<T> {
  const doFetch = auth.fetch ?? fetch;
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${auth.token}`);
  headers.set('Accept', 'application/json');
  const response = await doFetch(`${auth.baseUrl ?? ''}${path}`, { ...init, headers });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    if (isApiErrorBody(body)) throw new ApiError(response.status, body.error, body.message);
    throw new ApiError(response.status, `http_${response.status}`, `${response.status} ${response.statusText}`.trim());
  }
  return body as T;
}

/** GET /api/devices: every device with presence and latest values. */
export function listDevices(auth: ApiAuth, signal?: AbortSignal): Promise<DeviceListResponse> {
  return request<DeviceListResponse>(auth, '/api/devices', signal ? { signal } : {});
}

/**
 * GET /healthz: the hub's status, its telemetry store and the store's local
 * buffer. Needs no token. The hub answers 503 while degraded (for load
 * balancers), with the same body: that is an answer, not an error.
 */
export async function getHealth(auth: ApiAuth, signal?: AbortSignal): Promise<HealthResponse> {
  const doFetch = auth.fetch ?? fetch;
  const response = await doFetch(`${auth.baseUrl ?? ''}/healthz`, { headers: { Accept: 'application/json' }, ...(signal ? { signal } : {}) });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  const isHealth = typeof body === 'object' && body !== null && typeof (body as HealthResponse).status === 'string' && typeof (body as HealthResponse).store === 'object';
  if ((response.ok || response.status === 503) && isHealth) return body as HealthResponse;
  if (isApiErrorBody(body)) throw new ApiError(response.status, body.error, body.message);
  throw new ApiError(response.status, `http_${response.status}`, `${response.status} ${response.statusText}`.trim());
}
