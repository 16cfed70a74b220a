/**
 * Battery PIR motion sensor. Motion is a stream of events (people pass by
 * more in the morning and evening than at night); the sensor reports
 * `motion` while the last event is younger than its hold time, counts
 * every detection, and reports occupancy as state, so an `occupied` →
 * `clear` change reaches the hub as soon as it happens [FP-4.3].
 */
import type { Capabilities, MetricValue, StateValue } from '@iot-hub/protocol';
import { Random, clamp, round } from '../random.js';
import { activityAt, poissonEvents } from './activity.js';
import { checkCommand } from './command-params.js';
import { sortDesired } from './desired-state.js';
import { hourOfDay, type CommandOutcome, type DeviceModel, type ModelDefinition, type ModelOptions } from './model.js';

export const MOTION_SENSOR_KIND = 'motion-sensor';

const MIN_HOLD_SEC = 10;
const MAX_HOLD_SEC = 600;
/** Detections per hour at full activity (an evening in a busy room). */
const PEAK_EVENTS_PER_HOUR = 30;
/** An AA lithium cell lasting about two years. */
const DRAIN_PCT_PER_HOUR = 0.0055;

export class MotionSensor implements DeviceModel {
  readonly kind = MOTION_SENSOR_KIND;
  readonly #random: Random;
  readonly #utcOffsetHours: number;
  /** How busy this room is compared to the busiest, fixed per seed. */
  readonly #busyness: number;
  readonly #daylightLux: number;
  #holdSec = 90;
  #lastMotionMs: number | undefined;
  #detections = 0;
  #battery: number;
  #lastMs: number | undefined;

  constructor(options: ModelOptions) {
    this.#random = new Random(options.seed);
    this.#utcOffsetHours = options.utcOffsetHours ?? 0;
    this.#busyness = this.#random.range(0.3, 1);
    this.#daylightLux = this.#random.range(150, 600);
    this.#battery = this.#random.range(60, 100);
  }

  hello(): Capabilities {
    return {
      kind: this.kind,
      fw: 'sim-1.0.0',
      model: 'SIM-PIR2',
      metrics: {
        motion: { type: 'boolean', description: 'motion within the hold time' },
        detections: { type: 'number', min: 0, description: 'motion events since the sensor started' },
        illuminance: { type: 'number', unit: 'lx', min: 0, max: 100_000 },
        battery: { type: 'number', unit: '%', min: 0, max: 100, description: 'battery charge' },
      },
      commands: {
        set_hold_time: {
          description: 'how long motion stays reported after the last detection',
          params: { seconds: { type: 'integer', unit: 's', min: MIN_HOLD_SEC, max: MAX_HOLD_SEC, required: true } },
        },
      },
      state: {
        occupancy: { type: 'enum', values: ['occupied', 'clear'] },
        holdSec: { type: 'integer', unit: 's', min: MIN_HOLD_SEC, max: MAX_HOLD_SEC, settable: true, description: 'how long occupancy holds after the last motion' },
      },
      heartbeatSec: 60,
    };
  }

  sample(nowMs: number): Record<string, MetricValue> {
    this.advance(nowMs);
    const hour = hourOfDay(nowMs, this.#utcOffsetHours);
    // Daylight between 7 and 19, a bulb's worth in the evening when someone is there.
    const sun = Math.max(0, Math.sin((Math.PI * (hour - 7)) / 12));
    const lamp = this.#motionAt(nowMs) && (hour >= 17 || hour < 7) ? 120 : 0;
    const lux = clamp(this.#daylightLux * sun + lamp + this.#random.normal(0, 2), 0, 100_000);
    return {
      motion: this.#motionAt(nowMs),
      detections: this.#detections,
      illuminance: round(lux, 0),
      battery: round(this.#battery, 1),
    };
  }

  /**
   * Advances the event stream to `nowMs` without taking a reading, so the
   * device can notice an occupancy change between samples.
   */
  advance(nowMs: number): void {
    const from = this.#lastMs ?? nowMs;
    if (nowMs <= from) {
      this.#lastMs = Math.max(from, nowMs);
      return;
    }
    const rate = (t: number): number => PEAK_EVENTS_PER_HOUR * this.#busyness * activityAt(hourOfDay(t, this.#utcOffsetHours));
    for (const t of poissonEvents(this.#random, from, nowMs, rate)) this.#detect(t);
    this.#battery = Math.max(0, this.#battery - (DRAIN_PCT_PER_HOUR * (nowMs - from)) / 3_600_000);
    this.#lastMs = nowMs;
  }

  /** Someone walks past at `nowMs`: a detection, as a person would cause. */
  trigger(nowMs: number): void {
    this.advance(nowMs);
    this.#detect(nowMs);
  }

  state(): Record<string, StateValue> {
    const now = this.#lastMs;
    return { occupancy: now !== undefined && this.#motionAt(now) ? 'occupied' : 'clear', holdSec: this.#holdSec };
  }

  command(name: string, params: Record<string, unknown>): CommandOutcome {
    const refused = checkCommand(this.hello(), name, params);
    if (refused) return refused;
    // set_hold_time is the only command; checkCommand made `seconds` an integer in range.
    this.#holdSec = params.seconds as number;
    return { status: 'succeeded', result: { holdSec: this.#holdSec } };
  }

  applyDesired(desired: Record<string, StateValue>): Record<string, string> {
    const { apply, refused } = sortDesired(this.hello(), desired);
    if (typeof apply.holdSec === 'number') this.#holdSec = apply.holdSec;
    return refused;
  }

  #detect(tMs: number): void {
    this.#detections++;
    this.#lastMotionMs = Math.max(tMs, this.#lastMotionMs ?? tMs);
  }

  #motionAt(nowMs: number): boolean {
    return this.#lastMotionMs !== undefined && nowMs - this.#lastMotionMs < this.#holdSec * 1000;
  }
}

export const motionSensor: ModelDefinition = {
  kind: MOTION_SENSOR_KIND,
  idStem: 'motion',
  label: 'motion',
  create: (options) => new MotionSensor(options),
};
