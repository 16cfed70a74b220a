export * from './limits.js';
export * from './errors.js';
export * from './topics.js';
export * from './messages.js';
export * from './codec.js';
export * from './schemas.js';
export * from './api.js';
export * from './dashboard.js';
