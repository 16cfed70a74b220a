/**
 * The HTTP API fuzzer: raw TCP connections send seeded requests
 * (http-requests.ts), one per connection, to the hub of fuzz-harness.ts and
 * read the status line. Any 5xx but 503 is the hub failing on input (a
 * request's fault is a 4xx). A connection whose request the hub is still
 * waiting on (truncated, lying length) is dropped after a short wait, as
 * often by a reset as by a FIN.
 */
import { Rng, caseSeed } from '../../../protocol/test/helpers/fuzz-mutations.js';
import { countAnswer, sleep, type FuzzTarget } from './fuzz-harness.js';
import { fuzzRequest } from './http-requests.js';
import { openRawSocket, writeAll } from './raw-socket.js';

/** How long a request waits for its status line before the fuzzer gives up on it. */
const ANSWER_WAIT_MS = 400;

export const httpTarget: FuzzTarget = {
  name: 'http',
  async worker({ index, seed, budget, httpPort, adminToken, viewerToken, device, counters }) {
    const host = `127.0.0.1:${httpPort}`;
    const creds = { host, origin: `http://${host}`, adminToken, viewerToken, deviceId: device.id };
    for (let n = 0; budget(); n++) {
      const caseId = caseSeed(seed, 'http', index, n);
      const rng = new Rng(caseId);
      const raw = await openRawSocket(httpPort).catch(() => null);
      if (!raw) {
        await sleep(20);
        continue;
      }
      counters.sessions++;
      const request = fuzzRequest(rng, creds);
      counters.byKind[request.kind] = (counters.byKind[request.kind] ?? 0) + 1;
      await writeAll(raw.socket, request.bytes);
      counters.sent++;
      counters.bytes += request.bytes.length;
      let answer = await raw.until('\r\n', ANSWER_WAIT_MS);
      // `Expect: 100-continue` is answered twice: the final status follows the 100.
      if (answer.subarray(0, 12).toString('latin1') === 'HTTP/1.1 100') answer = (await raw.until('\r\n\r\nHTTP/1.1 ', ANSWER_WAIT_MS)).subarray(answer.indexOf('\r\n\r\n') + 4);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer.subarray(0, 16).toString('latin1'));
      const status = m ? Number(m[1]) : null;
      const fault = status !== null && status >= 500 && status !== 503;
      // The whole answer, for the report: the hub closes after it (Connection: close).
      const full = fault ? await raw.firstBytes(Infinity, ANSWER_WAIT_MS) : answer;
      countAnswer(counters, status === null ? (raw.closed ? 'closed' : 'no answer') : `http ${status}`, fault ? `http case ${caseId} (${request.kind}): ${excerptOf(request.bytes)} → ${excerptOf(full)}` : undefined);
      if (raw.closed) counters.closedByHub++;
      if (rng.chance(0.5)) raw.socket.resetAndDestroy();
      else raw.socket.destroy();
    }
  },
};

function excerptOf(bytes: Buffer): string {
  return JSON.stringify(bytes.subarray(0, 240).toString('latin1'));
}
