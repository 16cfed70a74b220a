/**
 * Whole-home electricity meter: the import counter (kWh) only ever grows,
 * by the household's power, which has a base load, morning and evening
 * peaks and short appliance spikes (a kettle, an oven). The tariff (peak or
 * off-peak, by local hour) is its state.
 */
import type { Capabilities, MetricValue, StateValue } from '@iot-hub/protocol';
import { Random, clamp, round } from '../random.js';
import { activityAt } from './activity.js';
import { hourOfDay, type DeviceModel, type ModelDefinition, type ModelOptions } from './model.js';

export const ENERGY_METER_KIND = 'energy-meter';

/** A 3 × 25 A supply. */
const MAX_POWER_W = 17_000;
/** Off-peak hours: 22:00 to 06:00 local. */
const OFF_PEAK_FROM = 22;
const OFF_PEAK_TO = 6;

export class EnergyMeter implements DeviceModel {
  readonly kind = ENERGY_METER_KIND;
  readonly #random: Random;
  readonly #utcOffsetHours: number;
  /** Fridge, router, standby: always there, fixed per seed. */
  readonly #baseWatts: number;
  /** What people add at full activity. */
  readonly #activeWatts: number;
  #energyKwh: number;
  #lastPower = 0;
  #lastMs: number | undefined;

  constructor(options: ModelOptions) {
    this.#random = new Random(options.seed);
    this.#utcOffsetHours = options.utcOffsetHours ?? 0;
    this.#baseWatts = this.#random.range(90, 250);
    this.#activeWatts = this.#random.range(600, 1500);
    // A meter is not new: it starts somewhere in its life.
    this.#energyKwh = round(this.#random.range(1_000, 40_000), 3);
  }

  hello(): Capabilities {
    return {
      kind: this.kind,
      fw: 'sim-1.0.0',
      model: 'SIM-EM3',
      metrics: {
        energy: { type: 'number', unit: 'kWh', min: 0, description: 'imported energy, never decreases' },
        power: { type: 'number', unit: 'W', min: 0, max: MAX_POWER_W, description: 'present import' },
      },
      commands: {},
      state: { tariff: { type: 'enum', values: ['peak', 'off-peak'] } },
      heartbeatSec: 60,
    };
  }

  sample(nowMs: number): Record<string, MetricValue> {
    this.#integrate(nowMs);
    const hour = hourOfDay(nowMs, this.#utcOffsetHours);
    // A kettle or oven now and then, more likely when people are about.
    const spike = this.#random.chance(0.04 * activityAt(hour)) ? this.#random.range(1500, 2500) : 0;
    const power = this.#baseWatts + this.#activeWatts * activityAt(hour) * this.#random.range(0.7, 1.3) + spike;
    this.#lastPower = clamp(power, 0, MAX_POWER_W);
    return { energy: round(this.#energyKwh, 3), power: round(this.#lastPower, 0) };
  }

  state(): Record<string, StateValue> {
    const hour = hourOfDay(this.#lastMs ?? 0, this.#utcOffsetHours);
    return { tariff: hour >= OFF_PEAK_FROM || hour < OFF_PEAK_TO ? 'off-peak' : 'peak' };
  }

  /** Adds what the last power reading drew until `nowMs`; a clock going back adds nothing. */
  #integrate(nowMs: number): void {
    if (this.#lastMs !== undefined && nowMs > this.#lastMs) {
      this.#energyKwh += (this.#lastPower * (nowMs - this.#lastMs)) / 3_600_000 / 1000;
    }
    this.#lastMs = Math.max(nowMs, this.#lastMs ?? nowMs);
  }
}

export const energyMeter: ModelDefinition = {
  kind: ENERGY_METER_KIND,
  idStem: 'meter',
  label: 'energy meter',
  create: (options) => new EnergyMeter(options),
};
