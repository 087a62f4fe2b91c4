// The protocol-test harness in one import, for tests that want all of it.
export * from './test-certs.js';
export * from './test-context.js';
export * from './test-listener.js';
