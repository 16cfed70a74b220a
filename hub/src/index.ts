export { buildHub, defaultDashboardDir, HUB_VERSION, type Hub, type HubDeps } from './hub.js';
export { IngestGate } from './limits/ingest-gate.js';
export { loadConfig, helpText } from './config/load-config.js';
export { ConfigError, SETTINGS, type HubConfig } from './config/settings.js';
export { createLogger } from './log.js';
export { generateToken } from './auth/tokens.js';
export { runUserCommand } from './cli/user-command.js';
export { installProcessGuard, UncaughtErrors } from './process-guard.js';
