export * from './config/dovecot-time.js';
export * from './config/load-config.js';
export * from './log/logger.js';
export { main } from './main.js';
export * from './usher-node.js';
