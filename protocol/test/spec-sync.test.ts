/**
 * Keeps firmware-protocol.md in step with the protocol code [FP-1]: the error
 * catalog, channels, message types, limits, close codes and presence reasons
 * must match, and every labelled JSON example (and every message in the
 * session transcripts) must pass the real decoder, or be rejected with the
 * error its label names. Needs the built package: `npx tsc -b protocol`.
 */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import * as protocol from '@iot-hub/protocol';
import {
  CHANNEL_TYPES,
  DEVICE_CHANNELS,
  DEVICE_ID_PATTERN,
  ERRORS,
  HEARTBEAT_GRACE_FACTOR,
  DEFAULT_HEARTBEAT_SEC,
  HUB_CHANNELS,
  NAME_PATTERN,
  ProtocolError,
  WS_CLOSE,
  authSchema,
  decodeDeviceMessage,
  deviceMessageSchemas,
  helloSchema,
  isDeviceChannel,
  parseTopic,
  resultSchema,
  stateSchema,
} from '@iot-hub/protocol';
import type { DeviceMessageType, HubMessage, PresenceReason, PresenceStatus } from '@iot-hub/protocol';
import { code, headings, inFence, leadingNumber, lines, section, specText, table } from './helpers/spec-document.js';
import { allExamples, fenceExamples, labelProblems, sessions, type Example, type Session } from './helpers/spec-examples.js';

const repoRoot = new URL('../../', import.meta.url);
const srcDir = new URL('protocol/src/', repoRoot);

// ---------------------------------------------------------------------------
// What the code knows that has no runtime list: `satisfies` makes
// `npm run typecheck` fail when a type gains or loses a member.

const HUB_TYPES = { command: true, desired: true, error: true, ack: true, welcome: true, pong: true } as const satisfies Record<
  HubMessage['type'],
  true
>;
type HubType = keyof typeof HUB_TYPES;

const PRESENCE_REASONS = {
  'never-connected': true,
  connected: true,
  disconnected: true,
  'last-will': true,
  'connection-lost': true,
  'heartbeat-timeout': true,
  'hub-restart': true,
  'silent-since-restart': true,
  'node-lost': true,
  replaced: true,
  deleted: true,
} as const satisfies Record<PresenceReason, true>;

const PRESENCE_STATUSES = { online: true, offline: true, unknown: true } as const satisfies Record<PresenceStatus, true>;

// ---------------------------------------------------------------------------
// Checking one message.

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);
const isString = (x: unknown): x is string => typeof x === 'string';
const isEpochMs = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) >= 0;
const isMid = (x: unknown): boolean => (isString(x) && x.length <= 64) || Number.isInteger(x);
const isStateValue = (x: unknown): boolean => x === null || ['number', 'boolean', 'string'].includes(typeof x);
const nameRe = new RegExp(NAME_PATTERN);
const deviceIdRe = new RegExp(DEVICE_ID_PATTERN);

function field(m: Json, key: string, ok: (x: unknown) => boolean, optional = false): string[] {
  if (!(key in m)) return optional ? [] : [`missing "${key}"`];
  return ok(m[key]) ? [] : [`bad "${key}": ${JSON.stringify(m[key])}`];
}

