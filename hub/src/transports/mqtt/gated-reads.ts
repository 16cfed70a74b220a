/**
 * Puts an MQTT socket behind the hub's ingest gate (limits/ingest-gate.ts).
 *
 * aedes reads a device socket with `read(null)` each time the socket is
 * readable and the packets of its previous read are all handled. While the
 * gate is closed that read returns nothing, so aedes parses nothing and
 * waits; what the device sends meanwhile stays in the kernel, whose buffers
 * fill until the device's writes block. When the gate opens, 'readable' is
 * emitted again, which is what aedes waits for.
 *
 * A read also hands aedes at most MAX_READ_BYTES: a flooding socket holds
 * up to ~64 KiB in its stream buffer (~700 small packets), and the gate lets
 * sockets read in turn, so the smaller each turn, the sooner a quiet device
 * (a CONNECT, one QoS 1 publish) gets its own. A socket that read little
 * last time and has little waiting is such a device: its turn comes before
 * the flooders' (see IngestGate.admit).
 *
 * A device the hub has just sent a command skips the gate
 * for a while (expectAnswer, ANSWER_PRIORITY_MS): its answer is read as soon
 * as it comes.
 */
import type { Socket } from 'node:net';
import { answerDeadline, awaitingAnswer, type IngestGate } from '../../limits/ingest-gate.js';

const MAX_READ_BYTES = 8 * 1024;
/** Less than this read last time and waiting now: a device sending now and then, whose turn comes first. */
const LIGHT_BYTES = 1024;

/** aedes' Client, as far as this module looks at it. */
interface AedesClientState {
  /** Packets of the current read still being handled; 0 = aedes reads again at the next 'readable'. */
  _parsingBatch?: number;
  connackSent?: boolean;
}

const GATE = Symbol('gatedReads');

/** A socket's place at the gate; one function serves every socket (closures per socket came to about 0.5 KB). */
interface GateState {
  gate: IngestGate;
  /** The read this wraps. */
  inner: (size?: number) => unknown;
  /** Bytes handed to aedes by the last read. */
  lastRead: number;
  /** Given to the gate when the socket is refused; made at the first refusal (an idle device never needs one). */
  resume: (() => void) | null;
  /** Until when the socket is read without asking the gate (an answer is expected; answerDeadline()). */
  answerDueBy: number;
}

type GatedSocket = Socket & { [GATE]: GateState; client?: AedesClientState };

export function gateReads(socket: Socket, gate: IngestGate): void {
  (socket as GatedSocket)[GATE] = { gate, inner: socket.read, lastRead: 0, resume: null, answerDueBy: 0 };
  socket.read = gatedRead;
  socket.on('close', forgetAtGate);
}

/** Only while aedes waits for 'readable': emitted with packets still being handled, its batch count would go wrong. */
function resumeReading(socket: GatedSocket): void {
  if (!socket.destroyed && (socket.client?._parsingBatch ?? 0) === 0) socket.emit('readable');
}

function gatedRead(this: GatedSocket, size?: number): unknown {
  const state = this[GATE];
  // read(0) only refills the stream's own bounded buffer from the kernel; it hands aedes no data.
  if (size === 0) return state.inner.call(this, 0);
  // Until CONNACK a connection is not held back: its CONNECT is small work, and a device that
  // connects during a flood should not wait its turn behind every flooder for it. aedes queues
  // at most a few packets that come before CONNACK (queueLimit), and reads no more meanwhile.
  if (this.client?.connackSent !== true && this.readableLength <= MAX_READ_BYTES) return state.inner.call(this, size);
  if (!state.gate.open && !awaitingAnswer(state.answerDueBy)) {
    state.resume ??= () => resumeReading(this);
    if (!state.gate.admit(state.resume, state.lastRead < LIGHT_BYTES && this.readableLength < LIGHT_BYTES)) return null;
  }
  if (this.readableLength <= MAX_READ_BYTES) return counted(state, state.inner.call(this, size));
  const chunk = counted(state, state.inner.call(this, MAX_READ_BYTES));
  // aedes reads again once this chunk's packets are handled. When the chunk held no whole packet
  // there are none, and the stream will not announce data it already holds: announce it.
  process.nextTick(() => {
    if (this.readableLength > 0) resumeReading(this);
  });
  return chunk;
}

/**
 * The hub has sent this device a command: read it without waiting at the
 * gate for ANSWER_PRIORITY_MS, so that its result is read as soon as it
 * comes, and at once if it is waiting there now.
 */
export function expectAnswer(socket: Socket): void {
  const state = (socket as GatedSocket)[GATE] as GateState | undefined;
  if (!state) return;
  state.answerDueBy = answerDeadline();
  if (state.resume && state.gate.forget(state.resume)) resumeReading(socket as GatedSocket);
}

function counted(state: GateState, chunk: unknown): unknown {
  if (chunk !== null) state.lastRead = (chunk as Buffer).length;
  return chunk;
}

function forgetAtGate(this: GatedSocket): void {
  const state = this[GATE];
  if (state.resume) state.gate.forget(state.resume);
}
