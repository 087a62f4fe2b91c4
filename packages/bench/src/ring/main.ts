/**
 * Ring bench: RingNodes in this process over real gRPC on loopback (127.0.28.x), usherd's timings.
 *   (a) propagation of one assignment to every node, 3 / 8 / 16 nodes, beside a direct fan-out
 *   (b) an empty node joining a ring of 1M users, and a reconnect, beside Dovecot's one line per user
 *   (c) login waits of new users while a host is added / removed
 * Run: `node packages/bench/dist/ring/main.js [--samples N] [--users N] [--rounds N]`
 * or `node packages/bench/dist/main.js --only ring`.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeTable } from '../measure.js';
import { type BenchRingNode, MAX_NODES, nodeIp, RingCerts, type Security } from './grpc-ring.js';
import { measureHostAdd } from './host-add.js';
import { measureJoinGrpc } from './join.js';
import { measureFanout, measurePropagation } from './propagation.js';

export interface RingBenchOptions {
  readonly samples: number;
  readonly users: number;
  readonly rounds: number;
  readonly sizes: readonly number[];
}

export const RING_DEFAULTS: RingBenchOptions = { samples: 200, users: 1_000_000, rounds: 20, sizes: [3, 8, 16] };

export const ringArgSpec = {
  samples: { type: 'string' },
  users: { type: 'string' },
  rounds: { type: 'string' },
} as const;

export const RING_USAGE = '[--samples 200] [--users 1000000] [--rounds 20]';

export function ringOptions(values: { samples?: string; users?: string; rounds?: string }): RingBenchOptions {
  const num = (v: string | undefined, d: number, name: string) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer`);
    return n;
  };
  return {
    ...RING_DEFAULTS,
    samples: num(values.samples, RING_DEFAULTS.samples, 'samples'),
    users: num(values.users, RING_DEFAULTS.users, 'users'),
    rounds: num(values.rounds, RING_DEFAULTS.rounds, 'rounds'),
  };
}

interface Row {
  readonly measure: string;
  readonly usher: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly target: string;
  readonly verdict: string;
}

const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
const mb = (v: number) =>
  v >= 1e6 ? `${(v / 1e6).toFixed(1)} MB` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} kB` : `${v} B`;
const x = (v: number) => `${v.toFixed(2)}x`;
const verdict = (met: boolean) => (met ? 'met' : 'NOT met');

export async function runRingBench(
  opts: RingBenchOptions = RING_DEFAULTS,
  write = (l: string) => process.stdout.write(`${l}\n`),
): Promise<void> {
  const rows: Row[] = [];
  const add = (r: Partial<Row> & { measure: string; usher: string }) =>
    rows.push({ baseline: '', ratio: '', target: '', verdict: '', ...r });
  const certs = new RingCerts(Array.from({ length: MAX_NODES }, (_, i) => nodeIp(i)));
  try {
    write(`ring bench: RingNodes over gRPC on ${nodeIp(0)}..${nodeIp(MAX_NODES - 1)}, all in one process (one thread)`);

    // (a) propagation
    write('\n(a) propagation of one assignment: route() on a node until every other node shows it');
    for (const security of ['mtls', 'insecure'] as Security[]) {
      for (const size of opts.sizes) {
        const fan = await measureFanout({ size, security, certs, samples: opts.samples, port: 9190 });
        for (const updateBatchMs of [10, 0]) {
          const r = await measurePropagation({ size, security, certs, samples: opts.samples, updateBatchMs });
          const label = `${size} nodes, ${security}, batch ${updateBatchMs} ms${updateBatchMs === 10 ? ' (usherd)' : ''}`;
          write(
            `  ${label}: p50 ${ms(r.ring.p50)} p99 ${ms(r.ring.p99)} max ${ms(r.ring.max)} (${r.ring.samples} samples);` +
              ` direct fan-out p50 ${ms(fan.p50)} p99 ${ms(fan.p99)}${r.warnings ? `; ring warnings: ${r.warnings}` : ''}`,
          );
          const headline = size === 16 && updateBatchMs === 10;
          add({
            measure: `propagation p50/p99, ${label}`,
            usher: `${ms(r.ring.p50)} / ${ms(r.ring.p99)}`,
            baseline: `${ms(fan.p50)} / ${ms(fan.p99)}`,
            ratio: x(r.ring.p99 / fan.p99),
            target: headline ? 'p99 <= 50 ms' : '',
            verdict: headline ? verdict(r.ring.p99 <= 50) : '',
          });
        }
      }
    }

    // (b) join
    write(`\n(b) an empty node joins a ring holding ${opts.users} users; then reconnects with its state`);
    for (const security of ['mtls', 'insecure'] as Security[]) {
      const j = await measureJoinGrpc({ users: opts.users, security, certs });
      write(
        `  ${security}: join ${ms(j.joinMs)}, received ${mb(j.join.bytes)} in ${j.join.messages} messages ` +
          `(${j.join.stateMessages} state, ${j.join.usersReceived} user rows for ${j.users} users; ` +
          `first state frame handled at ${ms(j.join.firstStateMs)}, last at ${ms(j.join.lastStateMs)}); ` +
          `reconnect ${ms(j.reconnectMs)}, ${mb(j.reconnect.bytes)} (${j.reconnect.usersReceived} user rows)`,
      );
      write(`  naive (Dovecot handshake lines over TCP): ${mb(j.naive.bytes)} in ${ms(j.naive.ms)}`);
      const label = `${(j.users / 1e6).toFixed(2)}M users, ${security}`;
      add({
        measure: `join time, ${label}`,
        usher: ms(j.joinMs),
        baseline: `${ms(j.naive.ms)} (lines)`,
        ratio: x(j.joinMs / j.naive.ms),
        target: security === 'mtls' ? '< 3 s' : '',
        verdict: security === 'mtls' ? verdict(j.joinMs < 3000) : '',
      });
      add({
        measure: `join bytes received, ${label}`,
        usher: mb(j.join.bytes),
        baseline: `${mb(j.naive.bytes)} (lines)`,
        ratio: x(j.join.bytes / j.naive.bytes),
      });
      add({
        measure: `reconnect with state, ${label}`,
        usher: `${mb(j.reconnect.bytes)}, ${ms(j.reconnectMs)}`,
        baseline: `${mb(j.naive.bytes)} (lines)`,
        ratio: x(j.reconnect.bytes / j.naive.bytes),
        target: '~0 bytes of users',
        verdict: verdict(j.reconnect.usersReceived < j.users / 1000),
      });
    }

    // (c) host add
    write('\n(c) new users logging in on node B while node A adds (or removes) a backend');
    for (const size of [3, 16]) {
      const h = await measureHostAdd({ size, security: 'mtls', certs, rounds: opts.rounds, usersPerRound: 1000 });
      write(
        `  ${size} nodes, mtls, ${h.rounds} rounds: unaffected ${h.unaffected.samples} users p50 ${ms(h.unaffected.p50)} p99 ${ms(h.unaffected.p99)} max ${ms(h.unaffected.max)}, ${h.unaffected.queued} held; ` +
          `affected ${h.affected.samples} users (before the change was confirmed) p50 ${ms(h.affected.p50)} p99 ${ms(h.affected.p99)}, ${h.affected.queued} held, ` +
          `${h.affectedLater} more after; unconfirmed window p50 ${ms(h.window.p50)} p99 ${ms(h.window.p99)}`,
      );
      add({
        measure: `host change, ${size} nodes: unaffected users' wait p50/p99`,
        usher: `${ms(h.unaffected.p50)} / ${ms(h.unaffected.p99)} (${h.unaffected.queued} held)`,
        baseline: `${ms(h.window.p50)} / ${ms(h.window.p99)} (all wait)`,
        target: 'none held',
        verdict: verdict(h.unaffected.queued === 0),
      });
      add({
        measure: `host change, ${size} nodes: affected users' wait p50/p99`,
        usher: `${ms(h.affected.p50)} / ${ms(h.affected.p99)} (${h.affected.queued}/${h.affected.samples} held)`,
        baseline: `${ms(h.window.p50)} / ${ms(h.window.p99)} (all wait)`,
      });
    }
  } finally {
    certs.remove();
  }
  printTable(rows, write);
  write('\nbaselines: (a) the origin sending straight to every node (full mesh, same gRPC and security);');
  write('(b) every user as one Dovecot handshake line (U\\t<hash>\\t<ip>\\t<ts>\\n) over one TCP connection, parsed;');
  write(
    '(c) Dovecot holds every new login while the ring is unsynced: the window from B learning the change to B confirming it.',
  );
}

function printTable(rows: readonly Row[], write: (l: string) => void): void {
  const head: Row = {
    measure: 'measure',
    usher: 'usher ring',
    baseline: 'baseline',
    ratio: 'ratio',
    target: 'target',
    verdict: '',
  };
  writeTable(head, rows, write);
}

export type { BenchRingNode };

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { ...ringArgSpec, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(`usage: ring/main.js ${RING_USAGE}\n`);
    process.exit(0);
  }
  await runRingBench(ringOptions(values));
  process.exit(0);
}
