/**
 * Thin typed calls to the hub's HTTP API under /api/, one function per
 * endpoint. No DOM and no state: the caller passes the token every time, so
 * these work the same in the browser and in Node tests.
 */
import type {
  AcknowledgeRequest,
  AlertHistoryResponse,
  AlertListResponse,
  AlertRule,
  AlertView,
  ApiErrorBody,
  CommandListResponse,
  CommandRequest,
  CommandView,
  DesiredPatchRequest,
  DeviceListResponse,
  DeviceStateView,
  DeviceUpdateRequest,
  DeviceView,
  HealthResponse,
  HistoryResponse,
  RuleInput,
  RuleListResponse,
  RuleWriteResponse,
  SessionView,
  SilenceInput,
  SilenceListResponse,
  SilenceView,
} from '@iot-hub/protocol';

/**
 * The token of a signed-in browser: none. The HttpOnly session cookie goes
 * with every same-origin request (and the socket upgrade) by itself.
 */
export const SESSION_COOKIE_AUTH = '';

export interface ApiAuth {
  /** A bearer token (the admin token or an API token), or SESSION_COOKIE_AUTH. */
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
  if (auth.token !== SESSION_COOKIE_AUTH) headers.set('Authorization', `Bearer ${auth.token}`);
  headers.set('Accept', 'application/json');
  if (init.body !== undefined) headers.set('Content-Type', 'application/json');
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

/** `/api/devices/{id}` with the id escaped: ids are the device's to choose. */
function devicePath(deviceId: string, rest = ''): string {
  return `/api/devices/${encodeURIComponent(deviceId)}${rest}`;
}

function withSignal(init: RequestInit, signal: AbortSignal | undefined): RequestInit {
  return signal ? { ...init, signal } : init;
}

export interface HistoryQuery {
  /** Epoch ms, inclusive. */
  from: number;
  to: number;
  /** Most points per series: the hub downsamples into buckets above it (about the chart's width in pixels). */
  maxPoints: number;
  /** Metrics to read; every metric of the device when absent. */
  metrics?: readonly string[];
}

/** GET /api/devices/{id}/telemetry: each metric's history, downsampled on the hub to `maxPoints` buckets. */
export function getHistory(auth: ApiAuth, deviceId: string, query: HistoryQuery, signal?: AbortSignal): Promise<HistoryResponse> {
  const params = new URLSearchParams({ from: String(Math.floor(query.from)), to: String(Math.ceil(query.to)), maxPoints: String(query.maxPoints) });
  if (query.metrics && query.metrics.length > 0) params.set('metric', query.metrics.join(','));
  return request<HistoryResponse>(auth, devicePath(deviceId, `/telemetry?${params}`), withSignal({}, signal));
}

/**
 * POST /api/devices/{id}/commands: 202 with the command as queued. Refused
 * at once (ApiError) for a command the device did not declare (422
 * unknown_command), bad parameters (422 invalid_params) or a full queue (429).
 */
export function sendCommand(auth: ApiAuth, deviceId: string, command: CommandRequest): Promise<CommandView> {
  return request<CommandView>(auth, devicePath(deviceId, '/commands'), { method: 'POST', body: JSON.stringify(command) });
}

/** GET /api/devices/{id}/commands: newest first; pass `next` as `before` for older ones. */
export function listCommands(
  auth: ApiAuth,
  deviceId: string,
  page: { limit: number; before?: string },
  signal?: AbortSignal,
): Promise<CommandListResponse> {
  const params = new URLSearchParams({ limit: String(page.limit) });
  if (page.before !== undefined) params.set('before', page.before);
  return request<CommandListResponse>(auth, devicePath(deviceId, `/commands?${params}`), withSignal({}, signal));
}

/** GET /api/devices/{id}/state: desired and reported state, and what is still pending. */
export function getDeviceState(auth: ApiAuth, deviceId: string, signal?: AbortSignal): Promise<DeviceStateView> {
  return request<DeviceStateView>(auth, devicePath(deviceId, '/state'), withSignal({}, signal));
}

/**
 * PATCH /api/devices/{id}/state/desired: merges `state` into the desired
 * state (`null` removes a key). With `ifVersion`, refused with 409
 * version_conflict when someone changed it since.
 */
export function patchDesiredState(auth: ApiAuth, deviceId: string, patch: DesiredPatchRequest): Promise<DeviceStateView> {
  return request<DeviceStateView>(auth, devicePath(deviceId, '/state/desired'), { method: 'PATCH', body: JSON.stringify(patch) });
}

/**
 * PATCH /api/devices/{id} (admin): changes the name, room (`null` clears
 * it) and labels; answers the device as it is now.
 */
export function updateDevice(auth: ApiAuth, deviceId: string, patch: DeviceUpdateRequest): Promise<DeviceView> {
  return request<DeviceView>(auth, devicePath(deviceId), { method: 'PATCH', body: JSON.stringify(patch) });
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

/** POST /api/commands/{id}/cancel: ends a command that has not ended yet (409 command_finished otherwise). */
export function cancelCommand(auth: ApiAuth, commandId: string): Promise<CommandView> {
  return request<CommandView>(auth, `/api/commands/${encodeURIComponent(commandId)}/cancel`, { method: 'POST' });
}

/** POST /api/auth/login: the hub sets the session cookie; 401 for a wrong name or password, 429 when too many tries. */
export function login(auth: Omit<ApiAuth, 'token'>, username: string, password: string): Promise<SessionView> {
  return request<SessionView>({ ...auth, token: SESSION_COOKIE_AUTH }, '/api/auth/login', { method: 'POST', body: JSON.stringify({ username, password }) });
}

/** POST /api/auth/logout: ends the cookie's session on the hub. */
export async function logout(auth: ApiAuth): Promise<void> {
  await request<undefined>(auth, '/api/auth/logout', { method: 'POST' });
}

/** GET /api/auth/me: who the token or cookie is, with its role (401 when neither works). */
export function getMe(auth: ApiAuth): Promise<SessionView> {
  return request<SessionView>(auth, '/api/auth/me');
}

/** GET /api/rules: every rule, the built-in ones included (viewer). */
export function listRules(auth: ApiAuth, signal?: AbortSignal): Promise<RuleListResponse> {
  return request<RuleListResponse>(auth, '/api/rules', withSignal({}, signal));
}

function rulePath(ruleId: string): string {
  return `/api/rules/${encodeURIComponent(ruleId)}`;
}

/** POST /api/rules (operator): 201 with the rule and the hub's warnings; 400/404/422 name the field that is wrong. */
export function createRule(auth: ApiAuth, rule: RuleInput): Promise<RuleWriteResponse> {
  return request<RuleWriteResponse>(auth, '/api/rules', { method: 'POST', body: JSON.stringify(rule) });
}

/** PUT /api/rules/{id} (operator): replaces the whole rule; with `ifVersion`, 409 version_conflict when changed since. */
export function updateRule(auth: ApiAuth, ruleId: string, rule: RuleInput & { ifVersion?: number }): Promise<RuleWriteResponse> {
  return request<RuleWriteResponse>(auth, rulePath(ruleId), { method: 'PUT', body: JSON.stringify(rule) });
}

/** DELETE /api/rules/{id} (operator): its open alerts resolve, its history stays. */
export async function deleteRule(auth: ApiAuth, ruleId: string): Promise<void> {
  await request<undefined>(auth, rulePath(ruleId), { method: 'DELETE' });
}

/** The whole input of a stored rule, for a PUT that changes one field (enabled). */
export function ruleInput(rule: AlertRule): RuleInput {
  const { name, description, severity, enabled, scope, condition, forSec, minFiringSec, actions, actionIntervalSec } = rule;
  return { name, description, severity, enabled, scope, condition, forSec, minFiringSec, actions, actionIntervalSec };
}

export interface AlertQuery {
  state?: 'pending' | 'firing' | 'resolved';
  deviceId?: string;
  ruleId?: string;
  severity?: string;
}

function queryString(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** GET /api/alerts: open alerts (pending and firing), newest change first; `state=resolved` for the last day's resolved ones. */
export function listAlerts(auth: ApiAuth, query: AlertQuery = {}, signal?: AbortSignal): Promise<AlertListResponse> {
  return request<AlertListResponse>(auth, `/api/alerts${queryString({ ...query })}`, withSignal({}, signal));
}

export interface AlertHistoryQuery {
  deviceId?: string;
  ruleId?: string;
  state?: string;
  limit?: number;
  /** `next` of the previous page. */
  before?: string;
}

/** GET /api/alerts/history: transitions, acknowledgements and rule commands, newest first; pass `next` as `before`. */
export function getAlertHistory(auth: ApiAuth, query: AlertHistoryQuery = {}, signal?: AbortSignal): Promise<AlertHistoryResponse> {
  return request<AlertHistoryResponse>(auth, `/api/alerts/history${queryString({ ...query })}`, withSignal({}, signal));
}

/** POST /api/alerts/{id}/ack (operator): 409 conflict when the alert has resolved since. */
export function acknowledgeAlert(auth: ApiAuth, alertId: string, ack: AcknowledgeRequest): Promise<AlertView> {
  return request<AlertView>(auth, `/api/alerts/${encodeURIComponent(alertId)}/ack`, { method: 'POST', body: JSON.stringify(ack) });
}

/** GET /api/silences: the silences in force. */
export function listSilences(auth: ApiAuth, signal?: AbortSignal): Promise<SilenceListResponse> {
  return request<SilenceListResponse>(auth, '/api/silences', withSignal({}, signal));
}

/** POST /api/silences (operator): mutes matching alerts' notifications until `until`. */
export function createSilence(auth: ApiAuth, silence: SilenceInput): Promise<SilenceView> {
  return request<SilenceView>(auth, '/api/silences', { method: 'POST', body: JSON.stringify(silence) });
}

/** DELETE /api/silences/{id} (operator). */
export async function deleteSilence(auth: ApiAuth, silenceId: string): Promise<void> {
  await request<undefined>(auth, `/api/silences/${encodeURIComponent(silenceId)}`, { method: 'DELETE' });
}
