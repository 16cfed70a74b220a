export { freePort } from './free-port.js';
export { EngineProcess, delay, type EngineCommand } from './engine-process.js';
export { MissingEngineError, requireBinary } from './missing.js';
export { startPostgres, PG_BIN_DIR, type Postgres, type PostgresOptions } from './postgres.js';
export { startRedis, REDIS_SERVER, type Redis } from './redis.js';
export { engineForTest } from './for-tests.js';
export { startHaproxy, checkHaproxyConfig, HAPROXY, type Haproxy, type HaproxyBackend, type HaproxyOptions, type ServerStates } from './haproxy.js';
export { renderHaproxyConfig, deployHaproxyOptions, type HaproxyConfigOptions, type HaproxyServer } from './haproxy-config.js';
export { startCuttableProxy, type CuttableProxy, type CutMode } from './cuttable-proxy.js';
