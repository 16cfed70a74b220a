/**
 * Which devices this node wrote to the registry store since a mark. In
 * cluster mode a poll of the shared store (RegistrySync) reads a snapshot;
 * a write this node made while that read was in flight may be missing from
 * it, and applying the snapshot would undo the write in memory until the
 * next poll (a revoked token accepted again, a deleted device back). The
 * poll skips those devices instead: the next poll re-reads them
 * (CURSOR_SLACK_MS), by then with the write.
 *
 * Bounded: completed writes are recorded only once a poll asked for a mark,
 * and each mark forgets those a poll started since no longer needs.
 */
export class LocalWrites {
  private seq = 0;
  /** The last mark handed out; null until a poller asks (single-node mode never does). */
  private lastMark: number | null = null;
  private readonly inFlight = new Map<string, number>();
  /** Device id → seq at which its last write completed. */
  private readonly completed = new Map<string, number>();

  /** Runs a write of device `id` (its memory change and its store write), recorded as in flight until it settles. */
  async around<T>(id: string, write: () => Promise<T>): Promise<T> {
    this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1);
    try {
      return await write();
    } finally {
      const left = (this.inFlight.get(id) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(id);
      else this.inFlight.set(id, left);
      if (this.lastMark !== null) this.completed.set(id, ++this.seq);
    }
  }

  /**
   * Taken by a poll before it reads the store. Writes completed before the
   * mark are in what the poll reads, so the previous poll's records of them
   * are forgotten (polls run one at a time).
   */
  mark(): number {
    if (this.lastMark !== null) {
      const before = this.lastMark;
      for (const [id, seq] of this.completed) if (seq <= before) this.completed.delete(id);
    }
    this.lastMark = this.seq;
    return this.seq;
  }

  /** Whether device `id` has a write in flight, or one that completed after `mark`. */
  since(id: string, mark: number): boolean {
    return this.inFlight.has(id) || (this.completed.get(id) ?? -1) > mark;
  }

  /** Devices recorded, for tests of the bound. */
  get size(): number {
    return this.inFlight.size + this.completed.size;
  }
}
