/**
 * Exponential reconnect backoff with full jitter, so a fleet that lost the
 * hub at once does not come back in lock step.
 */
export interface BackoffOptions {
  /** First delay cap in ms (default 500). */
  initialMs?: number;
  /** Largest delay in ms (default 30 s). */
  maxMs?: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
  /** Source of jitter in [0, 1); Math.random by default (timing, not simulated data). */
  random?: () => number;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 500;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#factor = options.factor ?? 2;
    this.#random = options.random ?? Math.random;
  }

  /** Delay before the next attempt: uniform in [cap/2, cap], cap growing per attempt. */
  next(): number {
    const cap = Math.min(this.#maxMs, this.#initialMs * this.#factor ** this.#attempt);
    this.#attempt++;
    return Math.round(cap / 2 + (cap / 2) * this.#random());
  }

  get attempts(): number {
    return this.#attempt;
  }

  reset(): void {
    this.#attempt = 0;
  }
}
