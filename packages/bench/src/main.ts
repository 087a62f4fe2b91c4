/**
 * Every benchmark in one run: placement and directory in this process, then the proxy bench (real
 * usherd and Dovecot; needs root), then the ring bench (RingNodes over gRPC on loopback).
 * `npm run bench` from the repository root builds first.
 * Run: `node --expose-gc packages/bench/dist/main.js [--only placement|directory|proxy|ring] [options]`.
 */
import { parseArgs } from 'node:util';
import { runDirectoryBench } from './directory-bench.js';
import { runPlacementBench } from './placement-bench.js';
import { PROXY_USAGE, proxyArgSpec, proxyOptions } from './proxy/args.js';
import { runProxyBench } from './proxy/main.js';
import { RING_USAGE, ringArgSpec, ringOptions, runRingBench } from './ring/main.js';

const BENCHES = ['placement', 'directory', 'proxy', 'ring'] as const;

const { values } = parseArgs({
  options: { only: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...proxyArgSpec, ...ringArgSpec },
  strict: true,
});
if (values.help) {
  process.stdout.write(`usage: main.js [--only ${BENCHES.join('|')}] ${PROXY_USAGE} ${RING_USAGE}\n`);
  process.exit(0);
}
const only = values.only;
if (only !== undefined && !(BENCHES as readonly string[]).includes(only)) {
  process.stderr.write(`--only must be one of ${BENCHES.join(', ')}\n`);
  process.exit(64);
}
// parsed up front so a typo fails before minutes of the other benches
const proxy = proxyOptions(values);
const ring = ringOptions(values);
const run = (name: (typeof BENCHES)[number]) => only === undefined || only === name;

if (run('placement')) runPlacementBench();
if (run('directory')) await runDirectoryBench({ sizes: [1_000_000, 10_000_000] });
if (run('proxy')) {
  try {
    await runProxyBench(proxy);
  } catch (e) {
    // typically: not root, or Dovecot missing; the other benches' figures above still stand
    process.stderr.write(`proxy bench failed: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
if (run('ring')) await runRingBench(ring);
process.exit(0);
