/** The device models the simulator knows, by kind. Add a model here to make it available everywhere. */
import { climateSensor } from './climate-sensor.js';
import type { ModelDefinition } from './model.js';
import { smartPlug } from './smart-plug.js';

export const MODELS: Readonly<Record<string, ModelDefinition>> = Object.freeze({
  [climateSensor.kind]: climateSensor,
  [smartPlug.kind]: smartPlug,
});

export const MODEL_KINDS: readonly string[] = Object.keys(MODELS);

/** The mix of a simulated home, repeated to fill a fleet: two sensors per plug. */
export const HOME_MIX: readonly string[] = [climateSensor.kind, smartPlug.kind, climateSensor.kind];

export function modelDefinition(kind: string): ModelDefinition {
  const definition = MODELS[kind];
  if (!definition) throw new RangeError(`unknown device kind "${kind}" (known: ${MODEL_KINDS.join(', ')})`);
  return definition;
}

export type { CommandOutcome, DeviceModel, ModelDefinition, ModelOptions } from './model.js';
export { hourOfDay } from './model.js';
export { ClimateSensor, CLIMATE_SENSOR_KIND, nextBatteryState, type BatteryState } from './climate-sensor.js';
export { SmartPlug, SMART_PLUG_KIND } from './smart-plug.js';