/** Structural checks of hub → device messages (the protocol has no schemas for these). */
const HUB_CHECKS: Record<HubType, (m: Json) => string[]> = {
  command: (m) => [
    ...field(m, 'id', (x) => isString(x) && x.length >= 1 && x.length <= resultSchema.properties.id.maxLength),
    ...field(m, 'name', (x) => isString(x) && nameRe.test(x)),
    ...field(m, 'params', isObject),
    ...field(m, 'expiresAt', isEpochMs, true),
  ],
  desired: (m) => [
    ...field(m, 'state', (x) => isObject(x) && Object.entries(x).every(([k, v]) => nameRe.test(k) && isStateValue(v))),
    ...field(m, 'version', (x) => Number.isSafeInteger(x) && (x as number) >= 0),
    // The delta is part of the desired state: each key with the same value as in `state` [FP-4.3].
    ...field(m, 'delta', (x) => isObject(x) && isObject(m.state) && Object.entries(x).every(([k, v]) => Object.hasOwn(m.state as Json, k) && (m.state as Json)[k] === v)),
  ],
  error: (m) => {
    const problems = [
      ...field(m, 'code', Number.isInteger),
      ...field(m, 'error', (x) => isString(x) && Object.hasOwn(ERRORS, x)),
      ...field(m, 'message', isString),
      ...field(m, 'ref', isMid, true),
      ...field(m, 'topic', isString, true),
    ];
    if (problems.length > 0) return problems;
    const entry = ERRORS[m.error as keyof typeof ERRORS];
    if (m.code !== entry.status) problems.push(`code ${String(m.code)} but ERRORS.${String(m.error)} is ${entry.status}`);
    const text = m.message as string;
    if (text !== entry.message && !text.startsWith(`${entry.message}: `)) {
      problems.push(`message "${text}" does not start with the catalog text "${entry.message}"`);
    }
    return problems;
  },
  ack: (m) => field(m, 'mid', isMid),
  welcome: (m) => [...field(m, 'id', (x) => isString(x) && deviceIdRe.test(x)), ...field(m, 'ts', isEpochMs)],
  pong: (m) => field(m, 'ts', isEpochMs),
};

/** MQTT hub channel → the type it carries, as the spec's channel table says. */
function hubChannelTypes(): Map<string, string> {
  const map = new Map<string, string>();
  for (const row of table('FP-3.1', 'channel').rows) {
    if (row.direction === 'hub → device') map.set(code(row.channel ?? '') ?? '', code(row['carries `type`'] ?? '') ?? '');
  }
  return map;
}

/** Checks one example; returns the decoded or parsed message when it is accepted. */
function checkExample(tt: Tap, ex: Example): Json | null {
  const at = ex.where;
  let channelType: string | undefined;
  if (ex.transport === 'mqtt') {
    const parsed = ex.topic === undefined ? null : parseTopic(ex.topic);
    if (!parsed) {
      tt.fail(`${at}: "${String(ex.topic)}" is not a devices/{id}/{channel} topic`);
      return null;
    }
    const qos = ex.attrs.qos;
    if (qos !== undefined) tt.ok(qos === '0' || qos === '1', `${at}: QoS ${qos} is 0 or 1`);
    if (ex.attrs.retain === '1') tt.equal(parsed.channel, 'status', `${at}: only status is retained`);
    if (ex.from === 'device') {
      if (!isDeviceChannel(parsed.channel)) {
        tt.fail(`${at}: a device publishes on ${parsed.channel}, which is not a device channel`);
        return null;
      }
      channelType = CHANNEL_TYPES[parsed.channel];
    } else {
      channelType = hubChannelTypes().get(parsed.channel);
      tt.ok(channelType, `${at}: ${parsed.channel} is a hub channel`);
    }
    if (ex.type !== undefined) tt.equal(ex.type, channelType, `${at}: label names the type the channel carries`);
  }

  if (ex.from === 'device') {
    const impliedType = channelType as DeviceMessageType | undefined;
    try {
      const msg = decodeDeviceMessage(ex.json, impliedType ? { impliedType } : {});
      if (ex.rejected !== undefined) {
        tt.fail(`${at}: decoded, but the spec says it is rejected with ${ex.rejected}`);
        return null;
      }
      const expected = ex.type ?? channelType;
      if (expected !== undefined) tt.equal(msg.type, expected, `${at}: decodes as ${expected}`);
      else tt.pass(`${at}: decodes as ${msg.type}`);
      return msg as unknown as Json;
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      if (ex.rejected === undefined) tt.fail(`${at}: ${err.error}: ${err.message}`);
      else tt.equal(err.error, ex.rejected, `${at}: rejected with ${ex.rejected}`);
      return null;
    }
  }

  let msg: unknown;
  try {
    msg = JSON.parse(ex.json);
  } catch (err) {
    tt.fail(`${at}: hub message is not JSON: ${(err as Error).message}`);
    return null;
  }
  if (!isObject(msg)) {
    tt.fail(`${at}: hub message is not an object`);
    return null;
  }
  tt.equal(msg.v, 1, `${at}: hub messages carry "v": 1`);
  const type = msg.type;
  if (!isString(type) || !Object.hasOwn(HUB_TYPES, type)) {
    tt.fail(`${at}: ${JSON.stringify(type)} is not a hub message type`);
    return null;
  }
  const expected = ex.type ?? channelType;
  if (expected !== undefined) tt.equal(type, expected, `${at}: hub message is a ${expected}`);
  tt.same(HUB_CHECKS[type as HubType](msg), [], `${at}: ${type} has the fields the spec gives it`);
  return msg;
}

