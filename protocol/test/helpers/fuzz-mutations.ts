/**
 * Seeded mutations of device messages for the fuzz tests (issue 7): the same
 * seed always yields the same payload, so a failure names its seed and can be
 * replayed. Mutations work on the parsed JSON (drop, duplicate, retype
 * fields, huge numbers, NaN-like strings, deep nesting, long strings,
 * unicode, prototype keys) and on the text (truncation, raw tokens JSON does
 * not allow, random bytes).
 */

/** mulberry32, as in device-sim/src/random.ts: tiny and reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the parts: one seed per (run seed, example, case). */
export function caseSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = `${String(part)}\u0000`;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  }
  return h >>> 0;
}

/** The run's seed: `FUZZ_SEED=<n>` replays a reported failure. */
export function runSeed(fallback: number): number {
  const env = process.env.FUZZ_SEED;
  return env && /^\d+$/.test(env) ? Number(env) >>> 0 : fallback;
}

export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

/** A placeholder string replaced by raw text after JSON.stringify (NaN, 1e999, deep nesting ...). */
class RawTokens {
  readonly tokens: string[] = [];
  add(raw: string): string {
    this.tokens.push(raw);
    return `@@RAW${this.tokens.length - 1}@@`;
  }
  apply(text: string): string {
    return text.replace(/"@@RAW(\d+)@@"/g, (_m, i: string) => this.tokens[Number(i)]!);
  }
}

export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];
const HUGE_NUMBERS = [1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 2 ** 64, -1, -(2 ** 53), 0.5, 1e-320, Number.MAX_VALUE, Number.MIN_VALUE, 4.2e15, 8.64e15 + 1];
const RAW_NUMBERS = ['1e999', '-1e999', 'NaN', 'Infinity', '-Infinity', '-0', '01', '1.', '.5', '0x10', '123456789012345678901234567890', '1E400', '+1'];
const NAN_LIKE = ['NaN', 'Infinity', '-Infinity', '1e999', '0x1F', '', ' ', 'null', 'true', '21.0', 'undefined', '-0', '1,5'];
const UNICODE = ['\ud800', '\udfff', 'a\u0000b', '\u202e\u202d', '😀🌡️', '\ufeff', 'e\u0301', '\u2028\u2029', 'ÿ', '温度', '\uffff', 'x\r\n\t'];
const TYPES = ['hello', 'telemetry', 'state', 'result', 'status', 'ping', 'auth', 'error', 'ack', 'welcome', 'command', 'desired', 'Telemetry', 'results', ''];

function isContainer(v: Json): v is Container {
  return typeof v === 'object' && v !== null;
}

