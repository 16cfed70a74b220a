export { freePort } from './free-port.js';
export { EngineProcess, delay, type EngineCommand } from './engine-process.js';
export { MissingEngineError, requireBinary } from './missing.js';
export { startPostgres, PG_BIN_DIR, type Postgres, type PostgresOptions } from './postgres.js';
export { startRedis, REDIS_SERVER, type Redis } from './redis.js';
export { engineForTest } from './for-tests.js';
