/**
 * JSON Schemas of the device → hub messages [FP-4]. Unknown fields are
 * allowed everywhere (versioning rule [FP-2.3]); limits come from limits.ts.
 */
import {
  DEVICE_ID_PATTERN,
  MAX_BOOT_ID_LENGTH,
  MAX_DECLARED_STATE_KEYS,
  MAX_PAYLOAD_BYTES,
  MAX_TS_PAST_MS,
  MIN_DEVICE_MESSAGE_BYTES,
  MAX_HEARTBEAT_SEC,
  MAX_METRICS_PER_SAMPLE,
  MAX_SAMPLES_PER_BATCH,
  MAX_STATE_KEYS,
  MAX_STRING_LENGTH,
  MIN_HEARTBEAT_SEC,
  NAME_PATTERN,
} from './limits.js';

const name = { type: 'string', pattern: NAME_PATTERN } as const;
const shortString = { type: 'string', maxLength: MAX_STRING_LENGTH } as const;
const epochMs = { type: 'integer', minimum: 0, maximum: 8_640_000_000_000_000 } as const;
const seq = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
/** How long ago a sample was taken, for devices without a clock [FP-4.2]. */
const age = { type: 'integer', minimum: 0, maximum: MAX_TS_PAST_MS } as const;
const boot = { anyOf: [seq, { type: 'string', minLength: 1, maxLength: MAX_BOOT_ID_LENGTH }] } as const;

const envelope = {
  v: { type: 'integer', minimum: 1 },
  type: { type: 'string' },
  mid: { anyOf: [{ type: 'string', maxLength: 64 }, { type: 'integer' }] },
} as const;

const metrics = {
  type: 'object',
  propertyNames: name,
  minProperties: 1,
  maxProperties: MAX_METRICS_PER_SAMPLE,
  additionalProperties: { type: ['number', 'boolean'] },
} as const;

const metricSpec = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { enum: ['number', 'boolean'] },
    unit: { type: 'string', maxLength: 32 },
    min: { type: 'number' },
    max: { type: 'number' },
    description: shortString,
  },
} as const;

/** What a command parameter and a declared state key have in common: a typed value [FP-4.1]. */
const valueSpecProperties = {
  type: { enum: ['number', 'integer', 'boolean', 'string', 'enum'] },
  unit: { type: 'string', maxLength: 32 },
  min: { type: 'number' },
  max: { type: 'number' },
  values: { type: 'array', items: shortString, minItems: 1, maxItems: 64 },
  description: shortString,
} as const;

const paramSpec = {
  type: 'object',
  required: ['type'],
  properties: { ...valueSpecProperties, required: { type: 'boolean' } },
} as const;

const stateKeySpec = {
  type: 'object',
  required: ['type'],
  properties: { ...valueSpecProperties, settable: { type: 'boolean' } },
} as const;

const commandSpec = {
  type: 'object',
  properties: {
    description: shortString,
    params: { type: 'object', propertyNames: name, maxProperties: 32, additionalProperties: paramSpec },
  },
} as const;

export const helloSchema = {
  type: 'object',
  required: ['kind'],
  properties: {
    ...envelope,
    kind: { type: 'string', pattern: NAME_PATTERN },
    fw: { type: 'string', maxLength: 64 },
    model: { type: 'string', maxLength: 64 },
    metrics: { type: 'object', propertyNames: name, maxProperties: MAX_METRICS_PER_SAMPLE, additionalProperties: metricSpec },
    commands: { type: 'object', propertyNames: name, maxProperties: 64, additionalProperties: commandSpec },
    state: { type: 'object', propertyNames: name, maxProperties: MAX_DECLARED_STATE_KEYS, additionalProperties: stateKeySpec },
    heartbeatSec: { type: 'integer', minimum: MIN_HEARTBEAT_SEC, maximum: MAX_HEARTBEAT_SEC },
    boot,
    maxMessageBytes: { type: 'integer', minimum: MIN_DEVICE_MESSAGE_BYTES, maximum: MAX_PAYLOAD_BYTES },
  },
} as const;

export const telemetrySchema = {
  type: 'object',
  properties: {
    ...envelope,
    boot,
    ts: epochMs,
    age,
    seq,
    metrics,
    samples: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_SAMPLES_PER_BATCH,
      items: {
        type: 'object',
        required: ['metrics'],
        properties: { ts: epochMs, age, seq, metrics },
        // Each batch sample carries its time: `ts`, or `age` from a device without a clock [FP-4.2].
        oneOf: [{ required: ['ts'] }, { required: ['age'] }],
      },
    },
  },
  // Exactly one of `metrics` (one sample) or `samples` (a batch); a batch's
  // times and seqs belong on its samples, never on the message [FP-4.2].
  oneOf: [
    { required: ['metrics'], not: { required: ['ts', 'age'] } },
    { required: ['samples'], not: { anyOf: [{ required: ['ts'] }, { required: ['age'] }, { required: ['seq'] }] } },
  ],
} as const;

export const stateSchema = {
  type: 'object',
  required: ['state'],
  properties: {
    ...envelope,
    state: {
      type: 'object',
      propertyNames: name,
      maxProperties: MAX_STATE_KEYS,
      additionalProperties: { anyOf: [{ type: ['number', 'boolean', 'null'] }, shortString] },
    },
    version: { type: 'integer', minimum: 0 },
    refused: { type: 'object', propertyNames: name, maxProperties: MAX_STATE_KEYS, additionalProperties: shortString },
  },
} as const;

export const resultSchema = {
  type: 'object',
  required: ['id', 'status'],
  properties: {
    ...envelope,
    id: { type: 'string', minLength: 1, maxLength: 64 },
    status: { enum: ['acknowledged', 'succeeded', 'failed'] },
    error: shortString,
  },
} as const;

export const statusSchema = {
  type: 'object',
  required: ['status'],
  properties: { ...envelope, status: { enum: ['online', 'offline'] } },
} as const;

export const pingSchema = {
  type: 'object',
  properties: { ...envelope },
} as const;

export const authSchema = {
  type: 'object',
  required: ['id', 'token'],
  properties: {
    ...envelope,
    id: { type: 'string', pattern: DEVICE_ID_PATTERN },
    token: { type: 'string', minLength: 1, maxLength: 256 },
  },
} as const;

export const deviceMessageSchemas = {
  hello: helloSchema,
  telemetry: telemetrySchema,
  state: stateSchema,
  result: resultSchema,
  status: statusSchema,
  ping: pingSchema,
  auth: authSchema,
} as const;
