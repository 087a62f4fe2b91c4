export * from './messages.js';
export * from './transport.js';