/** The `t` a subtest callback receives. */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

// ---------------------------------------------------------------------------

t.test('clauses: every FP number the brief and the code cite has a heading', async (t) => {
  const wanted = ['FP-1', 'FP-2', 'FP-2.1', 'FP-2.2', 'FP-2.3', 'FP-3', 'FP-3.1', 'FP-3.2', 'FP-4', 'FP-4.1', 'FP-4.2', 'FP-4.3'];
  wanted.push('FP-4.4', 'FP-4.5', 'FP-5', 'FP-6', 'FP-7', 'FP-8', 'FP-9', 'FP-10');
  const present = headings.map((h) => h.clause);
  for (const clause of wanted) t.ok(present.includes(clause), `${clause} has a heading`);
  t.same(
    present.filter((c) => !c.includes('.')),
    wanted.filter((c) => !c.includes('.')),
    'top-level clauses in order',
  );
  t.equal(new Set(present).size, present.length, 'no clause number is used twice');

  const cited = new Set<string>();
  for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.ts'))) {
    for (const m of readFileSync(new URL(file, srcDir), 'utf8').matchAll(/\[(FP-\d+(?:\.\d+)?)\]/g)) cited.add(m[1]!);
  }
  t.ok(cited.size >= 5, 'protocol/src cites clauses');
  for (const clause of cited) t.ok(present.includes(clause), `${clause}, cited in protocol/src, has a heading`);
});

