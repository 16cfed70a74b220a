/**
 * Decoding device messages and encoding hub messages [FP-4]. Validators are
 * compiled once, on first use, so importing this module costs nothing.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ProtocolError } from './errors.js';
import { PROTOCOL_VERSION } from './limits.js';
import type { DeviceMessage, DeviceMessageType, HubMessage } from './messages.js';
import { deviceMessageSchemas } from './schemas.js';

type Validators = Record<DeviceMessageType, ValidateFunction>;
let validators: Validators | undefined;

function compileValidators(): Validators {
  const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
  const compiled = {} as Validators;
  for (const [type, schema] of Object.entries(deviceMessageSchemas)) {
    compiled[type as DeviceMessageType] = ajv.compile(schema);
  }
  return compiled;
}

/** Longest rendering of an offending value in an error detail. */
const MAX_PREVIEW_CHARS = 64;

/**
 * An offending value for an error detail, bounded in size: every hub message
 * stays under MAX_PAYLOAD_BYTES [FP-7.2], and a deeply nested value (which
 * JSON.parse accepts but JSON.stringify overflows the stack on) still gets
 * the specific error instead of a RangeError.
 */
function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    text = Array.isArray(value) ? '[…]' : '{…}';
  }
  return text.length > MAX_PREVIEW_CHARS ? `${text.slice(0, MAX_PREVIEW_CHARS)}…` : text;
}

function isMessageType(type: string): type is DeviceMessageType {
  return Object.prototype.hasOwnProperty.call(deviceMessageSchemas, type);
}

/** "/metrics/temperature must be number,boolean" style text for an Ajv error. */
export function describeSchemaError(error: ErrorObject): string {
  const where = error.instancePath || '(message)';
  // Inside `propertyNames` Ajv names the offending key on the error itself.
  if (error.propertyName !== undefined) {
    return `${where}: name ${preview(error.propertyName)} ${error.message ?? 'is invalid'}`;
  }
  if (error.keyword === 'oneOf') return `${where}: must have exactly one of "metrics" or "samples"`;
  if (error.keyword === 'required') {
    return `${where}: missing required field ${JSON.stringify((error.params as { missingProperty: string }).missingProperty)}`;
  }
  return `${where} ${error.message ?? 'is invalid'}`;
}

export interface DecodeOptions {
  /**
   * The type the transport implies (the MQTT channel). When given, `type` may
   * be absent; when present it must match [FP-3.1].
   */
  impliedType?: DeviceMessageType;
}

/**
 * Parses and validates one device message. Throws ProtocolError with a
 * specific code: bad_json, invalid_message, unknown_type, type_mismatch,
 * unsupported_version.
 */
export function decodeDeviceMessage(text: string, options: DecodeOptions = {}): DeviceMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError('bad_json', (err as Error).message);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('invalid_message', 'a message must be a JSON object');
  }
  const msg = value as Record<string, unknown>;
  try {
    return validateMessage(msg, options);
  } catch (err) {
    // Let the error name the message it is about [FP-3.2].
    if (err instanceof ProtocolError && (typeof msg.mid === 'string' || typeof msg.mid === 'number')) err.ref = msg.mid;
    throw err;
  }
}

function validateMessage(msg: Record<string, unknown>, options: DecodeOptions): DeviceMessage {
  if (msg.v !== undefined && msg.v !== PROTOCOL_VERSION) {
    throw new ProtocolError('unsupported_version', `this hub speaks v${PROTOCOL_VERSION}, got ${preview(msg.v)}`);
  }

  let type: DeviceMessageType;
  if (msg.type === undefined) {
    if (!options.impliedType) throw new ProtocolError('invalid_message', 'missing required field "type"');
    type = options.impliedType;
    msg.type = type;
  } else if (typeof msg.type !== 'string' || !isMessageType(msg.type)) {
    throw new ProtocolError('unknown_type', preview(msg.type));
  } else if (options.impliedType && msg.type !== options.impliedType) {
    throw new ProtocolError('type_mismatch', `channel carries "${options.impliedType}", message says "${msg.type}"`);
  } else {
    type = msg.type;
  }

  validators ??= compileValidators();
  const validate = validators[type];
  if (!validate(msg)) {
    const first = validate.errors?.[0];
    throw new ProtocolError('invalid_message', first ? describeSchemaError(first) : type);
  }
  return msg as unknown as DeviceMessage;
}

/** Serialises a hub → device message; both transports carry the same text. */
export function encodeHubMessage(msg: HubMessage): string {
  return JSON.stringify(msg);
}
