/**
 * Decoding device messages and encoding hub messages [FP-4]. Validators are
 * compiled once, on first use, so importing this module costs nothing.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ProtocolError } from './errors.js';
import { MAX_JSON_DEPTH, PROTOCOL_VERSION } from './limits.js';
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

/**
 * The `oneOf` rules of telemetry [FP-4.2] in words: which of `metrics` /
 * `samples`, and of `ts` / `age`, the message (or batch sample) got wrong.
 */
function describeTimeShape(where: string, message: Record<string, unknown> | undefined): string {
  if (!message) return `${where}: a batch sample must have exactly one of "ts" or "age"`;
  const has = (key: string): boolean => message[key] !== undefined;
  if (has('metrics') === has('samples')) return `${where}: must have exactly one of "metrics" or "samples"`;
  if (has('samples')) {
    const misplaced = ['ts', 'age', 'seq'].filter(has).map((k) => JSON.stringify(k));
    return `${where}: a batch carries ${misplaced.join(' and ')} on each sample, not on the message`;
  }
  return `${where}: must have at most one of "ts" or "age"`;
}

/** "/metrics/temperature must be number,boolean" style text for an Ajv error. */
export function describeSchemaError(error: ErrorObject, message?: Record<string, unknown>): string {
  const where = error.instancePath || '(message)';
  // Inside `propertyNames` Ajv names the offending key on the error itself.
  if (error.propertyName !== undefined) {
    return `${where}: name ${preview(error.propertyName)} ${error.message ?? 'is invalid'}`;
  }
  if (error.keyword === 'oneOf') return describeTimeShape(where, error.instancePath === '' ? message : undefined);
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

/** Fatal: a byte sequence that is not UTF-8 is an error, never U+FFFD [FP-2.1]. Keeps a BOM, which JSON.parse then refuses. */
let utf8: Utf8Decoder | undefined;

/**
 * The WHATWG TextDecoder, global in browsers and Node alike; typed here
 * because this package builds against neither the DOM nor Node typings.
 */
interface Utf8Decoder {
  decode(bytes: Uint8Array): string;
}
declare const TextDecoder: new (label: 'utf-8', options: { fatal: boolean; ignoreBOM: boolean }) => Utf8Decoder;

function utf8Text(bytes: Uint8Array): string {
  utf8 ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ProtocolError('bad_json', 'the payload is not valid UTF-8');
  }
}

/**
 * Whether already-parsed JSON text nests objects and arrays deeper than
 * `max`: one pass over the characters, skipping strings, so it costs no
 * recursion and no allocation whatever the depth.
 */
function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Inside a string: skip to its closing quote, stepping over escapes.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * Parses and validates one device message: the text of a WebSocket frame
 * (already checked UTF-8 by ws), or the bytes of an MQTT payload. Throws
 * ProtocolError with a specific code: bad_json, invalid_message,
 * unknown_type, type_mismatch, unsupported_version.
 */
export function decodeDeviceMessage(payload: string | Uint8Array, options: DecodeOptions = {}): DeviceMessage {
  const text = typeof payload === 'string' ? payload : utf8Text(payload);
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
    // Before anything walks the value (the schema, the stores, the dashboards) [FP-7.1].
    if (nestedDeeperThan(text, MAX_JSON_DEPTH)) {
      throw new ProtocolError('invalid_message', `JSON nested deeper than ${MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)`);
    }
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
    // A failed `oneOf` (telemetry's time shape [FP-4.2]) is told as a whole, not by the first
    // error of one of its branches ("missing required field", "must NOT be valid").
    const errors = validate.errors ?? [];
    const first = errors.find((e) => e.keyword === 'oneOf' && e.instancePath === errors[0]?.instancePath) ?? errors[0];
    throw new ProtocolError('invalid_message', first ? describeSchemaError(first, msg) : type);
  }
  return msg as unknown as DeviceMessage;
}

/** Serialises a hub → device message; both transports carry the same text. */
export function encodeHubMessage(msg: HubMessage): string {
  return JSON.stringify(msg);
}

/**
 * Bytes a hub → device message takes on the wire, to hold the hub to
 * MAX_PAYLOAD_BYTES [FP-7.2] before it accepts what it would have to send.
 */
export function hubMessageBytes(msg: HubMessage): number {
  return utf8Length(encodeHubMessage(msg));
}

/** UTF-8 length of a string without encoding it (a lone surrogate is sent as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two code units, four bytes.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
