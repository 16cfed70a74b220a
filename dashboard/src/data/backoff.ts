/** Reconnect timing, kept pure so tests can pin the randomness. */

export interface BackoffOptions {
  minDelayMs: number;
  maxDelayMs: number;
}

/**
 * Delay before retry number `attempt` (0-based): "equal jitter", a random
 * point in the upper half of min·2^attempt capped at max, so a fleet of
 * dashboards does not reconnect in lockstep after a hub restart.
 */
export function backoffDelay(attempt: number, random: () => number, { minDelayMs, maxDelayMs }: BackoffOptions): number {
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.max(minDelayMs, Math.round(ceiling / 2 + random() * (ceiling / 2)));
}
