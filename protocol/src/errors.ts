/**
 * The error catalog [FP-8]: every error the hub sends to a device or an API
 * client has a stable machine-readable `error` code, an HTTP-style `code`
 * number and a human message. firmware-protocol.md lists the
 * same codes; a test checks they stay in sync.
 */

export const ERRORS = {
  bad_json: { status: 400, message: 'payload is not valid JSON' },
  invalid_message: { status: 400, message: 'message does not match the schema' },
  unknown_type: { status: 400, message: 'unknown message type' },
  type_mismatch: { status: 400, message: 'message type does not match the MQTT channel' },
  unsupported_version: { status: 400, message: 'unsupported protocol version' },
  bad_timestamp: { status: 400, message: 'timestamp is too far from the hub clock' },
  bad_request: { status: 400, message: 'bad request' },
  unauthorized: { status: 401, message: 'unknown device or wrong token' },
  forbidden_topic: { status: 403, message: 'a device may use only its own topics' },
  forbidden: { status: 403, message: 'not allowed' },
  not_found: { status: 404, message: 'not found' },
  auth_timeout: { status: 408, message: 'authentication did not arrive in time' },
  conflict: { status: 409, message: 'already exists' },
  version_conflict: { status: 409, message: 'the desired state changed since that version' },
  idempotency_conflict: { status: 409, message: 'this Idempotency-Key was used for a different request' },
  ts_conflict: { status: 409, message: 'another reading of this metric has the same timestamp' },
  not_connected: { status: 409, message: 'the device is not connected' },
  command_finished: { status: 409, message: 'the command has already ended' },
  commands_unknown: { status: 409, message: 'the device has not declared its commands yet' },
  command_expired: { status: 410, message: 'the command expired before it could be sent' },
  payload_too_large: { status: 413, message: 'payload is larger than the limit' },
  unknown_command: { status: 422, message: 'the device did not declare this command' },
  invalid_params: { status: 422, message: 'the parameters do not match what the device declared' },
  invalid_desired: { status: 422, message: 'the desired value does not match what the device declared' },
  too_large_for_device: { status: 422, message: 'the message would be larger than the device can receive' },
  too_many_metrics: { status: 422, message: 'the device has reached the hub\'s limit of distinct metric names' },
  unknown_metric: { status: 422, message: 'the device does not declare this metric' },
  too_many_rules: { status: 429, message: 'the hub\'s limit of alert rules or silences is reached' },
  too_many_errors: { status: 429, message: 'too many protocol errors: disconnecting' },
  rate_limited: { status: 429, message: 'too many messages' },
  queue_full: { status: 429, message: 'too many commands are waiting for this device' },
  too_many_subscriptions: { status: 429, message: 'too many device subscriptions on this socket' },
  too_many_sockets: { status: 429, message: 'too many dashboard sockets are open for this user' },
  internal_error: { status: 500, message: 'internal error' },
  storage_unavailable: { status: 503, message: 'storage is unavailable, try again later' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Error carrying a catalog code; thrown by handlers, turned into responses in one place. */
export class ProtocolError extends Error {
  readonly error: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  /** The `mid` of the offending message, when it could be read. */
  ref: string | number | undefined;

  constructor(error: ErrorCode, detail?: string) {
    const entry = ERRORS[error];
    super(detail ? `${entry.message}: ${detail}` : entry.message);
    this.name = 'ProtocolError';
    this.error = error;
    this.status = entry.status;
    this.detail = detail;
  }
}

/** WebSocket close codes the hub uses on `/ws/device` [FP-3.2]: 4000 + the HTTP-style number. */
export const WS_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  messageTooBig: 1009,
  unauthorized: 4401,
  forbidden: 4403,
  authTimeout: 4408,
  conflict: 4409,
  tooManyErrors: 4429,
} as const;
