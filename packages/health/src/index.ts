export * from './agreement.js';
export * from './health-monitor.js';
export * from './hysteresis.js';
export * from './probe/backend-prober.js';
export { type LineTarget, ProbeFailure, type ProbeTls } from './probe/line-client.js';
export * from './probe/probe-options.js';
