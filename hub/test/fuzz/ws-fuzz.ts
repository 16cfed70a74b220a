/**
 * The WebSocket wire fuzzer: raw TCP connections to /ws/device and
 * /ws/dashboard send seeded upgrade requests and frames (ws-frames.ts) to the
 * hub of fuzz-harness.ts. Each session upgrades (or is refused), then sends
 * frames until its list runs out or the hub closes, and ends with a close
 * frame, a FIN or a reset, so every refusal and close path of the hub meets
 * peers that vanish. Session s of worker w is a pure function of (seed, w,
 * s); how much of it the hub reads before it closes depends on timing.
 */
import { Rng, caseSeed } from '../../../protocol/test/helpers/fuzz-mutations.js';
import { countAnswer, sleep, type FuzzTarget } from './fuzz-harness.js';
import { openRawSocket, writeAll } from './raw-socket.js';
import { authFrame, closeFrame, sessionFrame, upgradeRequest, type WsEndpoint } from './ws-frames.js';

/** The status line of an HTTP answer: 101 for an accepted upgrade. */
function statusOf(answer: Buffer): number | null {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(answer.subarray(0, 16).toString('latin1'));
  return m ? Number(m[1]) : null;
}

/**
 * Server → client frames after the 101: a close frame's code (1011 is the
 * hub failing), and `"code":5xx` in an error frame. Frames from the hub are
 * unmasked [RFC 6455 5.1]; only the start of what arrived is looked at.
 */
function faultsIn(frames: Buffer): { closeCode: number | null; serverError: string | null } {
  let closeCode: number | null = null;
  let serverError: string | null = null;
  for (let at = 0; at + 2 <= frames.length; ) {
    const opcode = frames[at]! & 0x0f;
    let len = frames[at + 1]! & 0x7f;
    let head = 2;
    if (len === 126) {
      if (at + 4 > frames.length) break;
      len = frames.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) break;
    const payload = frames.subarray(at + head, at + head + len);
    if (opcode === 0x8 && payload.length >= 2) closeCode = payload.readUInt16BE(0);
    if (opcode === 0x1 && /"code":5\d\d/.test(payload.toString('utf8'))) serverError ??= payload.toString('utf8').slice(0, 300);
    at += head + len;
  }
  return { closeCode, serverError };
}

function wsTarget(endpoint: WsEndpoint): FuzzTarget {
  const name = `ws-${endpoint}`;
  return {
    name,
    async worker({ index, seed, budget, httpPort, adminToken, viewerToken, device, counters }) {
      const host = `127.0.0.1:${httpPort}`;
      const creds = { host, origin: `http://${host}`, deviceId: device.id, deviceToken: device.token, dashboardToken: index % 2 === 0 ? viewerToken : adminToken };
      for (let session = 0; budget(); session++) {
        const caseId = caseSeed(seed, name, index, session);
        const rng = new Rng(caseId);
        const where = `${name} case ${caseId}`;
        const raw = await openRawSocket(httpPort).catch(() => null);
        if (!raw) {
          await sleep(20);
          continue;
        }
        counters.sessions++;
        const upgrade = upgradeRequest(rng, endpoint, creds);
        counters.byKind[`upgrade:${upgrade.kind}`] = (counters.byKind[`upgrade:${upgrade.kind}`] ?? 0) + 1;
        await writeAll(raw.socket, upgrade.text);
        counters.sent++;
        counters.bytes += upgrade.text.length;
        const end = rng.pick(['close-frame', 'fin', 'reset', 'reset'] as const);
        // Some sessions vanish without reading the answer: the hub's answer meets a reset.
        if (rng.chance(0.15)) {
          raw.socket.resetAndDestroy();
          continue;
        }
        const answer = await raw.until('\r\n\r\n', 2000);
        const status = statusOf(answer);
        countAnswer(counters, `http ${status ?? 'none'}`, status !== null && status >= 500 && status !== 503 ? `${where}: upgrade (${upgrade.kind}) answered ${status}` : undefined);
        if (status === 101 && upgrade.mustRefuse) countAnswer(counters, 'accepted wrongly', `${where}: an upgrade that must be refused (${upgrade.kind}) got 101`);
        if (status !== 101) {
          counters.connectRefused++;
          if (end === 'reset') raw.socket.resetAndDestroy();
          else raw.socket.destroy();
          continue;
        }
        const afterUpgrade = answer.indexOf('\r\n\r\n') + 4;
        if (endpoint === 'device' && !upgrade.text.includes('Authorization: Basic') && rng.chance(0.9)) await writeAll(raw.socket, authFrame(rng, device.id, device.token));
        const length = 3 + rng.int(60);
        for (let i = 0; i < length && !raw.closed && budget(); i++) {
          const frame = sessionFrame(rng, endpoint);
          await writeAll(raw.socket, frame.bytes);
          if (raw.closed) break;
          counters.sent++;
          counters.bytes += frame.bytes.length;
          counters.byKind[frame.kind] = (counters.byKind[frame.kind] ?? 0) + 1;
          if (i % 8 === 7) await sleep(1);
        }
        await sleep(5);
        if (raw.closed) counters.closedByHub++;
        const { closeCode, serverError } = faultsIn(raw.received().subarray(afterUpgrade));
        if (closeCode !== null) countAnswer(counters, `close ${closeCode}`, closeCode === 1011 ? `${where}: the hub closed with 1011` : undefined);
        if (serverError !== null) countAnswer(counters, 'error 5xx', `${where}: ${serverError}`);
        if (end === 'close-frame') await writeAll(raw.socket, closeFrame(rng));
        if (end === 'reset') raw.socket.resetAndDestroy();
        else raw.socket.destroy();
      }
    },
  };
}

export const wsDeviceTarget = wsTarget('device');
export const wsDashboardTarget = wsTarget('dashboard');
