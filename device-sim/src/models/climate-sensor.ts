/**
 * Battery-powered temperature/humidity sensor: a daily cycle (warmest mid
 * afternoon, most humid at dawn) plus slow drift and measurement noise; a
 * battery that drains with time and a state machine ok → low → empty.
 */
import type { Capabilities, MetricValue, StateValue } from '@iot-hub/protocol';
import { Random, clamp, round } from '../random.js';
import { hourOfDay, type DeviceModel, type ModelDefinition, type ModelOptions } from './model.js';

export const CLIMATE_SENSOR_KIND = 'climate-sensor';

export type BatteryState = 'ok' | 'low' | 'empty';

/** Battery % at or below which the state machine moves on. */
const LOW_BATTERY_PCT = 20;
const EMPTY_BATTERY_PCT = 0;
/** Drain in % per hour: a coin cell lasting about three months. */
const DRAIN_PCT_PER_HOUR = 0.045;
/** Hour of the day (local) when it is warmest. */
const WARMEST_HOUR = 16;

export class ClimateSensor implements DeviceModel {
  readonly kind = CLIMATE_SENSOR_KIND;
  readonly #random: Random;
  readonly #utcOffsetHours: number;
  /** The room's own character, fixed per seed. */
  readonly #baseTemp: number;
  readonly #tempAmplitude: number;
  readonly #baseHumidity: number;
  readonly #humidityAmplitude: number;
  #tempDrift = 0;
  #humidityDrift = 0;
  #battery: number;
  #batteryState: BatteryState = 'ok';
  #lastMs: number | undefined;

  constructor(options: ModelOptions) {
    this.#random = new Random(options.seed);
    this.#utcOffsetHours = options.utcOffsetHours ?? 0;
    this.#baseTemp = this.#random.range(19.5, 23);
    this.#tempAmplitude = this.#random.range(1, 3);
    this.#baseHumidity = this.#random.range(38, 55);
    this.#humidityAmplitude = this.#random.range(4, 10);
    this.#battery = this.#random.range(55, 100);
    this.#batteryState = nextBatteryState('ok', this.#battery);
  }

  hello(): Capabilities {
    return {
      kind: this.kind,
      fw: 'sim-1.0.0',
      model: 'SIM-TH1',
      metrics: {
        temperature: { type: 'number', unit: '°C', min: -40, max: 85, description: 'air temperature' },
        humidity: { type: 'number', unit: '%', min: 0, max: 100, description: 'relative humidity' },
        battery: { type: 'number', unit: '%', min: 0, max: 100, description: 'battery charge' },
      },
      commands: {},
      state: { battery: { type: 'enum', values: ['ok', 'low', 'empty'], description: 'battery state' } },
      heartbeatSec: 60,
    };
  }

  sample(nowMs: number): Record<string, MetricValue> {
    const elapsedHours = this.#lastMs === undefined ? 0 : Math.max(0, nowMs - this.#lastMs) / 3_600_000;
    this.#lastMs = nowMs;

    // cos() is 1 at the warmest hour and -1 twelve hours later.
    const phase = Math.cos((2 * Math.PI * (hourOfDay(nowMs, this.#utcOffsetHours) - WARMEST_HOUR)) / 24);
    // Slow drift: an AR(1) walk that stays near zero (doors, sun, people).
    this.#tempDrift = 0.97 * this.#tempDrift + this.#random.normal(0, 0.05);
    this.#humidityDrift = 0.97 * this.#humidityDrift + this.#random.normal(0, 0.2);

    const temperature = this.#baseTemp + this.#tempAmplitude * phase + this.#tempDrift + this.#random.normal(0, 0.03);
    // Warmer air holds more water: relative humidity falls as it warms.
    const humidity = this.#baseHumidity - this.#humidityAmplitude * phase + this.#humidityDrift + this.#random.normal(0, 0.15);

    this.#battery = Math.max(EMPTY_BATTERY_PCT, this.#battery - DRAIN_PCT_PER_HOUR * elapsedHours);
    this.#batteryState = nextBatteryState(this.#batteryState, this.#battery);

    return {
      temperature: round(clamp(temperature, -40, 85), 2),
      humidity: round(clamp(humidity, 0, 100), 1),
      battery: round(this.#battery, 1),
    };
  }

  state(): Record<string, StateValue> {
    return { battery: this.#batteryState };
  }
}

/** Battery state machine; it only moves forward (no charging in a coin cell). */
export function nextBatteryState(current: BatteryState, pct: number): BatteryState {
  if (current === 'empty' || pct <= EMPTY_BATTERY_PCT) return 'empty';
  if (current === 'low' || pct <= LOW_BATTERY_PCT) return 'low';
  return 'ok';
}

export const climateSensor: ModelDefinition = {
  kind: CLIMATE_SENSOR_KIND,
  idStem: 'climate',
  label: 'climate',
  create: (options) => new ClimateSensor(options),
};