/** Every (container, key) slot in the tree, root excluded. */
function slots(root: Json): { parent: Container; key: string | number }[] {
  const out: { parent: Container; key: string | number }[] = [];
  const walk = (node: Json, depth: number) => {
    if (!isContainer(node) || depth > 20) return;
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_v, i) => i) : Object.keys(node);
    for (const key of keys) {
      out.push({ parent: node, key });
      walk((node as Record<string | number, Json>)[key]!, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

function containers(root: Json): Container[] {
  const out: Container[] = isContainer(root) ? [root] : [];
  for (const { parent, key } of slots(root)) {
    const v = (parent as Record<string | number, Json>)[key]!;
    if (isContainer(v)) out.push(v);
  }
  return out;
}

function setKey(obj: Container, key: string | number, value: Json): void {
  if (Array.isArray(obj)) {
    obj[Number(key)] = value;
    return;
  }
  // defineProperty, so "__proto__" becomes an own key that JSON.stringify writes out.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function longString(rng: Rng): string {
  const len = rng.pick([65, 257, 1000, 5000, 20_000, 70_000]);
  const unit = rng.pick(['x', 'é', '😀', '\\', '"', 'ab1_']);
  return unit.repeat(Math.ceil(len / unit.length)).slice(0, len);
}

function deepRaw(rng: Rng): string {
  const depth = rng.pick([10, 100, 1000, 5000, 20_000]);
  return rng.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function randomValue(rng: Rng, raw: RawTokens, depth = 0): Json {
  switch (rng.int(depth > 2 ? 8 : 11)) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.pick(HUGE_NUMBERS);
    case 3: return rng.int(1000) - 10;
    case 4: return rng.pick(NAN_LIKE);
    case 5: return rng.pick(UNICODE);
    case 6: return longString(rng);
    case 7: return raw.add(rng.pick(RAW_NUMBERS));
    case 8: return Array.from({ length: rng.int(4) }, () => randomValue(rng, raw, depth + 1));
    case 9: {
      const obj: Record<string, Json> = {};
      for (let i = rng.int(4); i > 0; i--) setKey(obj, rng.pick([...PROTO_KEYS, 'a', 'temperature', 'type', 'v']), randomValue(rng, raw, depth + 1));
      return obj;
    }
    default: return raw.add(deepRaw(rng));
  }
}

function randomKey(rng: Rng): string {
  return rng.pick([...PROTO_KEYS, ...UNICODE, longString(rng), 'a', '1abc', 'has space', 'type', 'v', 'mid', 'metrics', 'samples', 'seq', 'ts', '']);
}

type TreeMutation = (rng: Rng, root: Record<string, Json>, raw: RawTokens) => string;

const treeMutations: Record<string, TreeMutation> = {
  drop(rng, root) {
    const all = slots(root).filter((s) => !Array.isArray(s.parent));
    if (all.length === 0) return 'drop: nothing';
    const s = rng.pick(all);
    delete (s.parent as Record<string, Json>)[s.key];
    return `drop ${String(s.key)}`;
  },
  duplicate(rng, root) {
    const all = slots(root);
    if (all.length === 0) return 'duplicate: nothing';
    const from = rng.pick(all);
    const to = rng.pick(containers(root));
    const value = structuredClone((from.parent as Record<string | number, Json>)[from.key]!);
    const key = Array.isArray(to) ? to.length : rng.chance(0.5) ? from.key : randomKey(rng);
    setKey(to, key, value);
    return `duplicate ${String(from.key)} as ${String(key).slice(0, 20)}`;
  },
  retype(rng, root, raw) {
    const all = slots(root);
    if (all.length === 0) return 'retype: nothing';
    const s = rng.pick(all);
    setKey(s.parent, s.key, randomValue(rng, raw));
    return `retype ${String(s.key)}`;
  },
  hugeNumber(rng, root, raw) {
    const s = rng.pick([...slots(root), { parent: root, key: rng.pick(['seq', 'ts', 'v', 'mid', 'heartbeatSec', 'version']) }]);
    setKey(s.parent, s.key, rng.chance(0.6) ? rng.pick(HUGE_NUMBERS) : raw.add(rng.pick(RAW_NUMBERS)));
    return `huge number at ${String(s.key)}`;
  },
  nanString(rng, root) {
    const s = rng.pick([...slots(root), { parent: root, key: 'seq' }]);
    setKey(s.parent, s.key, rng.pick(NAN_LIKE));
    return `NaN-like string at ${String(s.key)}`;
  },
  deepNesting(rng, root, raw) {
    const to = rng.pick(containers(root));
    const key = Array.isArray(to) ? rng.int(to.length + 1) : rng.pick([...Object.keys(to), 'result', 'x']);
    setKey(to, key, raw.add(deepRaw(rng)));
    return `deep nesting at ${String(key)}`;
  },
  longString(rng, root) {
    if (rng.chance(0.5)) {
      const to = rng.pick(containers(root));
      if (!Array.isArray(to)) {
        setKey(to, longString(rng), 1);
        return 'long key';
      }
    }
    const s = rng.pick([...slots(root), { parent: root, key: 'mid' }]);
    setKey(s.parent, s.key, longString(rng));
    return `long string at ${String(s.key)}`;
  },
  unicode(rng, root) {
    const to = rng.pick(containers(root));
    if (!Array.isArray(to) && rng.chance(0.5)) {
      setKey(to, rng.pick(UNICODE), rng.pick([1, 'x', true]));
      return 'unicode key';
    }
    const s = rng.pick([...slots(root), { parent: root, key: 'kind' }]);
    setKey(s.parent, s.key, rng.pick(UNICODE));
    return `unicode at ${String(s.key)}`;
  },
  protoKey(rng, root, raw) {
    const to = rng.pick(containers(root));
    const key = rng.pick(PROTO_KEYS);
    if (Array.isArray(to)) {
      to.push({ [key]: randomValue(rng, raw) });
    } else if (rng.chance(0.3)) {
      setKey(root, 'type', key);
    } else {
      setKey(to, key, rng.chance(0.5) ? rng.pick<Json>([1, true, 'x', null, { polluted: true }, { type: 'number' }]) : randomValue(rng, raw));
    }
    return `prototype key ${key}`;
  },
  envelope(rng, root, raw) {
    const field = rng.pick(['v', 'type', 'mid']);
    const values: Record<string, Json[]> = {
      v: [0, 2, '1', null, true, 1.5, -1, raw.add('1.0'), raw.add('1e0')],
      type: [...TYPES, 1, null, ['telemetry'], { type: 'telemetry' }],
      mid: [1.5, -1, null, true, {}, [], 'x'.repeat(65), 2 ** 60, ''],
    };
    setKey(root, field, rng.pick(values[field]!));
    return `envelope ${field}`;
  },
};

type TextMutation = (rng: Rng, text: string) => string;

const textMutations: Record<string, TextMutation> = {
  truncate: (rng, text) => text.slice(0, rng.int(text.length)),
  randomBytes(rng) {
    const bytes = Buffer.from(Array.from({ length: rng.int(200) }, () => rng.int(256)));
    return rng.chance(0.5) ? bytes.toString('utf8') : bytes.toString('latin1');
  },
  flipChars(rng, text) {
    const chars = [...text];
    for (let i = rng.int(5) + 1; i > 0 && chars.length > 0; i--) chars[rng.int(chars.length)] = rng.pick(['{', '}', '"', ',', ':', '[', '\\', '\u0000', 'x', '9']);
    return chars.join('');
  },
  duplicateKey: (rng, text) => text.replace('{', `{${JSON.stringify(rng.pick(['type', 'v', 'mid', 'metrics', 'seq', '__proto__']))}:${rng.pick(['1', '"ping"', 'null', '{}', '[]'])},`),
  notAnObject: (rng) => rng.pick(['[]', '[{}]', '"telemetry"', 'null', '42', 'true', '', ' ', '\ufeff{}', '{}garbage', '{}{}', '{"a":1,}', '/* c */{}', '{"a":1}\u0000']),
  bom: (_rng, text) => `\ufeff${text}`,
};

export interface Mutation {
  /** What was done, for the failure message. */
  what: string;
  text: string;
}

/** One seeded mutation of a JSON object example. */
export function mutate(exampleJson: string, seed: number): Mutation {
  const rng = new Rng(seed);
  const raw = new RawTokens();
  const steps: string[] = [];
  let text: string;
  if (rng.chance(0.8)) {
    const root = JSON.parse(exampleJson) as Record<string, Json>;
    const names = Object.keys(treeMutations);
    for (let n = 1 + (rng.chance(0.3) ? rng.int(3) : 0); n > 0; n--) {
      const name = rng.pick(names);
      steps.push(treeMutations[name]!(rng, root, raw));
    }
    text = raw.apply(JSON.stringify(root));
    if (rng.chance(0.1)) {
      const name = rng.pick(Object.keys(textMutations));
      text = textMutations[name]!(rng, text);
      steps.push(name);
    }
  } else {
    const name = rng.pick(Object.keys(textMutations));
    text = textMutations[name]!(rng, JSON.stringify(JSON.parse(exampleJson)));
    steps.push(name);
  }
  return { what: steps.join(' + '), text };
}

/** A short, printable excerpt of a payload for an assertion message. */
export function excerpt(text: string, max = 200): string {
  const shown = JSON.stringify(text.length > max ? text.slice(0, max) : text);
  return text.length > max ? `${shown}… (${text.length} chars)` : shown;
}
