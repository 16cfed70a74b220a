/** The device models the simulator knows, by kind. Add a model here to make it available everywhere. */
import { climateSensor } from './climate-sensor.js';
import { contactSensor } from './contact-sensor.js';
import { dimmableLight } from './dimmable-light.js';
import { energyMeter } from './energy-meter.js';
import { DEFAULT_HOME } from '../home.js';
import type { ModelDefinition } from './model.js';
import { motionSensor } from './motion-sensor.js';
import { smartPlug } from './smart-plug.js';
import { thermostat } from './thermostat.js';

export const MODELS: Readonly<Record<string, ModelDefinition>> = Object.freeze({
  [climateSensor.kind]: climateSensor,
  [smartPlug.kind]: smartPlug,
  [motionSensor.kind]: motionSensor,
  [contactSensor.kind]: contactSensor,
  [dimmableLight.kind]: dimmableLight,
  [thermostat.kind]: thermostat,
  [energyMeter.kind]: energyMeter,
});

export const MODEL_KINDS: readonly string[] = Object.keys(MODELS);

/** The kinds of the default simulated home (home.ts), in order. */
export const HOME_MIX: readonly string[] = Object.freeze(DEFAULT_HOME.map((device) => device.kind));

export function modelDefinition(kind: string): ModelDefinition {
  // hasOwn: a kind named "constructor" is no model.
  const definition = Object.hasOwn(MODELS, kind) ? MODELS[kind] : undefined;
  if (!definition) throw new RangeError(`unknown device kind "${kind}" (known: ${MODEL_KINDS.join(', ')})`);
  return definition;
}

export type { CommandOutcome, DeviceModel, ModelDefinition, ModelOptions } from './model.js';
export { hourOfDay } from './model.js';
export { checkCommand } from './command-params.js';
export { ClimateSensor, CLIMATE_SENSOR_KIND, nextBatteryState, type BatteryState } from './climate-sensor.js';
export { SmartPlug, SMART_PLUG_KIND } from './smart-plug.js';
export { MotionSensor, MOTION_SENSOR_KIND } from './motion-sensor.js';
export { ContactSensor, CONTACT_SENSOR_KIND, type Opening } from './contact-sensor.js';
export { DimmableLight, DIMMABLE_LIGHT_KIND } from './dimmable-light.js';
export { Thermostat, THERMOSTAT_KIND, ECO_SETBACK_C, FROST_PROTECTION_C, type ThermostatMode } from './thermostat.js';
export { EnergyMeter, ENERGY_METER_KIND } from './energy-meter.js';
