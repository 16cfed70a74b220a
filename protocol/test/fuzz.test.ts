/**
 * Fuzzing the decoder (issue 7, [G2]): thousands of seeded
 * mutations of every device-message example in firmware-protocol.md go
 * through decodeDeviceMessage in each transport mode the example fits. Each
 * must either decode to a message that re-validates against its schema (and
 * the channel's type, on MQTT), or throw a ProtocolError with one of the
 * decoder's catalog codes [FP-8]: never another exception, never a hang.
 * A failure prints its seed; `FUZZ_SEED=<run seed>` replays the run.
 */
import t from 'tap';
import { Ajv, type ValidateFunction } from 'ajv';
import { CHANNEL_TYPES } from '../src/messages.js';
import type { DeviceMessageType } from '../src/messages.js';
import { decodeDeviceMessage } from '../src/codec.js';
import { ERRORS, ProtocolError } from '../src/errors.js';
import { deviceMessageSchemas } from '../src/schemas.js';
import { allExamples } from './helpers/spec-examples.js';
import { caseSeed, excerpt, mutate, runSeed } from './helpers/fuzz-mutations.js';

const RUN_SEED = runSeed(0x7f0221);
const CASES_PER_EXAMPLE = 80;
/** The codes decodeDeviceMessage documents; all are in the catalog. */
const DECODE_CODES = new Set<string>(['bad_json', 'invalid_message', 'unknown_type', 'type_mismatch', 'unsupported_version']);
/** A decode is synchronous: this only catches catastrophic backtracking or quadratic blow-ups. */
const SLOW_MS = 1000;

// An independent compile of the same schemas, to re-validate what the decoder returned.
const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
const validators = Object.fromEntries(Object.entries(deviceMessageSchemas).map(([type, schema]) => [type, ajv.compile(schema)])) as Record<
  DeviceMessageType,
  ValidateFunction
>;
const channelTypes: Record<string, DeviceMessageType> = CHANNEL_TYPES;

interface Mode {
  name: string;
  impliedType?: DeviceMessageType;
}

/** WS mode (no implied type) always; MQTT mode with the channel's type when the example belongs to a channel. */
function modesFor(example: (typeof allExamples)[number]): Mode[] {
  const modes: Mode[] = [{ name: 'ws' }];
  const channel = example.topic?.split('/')[2];
  const parsedType = (JSON.parse(example.json) as { type?: unknown }).type;
  const implied = channel ? channelTypes[channel] : Object.values(channelTypes).find((type) => type === parsedType);
  if (implied) modes.push({ name: `mqtt(${implied})`, impliedType: implied });
  return modes;
}

/** Returns a problem description, or null when the outcome is allowed. */
function check(text: string, mode: Mode): string | null {
  const started = performance.now();
  let outcome: unknown;
  let threw = false;
  try {
    outcome = decodeDeviceMessage(text, mode.impliedType ? { impliedType: mode.impliedType } : {});
  } catch (err) {
    threw = true;
    outcome = err;
  }
  const ms = performance.now() - started;
  if (ms > SLOW_MS) return `took ${Math.round(ms)} ms`;
  if (threw) {
    if (!(outcome instanceof ProtocolError)) return `threw ${String((outcome as Error)?.name)}: ${String((outcome as Error)?.message).slice(0, 200)}`;
    if (!(outcome.error in ERRORS) || !DECODE_CODES.has(outcome.error)) return `ProtocolError with code ${outcome.error}`;
    if (outcome.status !== ERRORS[outcome.error].status) return `status ${outcome.status} for ${outcome.error}`;
    return null;
  }
  const msg = outcome as Record<string, unknown>;
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return `returned a non-object: ${excerpt(String(msg))}`;
  if (Object.getPrototypeOf(msg) !== Object.prototype) return 'returned an object whose prototype is not Object.prototype';
  const type = msg.type as DeviceMessageType;
  if (!Object.prototype.hasOwnProperty.call(validators, type)) return `returned type ${JSON.stringify(type)}`;
  if (mode.impliedType && type !== mode.impliedType) return `returned type ${type} on the ${mode.impliedType} channel`;
  if (msg.v !== undefined && msg.v !== 1) return `returned v ${JSON.stringify(msg.v)}`;
  const validate = validators[type];
  if (!validate(msg)) return `returned a message that fails its schema: ${ajv.errorsText(validate.errors)}`;
  return null;
}

