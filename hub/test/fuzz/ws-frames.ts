/**
 * Seeded WebSocket byte streams for the wire fuzzer: the upgrade request
 * (valid, or wrong in the ways a broken or hostile client gets it wrong) and
 * RFC 6455 frames, valid and broken (unmasked, reserved bits and opcodes,
 * orphan or interleaved continuations, control frames too long or
 * fragmented, huge declared lengths, bad UTF-8, bad close codes). Every
 * function is a pure function of the Rng it is given.
 */
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';
import { allExamples } from '../../../protocol/test/helpers/spec-examples.js';
import { type Rng, mutate } from '../../../protocol/test/helpers/fuzz-mutations.js';

const deviceExamples = allExamples.filter((e) => e.from === 'device');

/** Frames the dashboard socket understands, for mutation: subscribe, unsubscribe, ping. */
const dashboardExamples = [
  '{"id":1,"op":"subscribe","devices":"*"}',
  '{"id":2,"op":"subscribe","devices":["fuzz-0","control-0"],"events":["telemetry","presence","message"]}',
  '{"id":"a","op":"unsubscribe","devices":["fuzz-0"],"events":["telemetry"]}',
  '{"id":3,"op":"unsubscribe","devices":"*"}',
  '{"id":4,"op":"ping"}',
];

export const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

function bytes(rng: Rng, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => rng.int(256)));
}

/** One frame [RFC 6455 5.2]: a client's frames are masked; `declaredLength` may lie. */
export function wsFrame(rng: Rng, opcode: number, payload: Buffer, opts: { fin?: boolean; rsv?: number; masked?: boolean; declaredLength?: number } = {}): Buffer {
  const { fin = true, rsv = 0, masked = true } = opts;
  const length = opts.declaredLength ?? payload.length;
  const head = [(fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0xf)];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(maskBit | 127, ...big);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const key = bytes(rng, 4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code & 0xffff);
  return Buffer.concat([b, Buffer.from(reason)]);
}

/** A seeded mutation of one of the socket's own message examples. */
export function messageText(rng: Rng, endpoint: WsEndpoint): string {
  const example = endpoint === 'device' ? rng.pick(deviceExamples).json : rng.pick(dashboardExamples);
  return mutate(example, rng.int(2 ** 32)).text;
}

export type WsEndpoint = 'device' | 'dashboard';
type FrameMutation = (rng: Rng, endpoint: WsEndpoint) => Buffer;

const BAD_UTF8 = [[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82]];

