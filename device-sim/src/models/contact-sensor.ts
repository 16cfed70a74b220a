/**
 * Battery door/window contact (a reed switch). Each device is a door or a
 * window, fixed per seed: doors open often and briefly, windows seldom and
 * for a while (airing). It reports whether it is open, counts openings,
 * and reports `contact` as state, so every open/close reaches the hub
 * [FP-4.3].
 */
import type { Capabilities, MetricValue, StateValue } from '@iot-hub/protocol';
import { Random, round } from '../random.js';
import { activityAt, poissonEvents } from './activity.js';
import { hourOfDay, type DeviceModel, type ModelDefinition, type ModelOptions } from './model.js';

export const CONTACT_SENSOR_KIND = 'contact-sensor';

export type Opening = 'door' | 'window';

interface Character {
  /** Openings per hour at full activity. */
  peakOpeningsPerHour: number;
  /** How long it stays open, ms. */
  minOpenMs: number;
  maxOpenMs: number;
}

const CHARACTER: Record<Opening, Character> = {
  door: { peakOpeningsPerHour: 6, minOpenMs: 4_000, maxOpenMs: 90_000 },
  window: { peakOpeningsPerHour: 0.3, minOpenMs: 5 * 60_000, maxOpenMs: 45 * 60_000 },
};

const DRAIN_PCT_PER_HOUR = 0.004;

export class ContactSensor implements DeviceModel {
  readonly kind = CONTACT_SENSOR_KIND;
  readonly opening: Opening;
  readonly #random: Random;
  readonly #utcOffsetHours: number;
  readonly #character: Character;
  /** When the current opening ends; undefined while closed. */
  #openUntilMs: number | undefined;
  #openings = 0;
  #battery: number;
  #lastMs: number | undefined;

  constructor(options: ModelOptions) {
    this.#random = new Random(options.seed);
    this.#utcOffsetHours = options.utcOffsetHours ?? 0;
    // Draw even when the variant is given, so the rest of the stream does not depend on it.
    const drawn: Opening = this.#random.chance(0.5) ? 'door' : 'window';
    this.opening = options.variant === 'door' || options.variant === 'window' ? options.variant : drawn;
    this.#character = CHARACTER[this.opening];
    this.#battery = this.#random.range(60, 100);
  }

  hello(): Capabilities {
    return {
      kind: this.kind,
      fw: 'sim-1.0.0',
      model: 'SIM-REED1',
      metrics: {
        open: { type: 'boolean', description: `${this.opening} open` },
        openings: { type: 'number', min: 0, description: 'openings since the sensor started' },
        battery: { type: 'number', unit: '%', min: 0, max: 100, description: 'battery charge' },
      },
      commands: {},
      state: {
        contact: { type: 'enum', values: ['open', 'closed'] },
        opening: { type: 'enum', values: ['door', 'window'], description: 'what the sensor is fitted to' },
      },
      heartbeatSec: 60,
    };
  }

  sample(nowMs: number): Record<string, MetricValue> {
    this.advance(nowMs);
    return { open: this.#isOpen(nowMs), openings: this.#openings, battery: round(this.#battery, 1) };
  }

  /** Advances to `nowMs`: people open and close it meanwhile. */
  advance(nowMs: number): void {
    const from = this.#lastMs ?? nowMs;
    if (nowMs <= from) {
      this.#lastMs = Math.max(from, nowMs);
      return;
    }
    const rate = (t: number): number => this.#character.peakOpeningsPerHour * activityAt(hourOfDay(t, this.#utcOffsetHours));
    for (const t of poissonEvents(this.#random, from, nowMs, rate)) {
      // An opening while already open only keeps it open longer.
      if (!this.#isOpen(t)) this.#openings++;
      const until = t + this.#random.range(this.#character.minOpenMs, this.#character.maxOpenMs);
      this.#openUntilMs = Math.max(until, this.#openUntilMs ?? until);
    }
    this.#battery = Math.max(0, this.#battery - (DRAIN_PCT_PER_HOUR * (nowMs - from)) / 3_600_000);
    this.#lastMs = nowMs;
  }

  state(): Record<string, StateValue> {
    const now = this.#lastMs;
    return { contact: now !== undefined && this.#isOpen(now) ? 'open' : 'closed', opening: this.opening };
  }

  #isOpen(nowMs: number): boolean {
    return this.#openUntilMs !== undefined && nowMs < this.#openUntilMs;
  }
}

export const contactSensor: ModelDefinition = {
  kind: CONTACT_SENSOR_KIND,
  idStem: 'contact',
  label: 'contact',
  create: (options) => new ContactSensor(options),
};
