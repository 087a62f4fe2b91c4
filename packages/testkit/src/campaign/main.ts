#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { formatReport } from './report.js';
import { runCampaign } from './runner.js';

const USAGE =
  'usage: npm run campaign -- --seed S --minutes M [--nodes 3..5] [--root DIR] [--no-admin] [--nets NODES,BACKENDS (default 127.0.41,127.0.42)]';

/** `npm run campaign`: exit 0 without violations, 1 with, 2 when the campaign itself could not run. */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      minutes: { type: 'string' },
      nodes: { type: 'string' },
      root: { type: 'string' },
      'no-admin': { type: 'boolean' },
      nets: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
  const minutes = Number(values.minutes ?? '2');
  const nodes = Number(values.nodes ?? '3');
  const [netNodes, netBackends] = (values.nets ?? '').split(',');
  const nets = netNodes && netBackends ? { nodes: netNodes, backends: netBackends } : undefined;
  if (!Number.isInteger(seed) || !(minutes > 0) || !Number.isInteger(nodes) || (values.nets && !nets)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const report = await runCampaign({
    seed,
    durationMs: Math.round(minutes * 60_000),
    nodes,
    ...(values.root ? { root: values.root } : {}),
    ...(values['no-admin'] ? { admin: false } : {}),
    ...(nets ? { nets } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`\n${formatReport(report)}\n`);
  return report.violations.length === 0 ? 0 : 1;
}

// Ctrl-C: exit through 'exit', whose handlers SIGKILL the nodes and SIGTERM the Dovecot masters
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`campaign failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(2);
  },
);