t.test('links: every #anchor in the spec points at a heading', async (t) => {
  // GitHub's slugs: lower case, punctuation dropped, spaces to hyphens.
  const slugs = new Set(
    lines
      .filter((l, i) => !inFence[i] && /^#{1,6} /.test(l))
      .map((l) => l.replace(/^#+ /, '').toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')),
  );
  const links = [...specText.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
  t.ok(links.length >= 20, `${links.length} internal links`);
  t.same([...new Set(links.filter((l) => !slugs.has(l)))], [], 'no link to a missing heading');
});

t.test('errors: the FP-8 table is exactly the ERRORS catalog', async (t) => {
  const rows = table('FP-8', 'error').rows;
  const documented = rows.map((r) => code(r.error ?? ''));
  for (const [name, entry] of Object.entries(ERRORS)) {
    const row = rows.find((r) => code(r.error ?? '') === name);
    if (!row) {
      t.fail(`ERRORS.${name} is missing from the FP-8 table`);
      continue;
    }
    t.equal(leadingNumber(row.code ?? ''), entry.status, `${name}: code ${entry.status}`);
    t.equal(row['catalog message'], entry.message, `${name}: catalog message`);
    t.ok((row.when ?? '').length > 0, `${name}: says when it happens`);
    t.ok((row['the device should'] ?? '').length > 0, `${name}: says what the device does`);
  }
  t.same(
    documented.filter((c) => c === null || !Object.hasOwn(ERRORS, c)),
    [],
    'the table lists no error that ERRORS does not have',
  );
  t.equal(new Set(documented).size, documented.length, 'each error listed once');
});

t.test('channels: the FP-3.1 table lists every channel with its direction and type', async (t) => {
  const rows = table('FP-3.1', 'channel').rows;
  const byName = new Map(rows.map((r) => [code(r.channel ?? ''), r]));
  for (const channel of DEVICE_CHANNELS) {
    const row = byName.get(channel);
    if (!row) {
      t.fail(`device channel ${channel} is missing`);
      continue;
    }
    t.equal(row.direction, 'device → hub', `${channel}: device → hub`);
    t.equal(code(row['carries `type`'] ?? ''), CHANNEL_TYPES[channel], `${channel}: carries ${CHANNEL_TYPES[channel]}`);
  }
  for (const channel of HUB_CHANNELS) {
    const row = byName.get(channel);
    if (!row) {
      t.fail(`hub channel ${channel} is missing`);
      continue;
    }
    t.equal(row.direction, 'hub → device', `${channel}: hub → device`);
    t.ok(Object.hasOwn(HUB_TYPES, code(row['carries `type`'] ?? '') ?? ''), `${channel}: carries a hub message type`);
  }
  t.same([...byName.keys()].sort(), [...DEVICE_CHANNELS, ...HUB_CHANNELS].sort(), 'no other channels');
  for (const channel of [...DEVICE_CHANNELS, ...HUB_CHANNELS]) {
    t.ok(specText.includes(`devices/th-01/${channel}`), `${channel}: used in an example topic`);
  }
});

t.test('message types: the FP-4 table lists every device and hub message type', async (t) => {
  const rows = table('FP-4', '`type`').rows;
  const deviceTypes = rows.filter((r) => r.direction === 'device → hub').map((r) => code(r['`type`'] ?? ''));
  const hubTypes = rows.filter((r) => r.direction === 'hub → device').map((r) => code(r['`type`'] ?? ''));
  t.same(deviceTypes.sort(), Object.keys(deviceMessageSchemas).sort(), 'device → hub types are the decoder schemas');
  t.same(hubTypes.sort(), Object.keys(HUB_TYPES).sort(), 'hub → device types are HubMessage');
  const channelOf = new Map<string, string>(Object.entries(CHANNEL_TYPES).map(([channel, type]) => [type, channel]));
  for (const row of rows.filter((r) => r.direction === 'device → hub')) {
    const type = code(row['`type`'] ?? '') ?? '';
    const channel = channelOf.get(type);
    const cell = row['MQTT channel'] ?? '';
    if (channel) t.equal(code(cell), channel, `${type} travels on the ${channel} channel`);
    else t.ok(cell.startsWith('—'), `${type} has no MQTT channel`);
  }
});

t.test('examples: every JSON block is labelled and passes the decoder as labelled', async (t) => {
  t.same(labelProblems, [], 'every ```json block has a device-/hub- label and a transport');
  t.ok(fenceExamples.length >= 30, `${fenceExamples.length} labelled examples`);
  for (const ex of fenceExamples) checkExample(t, ex);
});

t.test('examples: an error shown right after a rejected device example is exactly what the decoder answers', async (t) => {
  let pairs = 0;
  for (let i = 0; i + 1 < fenceExamples.length; i++) {
    const ex = fenceExamples[i]!;
    const next = fenceExamples[i + 1]!;
    if (ex.from !== 'device' || ex.rejected === undefined || next.from !== 'hub' || next.type !== 'error') continue;
    const channel = ex.topic === undefined ? undefined : parseTopic(ex.topic)?.channel;
    const impliedType = channel !== undefined && isDeviceChannel(channel) ? CHANNEL_TYPES[channel] : undefined;
    let err: ProtocolError;
    try {
      decodeDeviceMessage(ex.json, impliedType ? { impliedType } : {});
      continue; // checkExample reports the mislabel.
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      err = e;
    }
    // What DeviceSession.fail sends [FP-8]: `ref` from the mid, `topic` on MQTT.
    const expected: Json = { v: 1, type: 'error', code: err.status, error: err.error, message: err.message };
    if (err.ref !== undefined) expected.ref = err.ref;
    if (ex.transport === 'mqtt') expected.topic = ex.topic;
    t.same(JSON.parse(next.json), expected, `${next.where}: the error for ${ex.where}`);
    pairs++;
  }
  t.ok(pairs >= 4, `${pairs} rejected examples are followed by their error`);
});

/** The type an example is accepted as, or null when the decoder or the hub-type list rejects it (asserts nothing). */
function acceptedType(ex: Example): string | null {
  const channel = ex.topic === undefined ? undefined : parseTopic(ex.topic)?.channel;
  if (ex.from === 'hub') {
    const msg = JSON.parse(ex.json) as unknown;
    return isObject(msg) && isString(msg.type) && Object.hasOwn(HUB_TYPES, msg.type) ? msg.type : null;
  }
  try {
    const impliedType = channel !== undefined && isDeviceChannel(channel) ? CHANNEL_TYPES[channel] : undefined;
    return decodeDeviceMessage(ex.json, impliedType ? { impliedType } : {}).type;
  } catch {
    return null;
  }
}

t.test('examples: every message type has an accepted example on each transport it uses', async (t) => {
  const seen = new Set<string>();
  let rejected = 0;
  for (const ex of allExamples) {
    const type = acceptedType(ex);
    if (type === null || ex.rejected !== undefined) rejected++;
    else seen.add(`${ex.from}-${type} ${ex.transport}`);
  }
  const wsOnly = new Set(['auth', 'ack', 'welcome', 'pong']);
  for (const type of Object.keys(deviceMessageSchemas)) {
    t.ok(seen.has(`device-${type} ws`), `device ${type}: WebSocket example`);
    if (!wsOnly.has(type)) t.ok(seen.has(`device-${type} mqtt`), `device ${type}: MQTT example`);
  }
  for (const type of Object.keys(HUB_TYPES)) {
    t.ok(seen.has(`hub-${type} ws`), `hub ${type}: WebSocket example`);
    if (!wsOnly.has(type)) t.ok(seen.has(`hub-${type} mqtt`), `hub ${type}: MQTT example`);
  }
  t.ok(rejected >= 3, `the spec shows rejected messages too (${rejected})`);
});

t.test('sessions: a full transcript for each transport', async (t) => {
  for (const transport of ['mqtt', 'ws'] as const) {
    const mine = sessions.filter((s) => s.transport === transport);
    t.ok(mine.length > 0, `${transport}: has a session transcript`);
    const text = mine.map((s) => s.text).join('\n');
    const types = new Set<string>();
    for (const session of mine) {
      session.messages.forEach((ex, i) => {
        const msg = checkExample(t, ex);
        if (msg && isString(msg.type)) types.add(`${ex.from}-${msg.type}`);
        if (ex.rejected === undefined) return;
        // A rejected message is answered by the next hub message: an error naming it.
        const answer = session.messages.slice(i + 1).find((m) => m.from === 'hub');
        const error = answer ? (JSON.parse(answer.json) as Json) : {};
        t.equal(error.error, ex.rejected, `${ex.where}: answered with ${ex.rejected}`);
        const sent = JSON.parse(ex.json) as Json;
        if (transport === 'ws' && 'mid' in sent) t.equal(error.ref, sent.mid, `${ex.where}: the error's ref is the mid`);
        if (transport === 'mqtt') t.equal(error.topic, ex.topic, `${ex.where}: the error names the topic`);
      });
    }
    const wanted = ['device-hello', 'device-telemetry', 'device-state', 'device-result', 'hub-desired', 'hub-command', 'hub-error'];
    for (const want of wanted) t.ok(types.has(want), `${transport}: shows ${want}`);
    if (transport === 'mqtt') {
      for (const packet of ['CONNECT', 'CONNACK', 'SUBSCRIBE', 'SUBACK', 'PUBACK', 'DISCONNECT']) {
        t.match(text, new RegExp(`^[→←] ${packet}\\b`, 'm'), `mqtt: shows ${packet}`);
      }
      const user = /username=(\S+)/.exec(text)?.[1];
      const ids = new Set(mine.flatMap((s) => s.messages).map((m) => parseTopic(m.topic ?? '')?.deviceId));
      t.same([...ids], [user], 'mqtt: every topic is the connected device’s own');
    } else {
      for (const want of ['hub-welcome', 'hub-ack', 'hub-pong', 'device-auth', 'device-ping']) t.ok(types.has(want), `ws: shows ${want}`);
      t.match(text, /^→ close 1000$/m, 'ws: the device closes cleanly');
      const basic = /Authorization: Basic (\S+)/.exec(text)?.[1] ?? '';
      const [id] = Buffer.from(basic, 'base64').toString('utf8').split(':');
      const welcome = /"type":"welcome","id":"([^"]+)"/.exec(text)?.[1];
      t.equal(id, welcome, 'ws: the Basic credentials decode to the welcomed device id');
      checkAcks(t, mine);
    }
  }
});

/** On the WebSocket every accepted hello/telemetry/state/result with a mid is acked, and every ack has a sender. */
function checkAcks(t: Tap, wsSessions: Session[]): void {
  const ackable = new Set(['hello', 'telemetry', 'state', 'result']);
  for (const session of wsSessions) {
    const sentMids: unknown[] = [];
    const ackedMids: unknown[] = [];
    for (const ex of session.messages) {
      const msg = JSON.parse(ex.json) as Json;
      if (ex.from === 'device' && ex.rejected === undefined && 'mid' in msg && ackable.has(String(msg.type))) sentMids.push(msg.mid);
      if (ex.from === 'hub' && msg.type === 'ack') {
        t.ok(sentMids.includes(msg.mid), `${ex.where}: ack ${String(msg.mid)} follows a message with that mid`);
        ackedMids.push(msg.mid);
      }
    }
    t.same(sentMids.filter((mid) => !ackedMids.includes(mid)), [], `${session.where}: every message with a mid is acked`);
  }
}

t.test('limits: FP-7 lists every constant of limits.ts with its value', async (t) => {
  const source = readFileSync(new URL('limits.ts', srcDir), 'utf8');
  const names = [...source.matchAll(/^export const (\w+)\s*=/gm)].map((m) => m[1]!);
  t.ok(names.length >= 15, `${names.length} constants in limits.ts`);
  const exported = protocol as unknown as Record<string, unknown>;
  const rows = table('FP-7.1', 'constant').rows;
  for (const name of names) {
    const value = exported[name];
    t.ok(value !== undefined, `${name} is exported (rebuild: npx tsc -b protocol)`);
    const row = rows.find((r) => code(r.constant ?? '') === name);
    if (!row) {
      t.fail(`${name} is missing from the FP-7.1 table`);
      continue;
    }
    const cell = row.value ?? '';
    if (typeof value === 'string') {
      t.equal(code(cell), value, `${name} = ${value}`);
    } else {
      t.equal(leadingNumber(cell), value, `${name} = ${String(value)}`);
      // "(64 KiB)", "(5 minutes)", "(365 days)" must say the same amount.
      const human = /\((\d+(?:\.\d+)?) (KiB|minutes|days)\)/.exec(cell);
      if (human) {
        const unit = { KiB: 1024, minutes: 60_000, days: 86_400_000 }[human[2] as 'KiB' | 'minutes' | 'days'];
        t.equal(Number(human[1]) * unit, value, `${name}: "${human[0]}" is the same value`);
      }
    }
    t.ok((row.meaning ?? '').length > 0, `${name}: meaning given`);
  }
  t.same(
    rows.map((r) => code(r.constant ?? '')).filter((n) => n === null || !names.includes(n)),
    [],
    'the table lists no constant that limits.ts does not have',
  );

  // Every "`NAME` = value" anywhere in the text uses the current value.
  const inline = [...specText.matchAll(/`([A-Z][A-Z0-9_]+)`\s*=\s*(\d+(?:\.\d+)?)/g)];
  t.ok(inline.length >= 10, `${inline.length} inline limit values`);
  for (const m of inline) {
    const name = m[1]!;
    t.ok(names.includes(name), `${name} (inline) is a limits.ts constant`);
    t.equal(Number(m[2]), exported[name], `inline ${name} = ${m[2]!}`);
  }
  const timeout = HEARTBEAT_GRACE_FACTOR * DEFAULT_HEARTBEAT_SEC;
  t.ok(specText.replace(/\s+/g, ' ').includes(`${timeout} s with the default interval`), `FP-5 says the default timeout is ${timeout} s`);
});

t.test('limits: FP-7.2 field limits match the message schemas', async (t) => {
  const metricSpec = helloSchema.properties.metrics.additionalProperties.properties;
  const commandSpec = helloSchema.properties.commands.additionalProperties.properties;
  const paramSpec = commandSpec.params.additionalProperties.properties;
  const stateKeySpec = helloSchema.properties.state.additionalProperties.properties;
  const expected: Record<string, number[]> = {
    '`mid` (string)': [helloSchema.properties.mid.anyOf[0].maxLength],
    '`hello.fw`': [helloSchema.properties.fw.maxLength],
    '`hello.model`': [helloSchema.properties.model.maxLength],
    '`hello.metrics`': [helloSchema.properties.metrics.maxProperties],
    '`hello.commands`': [helloSchema.properties.commands.maxProperties],
    '`hello.commands.*.params`': [commandSpec.params.maxProperties],
    '`hello.*.unit`': [metricSpec.unit.maxLength, paramSpec.unit.maxLength, stateKeySpec.unit.maxLength],
    '`hello.*.description`': [metricSpec.description.maxLength, commandSpec.description.maxLength, paramSpec.description.maxLength, stateKeySpec.description.maxLength],
    '`hello.commands.*.params.*.values`': [paramSpec.values.maxItems],
    '`hello.state`': [helloSchema.properties.state.maxProperties],
    '`hello.state.*.values`': [stateKeySpec.values.maxItems],
    '`hello.maxMessageBytes`': [helloSchema.properties.maxMessageBytes.minimum],
    '`state.state.*` (string)': [stateSchema.properties.state.additionalProperties.anyOf[1].maxLength],
    '`state.refused`': [stateSchema.properties.refused.maxProperties],
    '`state.refused.*`': [stateSchema.properties.refused.additionalProperties.maxLength],
    '`result.id`': [resultSchema.properties.id.maxLength],
    '`result.error`': [resultSchema.properties.error.maxLength],
    '`auth.token`': [authSchema.properties.token.maxLength],
  };
  const rows = table('FP-7.2', 'field').rows;
  t.same(rows.map((r) => r.field).sort(), Object.keys(expected).sort(), 'the table has exactly these fields');
  for (const [fieldName, values] of Object.entries(expected)) {
    const row = rows.find((r) => r.field === fieldName);
    for (const value of values) t.equal(leadingNumber(row?.limit ?? ''), value, `${fieldName}: ${value}`);
  }
});

t.test('WebSocket close codes: FP-3.2 lists every WS_CLOSE code', async (t) => {
  const rows = table('FP-3.2', 'close code').rows;
  for (const [name, value] of Object.entries(WS_CLOSE)) {
    const row = rows.find((r) => code(r['`WS_CLOSE` name'] ?? '') === name);
    t.equal(leadingNumber(row?.['close code'] ?? ''), value, `WS_CLOSE.${name} = ${value}`);
  }
  const known = new Set<number>(Object.values(WS_CLOSE));
  for (const row of rows) {
    const number = leadingNumber(row['close code'] ?? '');
    const name = code(row['`WS_CLOSE` name'] ?? '');
    if (name === null) t.notOk(known.has(number ?? -1), `close ${String(number)} without a name is not a WS_CLOSE code`);
    else t.ok(Object.hasOwn(WS_CLOSE, name), `WS_CLOSE.${name} exists`);
  }
});

t.test('presence: FP-6 lists every PresenceReason once, with a PresenceStatus', async (t) => {
  const rows = table('FP-6', 'status').rows;
  const reasons = rows.map((r) => code(r.reason ?? ''));
  t.same([...reasons].sort(), Object.keys(PRESENCE_REASONS).sort(), 'reasons are exactly PresenceReason');
  for (const row of rows) {
    t.ok(Object.hasOwn(PRESENCE_STATUSES, code(row.status ?? '') ?? ''), `${String(row.reason)}: ${String(row.status)} is a PresenceStatus`);
  }
});

t.test('conformance: every FP-9 item is a MUST, SHOULD or MAY', async (t) => {
  const { from, to } = section('FP-9');
  const items = lines.slice(from, to).filter((l) => l.startsWith('- [ ]'));
  t.ok(items.length >= 15, `${items.length} checklist items`);
  for (const item of items) t.match(item, /\b(MUST|SHOULD|MAY)\b/, item);
});
