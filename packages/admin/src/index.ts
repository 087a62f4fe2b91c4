export * from './director-admin/api.js';
export { directorRow } from './director-admin/commands/directors.js';
export { ADMIN_COMMANDS, type AdminCommand } from './director-admin/commands/index.js';
export { AdminConnection, type AdminLog, type AdminStream } from './director-admin/connection.js';
export * from './director-admin/errors.js';
export { connectInProcess } from './director-admin/in-process.js';
export * from './director-admin/protocol.js';
export * from './director-admin/server.js';
