export * from './join-check.js';
export * from './recording-kicks.js';
export * from './session-checker.js';
export * from './simulation.js';
