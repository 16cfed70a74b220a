/**
 * What a simulated device is, independent of how it talks to the hub: the
 * capabilities it declares in `hello` [FP-4.1], the readings it produces,
 * its reported state and the commands it understands. Transports and fleets
 * only ever see this interface, so adding a device kind is one new file
 * here plus one line in models/index.ts.
 */
import type { Capabilities, MetricValue, StateValue } from '@iot-hub/protocol';

/** How a model answers a command [FP-4.5]; the device turns it into a `result`. */
export type CommandOutcome =
  | { status: 'succeeded'; result?: unknown }
  | { status: 'failed'; error: string };

export interface DeviceModel {
  /** The device kind, as provisioned and declared in `hello`. */
  readonly kind: string;
  /** Capabilities declared in `hello`; pure, the same on every call. */
  hello(): Capabilities;
  /**
   * Advances the model to `nowMs` and returns one reading. Deterministic: the
   * same seed and the same sequence of `nowMs` give the same readings.
   */
  sample(nowMs: number): Record<string, MetricValue>;
  /** Current reported state (the model's small state machine) [FP-4.3]. */
  state(): Record<string, StateValue>;
  /** Executes a command; absent for devices that take none (sensors). */
  command?(name: string, params: Record<string, unknown>, nowMs: number): CommandOutcome;
  /**
   * Applies the keys of a desired-state snapshot that the model declares
   * settable and can apply [FP-4.3], and returns the others with the reason
   * (reported as `refused`); absent for devices without settable state.
   */
  applyDesired?(desired: Record<string, StateValue>, nowMs: number): Record<string, string>;
}

export interface ModelOptions {
  /** Seed of this device's random stream (see random.ts hashSeed). */
  seed: number;
  /**
   * Offset of the simulated home's local time from UTC, in hours; daily
   * cycles peak by local time. Fixed (not the host's zone) so runs are
   * reproducible everywhere.
   */
  utcOffsetHours?: number;
  /**
   * Which flavour of its kind the device is, for kinds that have several
   * (a contact on a `door` or a `window`); models ignore what they do not know.
   */
  variant?: string;
}

export interface ModelDefinition {
  kind: string;
  /** Short stem used in generated device ids, e.g. `sim-climate-3`. */
  idStem: string;
  /** Human label used in generated device names, e.g. "Kitchen climate". */
  label: string;
  create(options: ModelOptions): DeviceModel;
}

/** Hour of day in [0, 24) at `nowMs` for a fixed UTC offset. */
export function hourOfDay(nowMs: number, utcOffsetHours = 0): number {
  const dayMs = 24 * 3600 * 1000;
  const local = nowMs + utcOffsetHours * 3600 * 1000;
  return ((((local % dayMs) + dayMs) % dayMs) / dayMs) * 24;
}
