/** Library API of @iot-hub/device-sim: fleets for the demo, load mode for benchmarks, and the parts to build more. */
export { startFleet, planFleet, type Fleet, type FleetOptions, type FleetStats, type FleetTransport, type DevicePlan } from './fleet.js';
export { runLoad, LOAD_CAPABILITIES, type LoadOptions, type LoadReport, type LoadDevice, type LoadPhase, type DeviceLoadCounts } from './load.js';
export { parseDuration, UsageError } from './cli-args.js';
export {
  provisionDevices,
  deleteDevices,
  readCredentialsFile,
  writeCredentialsFile,
  mapConcurrent,
  type DeviceCredentials,
  type ProvisionOptions,
} from './provision.js';
export { HubApi, HubApiError, type HistoryQuery } from './hub-api.js';
export { LatencyRecorder, summarise, type LatencySummary } from './latency.js';
export { SimulatedDevice, type DeviceStats, type SimulatedDeviceOptions } from './simulated-device.js';
export { MqttDevice, type MqttDeviceOptions } from './transports/mqtt-device.js';
export { WsDevice, deviceWsUrl, type WsDeviceOptions } from './transports/ws-device.js';
export { DeviceSimError, type DeviceSimErrorCode } from './transports/errors.js';
export { Backoff, type BackoffOptions } from './transports/backoff.js';
export type { DeviceConnection, FaultableConnection, DeviceConnectionEvents, ConnectionOptions, TelemetryInput, ResultInput } from './transports/connection.js';
export * from './models/index.js';
export { DEFAULT_HOME, type HomeDevice } from './home.js';
export { FaultInjector, MALFORMED_KINDS, emptyFaultStats, type FaultOptions, type FaultStats, type MalformedKind } from './faults.js';
export { parseScenario, planScenario, ScenarioError, MAX_SCENARIO_DEVICES, type Scenario, type ScenarioRoom, type ScenarioDevice } from './scenario.js';
export { Random, mulberry32, hashSeed } from './random.js';
export { silentLogger, type SimLogger } from './log.js';
export { formatLoadReport } from './load-report.js';
export { MqttFrames } from './publishers/mqtt-frames.js';
