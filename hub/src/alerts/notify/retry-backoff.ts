/**
 * When a failed delivery is tried again: 1 s, 2 s, 4 s … doubling up to a
 * cap, each ±20 % at random so receivers that came back are not hit by every
 * hub's retries in the same instant.
 */
export const RETRY_BASE_MS = 1000;
export const RETRY_CAP_MS = 60_000;

/** Delay before attempt `failed + 1`, after `failed` (≥ 1) failed attempts. */
export function retryDelayMs(failed: number, random: () => number = Math.random): number {
  const base = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(failed - 1, 20));
  return Math.round(base * (0.8 + 0.4 * random()));
}