/** Each names how a client gets the framing wrong; the hub may close the connection on any of them. */
export const frameMutations: Record<string, FrameMutation> = {
  unmasked: (rng, e) => wsFrame(rng, OP.text, Buffer.from(messageText(rng, e)), { masked: false }),
  reservedBits: (rng, e) => wsFrame(rng, OP.text, Buffer.from(messageText(rng, e)), { rsv: 1 + rng.int(7) }),
  reservedOpcode: (rng) => wsFrame(rng, rng.pick([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]), bytes(rng, rng.int(40))),
  orphanContinuation: (rng, e) => wsFrame(rng, OP.continuation, Buffer.from(messageText(rng, e))),
  fragmented(rng, e) {
    // A message in pieces; sometimes a ping between them (allowed), sometimes a new message (not allowed).
    const text = Buffer.from(messageText(rng, e));
    const parts = 2 + rng.int(4);
    const size = Math.max(1, Math.ceil(text.length / parts));
    const frames: Buffer[] = [];
    for (let i = 0, at = 0; at < text.length || i === 0; i++, at += size) {
      const last = at + size >= text.length;
      frames.push(wsFrame(rng, i === 0 ? OP.text : OP.continuation, text.subarray(at, at + size), { fin: last }));
      if (!last && rng.chance(0.3)) frames.push(rng.chance(0.5) ? wsFrame(rng, OP.ping, bytes(rng, rng.int(10))) : wsFrame(rng, OP.text, Buffer.from('{}')));
    }
    return Buffer.concat(frames);
  },
  manyFragments(rng) {
    // One message in thousands of 1-byte fragments: the hub caps fragments per message.
    const frames = [wsFrame(rng, OP.text, Buffer.from('{'), { fin: false })];
    for (let i = 0; i < 1100 + rng.int(200); i++) frames.push(wsFrame(rng, OP.continuation, Buffer.from(' '), { fin: false }));
    return Buffer.concat(frames);
  },
  longControl: (rng) => wsFrame(rng, rng.pick([OP.ping, OP.pong, OP.close]), bytes(rng, 126 + rng.int(200))),
  fragmentedControl: (rng) => wsFrame(rng, rng.pick([OP.ping, OP.pong]), bytes(rng, rng.int(20)), { fin: false }),
  hugeDeclaredLength: (rng) => wsFrame(rng, rng.pick([OP.text, OP.binary, OP.continuation]), bytes(rng, rng.int(16)), { declaredLength: rng.pick([65_537, 1 << 20, 2 ** 31, 2 ** 53 - 1]) }),
  badUtf8Text(rng) {
    const text = Buffer.concat([Buffer.from('{"type":"ping","x":"'), Buffer.from(rng.pick(BAD_UTF8)), Buffer.from('"}')]);
    return wsFrame(rng, OP.text, text);
  },
  badClose: (rng) => wsFrame(rng, OP.close, rng.chance(0.2) ? bytes(rng, 1) : closePayload(rng.pick([0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]), rng.chance(0.5) ? '' : 'x')),
  badCloseReason: (rng) => wsFrame(rng, OP.close, Buffer.concat([closePayload(1000), Buffer.from(rng.pick(BAD_UTF8))])),
  binary: (rng, e) => wsFrame(rng, OP.binary, Buffer.from(messageText(rng, e))),
  truncated(rng, e) {
    const frame = wsFrame(rng, OP.text, Buffer.from(messageText(rng, e)));
    return frame.subarray(0, 1 + rng.int(frame.length - 1));
  },
  bitFlip(rng, e) {
    const frame = Buffer.from(wsFrame(rng, OP.text, Buffer.from(messageText(rng, e))));
    for (let i = 1 + rng.int(3); i > 0; i--) frame[rng.int(frame.length)]! ^= 1 << rng.int(8);
    return frame;
  },
  randomBytes: (rng) => bytes(rng, 1 + rng.int(128)),
};

/** One frame of an open session: mostly mutated messages of the endpoint, sometimes a control frame or broken framing. */
export function sessionFrame(rng: Rng, endpoint: WsEndpoint): { kind: string; bytes: Buffer } {
  const roll = rng.next();
  if (roll < 0.75) return { kind: 'message', bytes: wsFrame(rng, OP.text, Buffer.from(messageText(rng, endpoint))) };
  if (roll < 0.85) return { kind: 'control', bytes: rng.chance(0.5) ? wsFrame(rng, OP.ping, bytes(rng, rng.int(125))) : wsFrame(rng, OP.pong, bytes(rng, rng.int(20))) };
  const name = rng.pick(Object.keys(frameMutations));
  return { kind: name, bytes: frameMutations[name]!(rng, endpoint) };
}

/** How a session ends: a close frame, a FIN, or a reset (RST) without reading. */
export type SessionEnd = 'close-frame' | 'fin' | 'reset';
export function closeFrame(rng: Rng): Buffer {
  return wsFrame(rng, OP.close, closePayload(1000));
}

/** Upgrades that must never be accepted (a device may also authenticate after the upgrade, so fewer for it). */
const MUST_REFUSE: Record<WsEndpoint, ReadonlySet<string>> = {
  device: new Set(['path', 'apiPath', 'badAuth', 'noKey', 'version', 'method', 'noUpgrade']),
  dashboard: new Set(['path', 'apiPath', 'badAuth', 'noKey', 'version', 'method', 'noUpgrade', 'foreignOrigin', 'noSubprotocol']),
};

export interface UpgradeCredentials {
  host: string;
  /** The hub's own origin (http://127.0.0.1:port). */
  origin: string;
  deviceId: string;
  deviceToken: string;
  /** A dashboard token: the admin's or a viewer's. */
  dashboardToken: string;
}