const deviceExamples = allExamples.filter((e) => e.from === 'device');

t.test('the spec has device-message examples to fuzz', async (t) => {
  t.ok(deviceExamples.length >= 20, `${deviceExamples.length} device examples`);
});

t.test(`decodeDeviceMessage survives seeded mutations of every device example (run seed ${RUN_SEED})`, async (t) => {
  let decodes = 0;
  let accepted = 0;
  for (const [index, example] of deviceExamples.entries()) {
    const modes = modesFor(example);
    const failures: string[] = [];
    for (let i = 0; i < CASES_PER_EXAMPLE; i++) {
      const seed = caseSeed(RUN_SEED, index, i);
      const { what, text } = mutate(example.json, seed);
      for (const mode of modes) {
        decodes++;
        const problem = check(text, mode);
        if (problem === null) {
          // Count only what decoded without error: the fuzzer must also reach the accepting paths.
          try {
            decodeDeviceMessage(text, mode.impliedType ? { impliedType: mode.impliedType } : {});
            accepted++;
          } catch {
            // rejected, as checked above
          }
        } else {
          failures.push(`seed=${seed} (run ${RUN_SEED}, example ${index}, case ${i}) mode=${mode.name} mutation="${what}": ${problem}; payload ${excerpt(text)}`);
        }
      }
    }
    t.same(failures.slice(0, 5), [], `${example.where}: ${CASES_PER_EXAMPLE} mutations × ${modes.map((m) => m.name).join(', ')}${failures.length > 5 ? ` (${failures.length} failures, first 5 shown)` : ''}`);
  }
  t.ok(decodes >= 3000, `${decodes} decodes`);
  t.ok(accepted > decodes / 50, `${accepted} of ${decodes} mutated payloads still decoded, so the accepting paths were fuzzed too`);
});

t.test('hand-picked hostile payloads: prototype keys, deep nesting, raw non-JSON numbers', async (t) => {
  const cases: [string, Mode][] = [
    ['{"metrics":{"__proto__":1}}', { name: 'mqtt', impliedType: 'telemetry' }],
    ['{"metrics":{"constructor":1,"toString":2,"hasOwnProperty":true}}', { name: 'mqtt', impliedType: 'telemetry' }],
    ['{"__proto__":{"type":"telemetry"},"metrics":{"a":1}}', { name: 'ws' }],
    ['{"type":"__proto__"}', { name: 'ws' }],
    ['{"type":"constructor"}', { name: 'ws' }],
    ['{"type":"hasOwnProperty"}', { name: 'mqtt', impliedType: 'ping' }],
    ['{"state":{"__proto__":{"polluted":true}}}', { name: 'mqtt', impliedType: 'state' }],
    ['{"kind":"x","metrics":{"__proto__":{"type":"number"}}}', { name: 'mqtt', impliedType: 'hello' }],
    ['{"metrics":{"t":1e999}}', { name: 'mqtt', impliedType: 'telemetry' }],
    ['{"metrics":{"t":NaN}}', { name: 'mqtt', impliedType: 'telemetry' }],
    [`{"id":"c","status":"succeeded","result":${'['.repeat(30_000)}${']'.repeat(30_000)}}`, { name: 'mqtt', impliedType: 'result' }],
    [`{"metrics":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`, { name: 'mqtt', impliedType: 'telemetry' }],
    [`{"type":"${'x'.repeat(70_000)}"}`, { name: 'ws' }],
  ];
  for (const [text, mode] of cases) t.equal(check(text, mode), null, `${mode.name} ${excerpt(text, 80)}`);
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
});
