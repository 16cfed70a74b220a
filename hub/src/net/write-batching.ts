/**
 * Batches a socket's writes until the event loop's next turn: the first
 * write in a turn corks the socket, and one setImmediate uncorks every
 * socket corked in that turn. Hundreds of PUBACKs or dashboard frames then
 * leave in one writev per socket instead of one syscall each (the profile
 * of the ingest benchmark showed a quarter of the hub's CPU in writev).
 *
 * A batch is flushed early every MAX_WRITES_PER_BATCH writes: libuv hands at
 * most IOV_MAX (1024) buffers to one writev and leaves the rest for the next
 * loop turn, which capped a busy dashboard at ~500 frames per turn.
 */
import type { Writable } from 'node:stream';

const MAX_WRITES_PER_BATCH = 200;

const corked = new Map<Writable, number>();
let scheduled = false;

function uncorkAll(): void {
  scheduled = false;
  for (const stream of corked.keys()) stream.uncork();
  corked.clear();
}

/** Call before each write that may be batched. */
export function batchWritesThisTurn(stream: Writable): void {
  const writes = corked.get(stream);
  if (writes !== undefined) {
    if (writes < MAX_WRITES_PER_BATCH) corked.set(stream, writes + 1);
    else {
      stream.uncork();
      stream.cork();
      corked.set(stream, 1);
    }
    return;
  }
  if (stream.destroyed) return;
  stream.cork();
  corked.set(stream, 1);
  if (!scheduled) {
    scheduled = true;
    setImmediate(uncorkAll);
  }
}