/**
 * The upgrade request: mostly one the endpoint accepts (so frames get read),
 * otherwise each of the ways an upgrade is refused (unknown path, bad or no
 * credentials, foreign Origin, bad key or version, not GET, an API path).
 * `mustRefuse`: a 101 to this request would be a hole.
 */
export function upgradeRequest(rng: Rng, endpoint: WsEndpoint, c: UpgradeCredentials): { kind: string; text: string; mustRefuse: boolean } {
  const key = bytes(rng, 16).toString('base64');
  const headers: [string, string][] = [
    ['Host', c.host],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', key],
    ['Sec-WebSocket-Version', '13'],
  ];
  let path = endpoint === 'device' ? '/ws/device' : '/ws/dashboard';
  if (endpoint === 'device') {
    // Half authenticate in the upgrade; the rest send an `auth` frame first (or never do).
    if (rng.chance(0.5)) headers.push(['Authorization', `Basic ${Buffer.from(`${c.deviceId}:${c.deviceToken}`).toString('base64')}`]);
  } else {
    headers.push(['Origin', c.origin], ['Sec-WebSocket-Protocol', `${DASHBOARD_SUBPROTOCOL}, bearer.${c.dashboardToken}`]);
  }
  let method = 'GET';
  let kind = 'valid';
  if (rng.chance(0.3)) {
    kind = rng.pick(['path', 'apiPath', 'badAuth', 'malformedAuth', 'foreignOrigin', 'noKey', 'version', 'method', 'noUpgrade', 'hugeHeader', 'noSubprotocol']);
    const set = (name: string, value: string | null) => {
      const at = headers.findIndex(([n]) => n === name);
      if (at >= 0) headers.splice(at, 1);
      if (value !== null) headers.push([name, value]);
    };
    switch (kind) {
      case 'path': path = rng.pick(['/ws/nope', '/ws/device/../dashboard', '/ws', '/', `/ws/${'x'.repeat(3000)}`, '/ws/device%00']); break;
      case 'apiPath': path = rng.pick(['/api/devices', '/healthz', '/metrics', '/api/auth/login']); break;
      case 'badAuth': set('Authorization', `Basic ${Buffer.from(`${c.deviceId}:wrong`).toString('base64')}`); set('Sec-WebSocket-Protocol', endpoint === 'dashboard' ? `${DASHBOARD_SUBPROTOCOL}, bearer.wrong` : null); break;
      case 'malformedAuth': set('Authorization', rng.pick(['Basic', 'Basic !!!', 'Bearer x', `Basic ${Buffer.from('no-colon').toString('base64')}`, 'x'.repeat(2000)])); break;
      case 'foreignOrigin': set('Origin', rng.pick(['http://evil.example', 'null', c.origin.replace('http:', 'https:'), `${c.origin}.evil.example`])); break;
      case 'noKey': set('Sec-WebSocket-Key', rng.chance(0.5) ? null : 'short'); break;
      case 'version': set('Sec-WebSocket-Version', rng.pick(['7', '14', '', 'x'])); break;
      case 'method': method = rng.pick(['POST', 'PUT', 'HEAD']); break;
      case 'noUpgrade': set('Upgrade', rng.pick(['h2c', 'WebSocket2', ''])); break;
      case 'hugeHeader': headers.push(['X-Filler', 'y'.repeat(rng.pick([8_000, 20_000]))]); break;
      case 'noSubprotocol': set('Sec-WebSocket-Protocol', null); break;
    }
  }
  const text = `${method} ${path} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return { kind, text, mustRefuse: MUST_REFUSE[endpoint].has(kind) };
}

/** The `auth` frame a device sends when it did not authenticate in the upgrade [FP-3.2]. */
export function authFrame(rng: Rng, id: string, token: string): Buffer {
  return wsFrame(rng, OP.text, Buffer.from(JSON.stringify({ v: 1, type: 'auth', id, token: rng.chance(0.9) ? token : 'wrong' })));
}
