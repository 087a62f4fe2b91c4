#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { formatReport } from './report.js';
import { runCampaign } from './runner.js';
import type { ScheduledFault } from './schedule.js';

const USAGE = `usage: npm run campaign -- --seed S --minutes M [--nodes 3..5] [--root DIR] [--no-admin]
                       [--nets NODES,BACKENDS (default 127.0.41,127.0.42)] [--self-check]
  --self-check  instead of a seeded schedule, retire two backends with a bare HOST-REMOVE (no kicks,
                unsafe in Dovecot too) and pass only if the checker reports users on two backends`;

/** The crafted schedule of --self-check: two unsafe removals while users hold sessions on those backends. */
const SELF_CHECK: readonly ScheduledFault[] = [
  { atMs: 12_000, durationMs: 0, fault: { kind: 'unsafe-remove-host', node: 0, backend: 0 } },
  { atMs: 13_000, durationMs: 0, fault: { kind: 'unsafe-remove-host', node: 1, backend: 1 } },
];

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
      'self-check': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
  const selfCheck = values['self-check'] === true;
  const minutes = Number(values.minutes ?? (selfCheck ? '0.75' : '2'));
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
    // a mix of minute-long sessions (left behind on a removed backend) and short ones that log in again
    ...(selfCheck ? { schedule: SELF_CHECK, admin: true, imapSessions: 24, imapOpsPerSession: [3, 60] as const } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`\n${formatReport(report)}\n`);
  if (selfCheck) {
    const caught = report.violations.some((v) => v.kind === 'two-backends');
    process.stdout.write(caught ? 'self-check: the checker caught the double login\n' : 'self-check FAILED\n');
    return caught ? 0 : 1;
  }
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
