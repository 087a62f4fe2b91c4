/**
 * The proxy bench: real usherd in front of three real Dovecot backends, every figure beside the same
 * work done straight against the backends in the same run. Needs root and Dovecot (like the e2e tests).
 * Run: `node packages/bench/dist/proxy/main.js [--seconds N] [--clients 50] [--sessions 10000]`.
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fmt } from '../measure.js';
import { type ProxyBenchOptions, proxyArgSpec, proxyOptions } from './args.js';
import { type BenchCluster, SHARED_IMAP_PROCESSES, startBenchCluster } from './cluster.js';
import { type LoginLegResult, runLoginLeg, warmUsers } from './login-bench.js';
import { measureIdleSessions } from './memory-bench.js';
import { CLK_TCK, cpuMs, openFilesLimit, treeCpuMs, treeRssKiB } from './proc-stats.js';
import { kib, ms, ratio, Summary, verdict } from './report.js';
import { appendMessage, fetchLeg, makeMessage } from './throughput-bench.js';

const USERS = 1000;
const log = (line: string) => process.stdout.write(`${line}\n`);
const MIB = 2 ** 20;

function backendCpuMs(c: BenchCluster): number {
  return c.masters.reduce((sum, m) => sum + treeCpuMs(m), 0);
}

/**
 * `serverMs`: CPU of usherd and the backends during the leg. What the box was busy with beyond that
 * and the client belongs to other tenants, whose load skews the comparison.
 */
function legLine(name: string, r: LoginLegResult, serverMs: number, extra: string): string {
  const capacityMs = r.seconds * 1000 * availableParallelism();
  const ours = (r.clientCpuMsPerLogin * r.logins + serverMs) / capacityMs;
  const others = Math.max(0, r.machineBusy - ours);
  return (
    `  ${name.padEnd(7)} ${fmt(r.perSecond).padStart(8)} logins/s  p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  ` +
    `${r.logins} logins, ${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ''}\n` +
    `          CPU per login: client ${r.clientCpuMsPerLogin.toFixed(3)} ms, ${extra}; ` +
    `box busy ${pct(r.machineBusy)}, of which other processes ~${pct(others)}`
  );
}

const pct = (v: number) => `${(v * 100).toFixed(0)}%`;

async function loginPhase(c: BenchCluster, o: ProxyBenchOptions, s: Summary): Promise<void> {
  const users = c.backends.users;
  const password = c.backends.password;
  const leg = { clients: o.clients, users, password };
  const direct = (u: string) => c.direct(u);
  const proxied = () => c.plain;
  log(
    `\n1-2. logins: ${o.clients} clients looping LOGIN + SELECT INBOX + LOGOUT on fresh connections, ${o.seconds} s each`,
  );
  log('  warming: every user once (creates Maildirs), then 2 s untimed each way');
  await warmUsers({ ...leg, endpointFor: direct });
  await runLoginLeg({ ...leg, seconds: 2, endpointFor: direct });
  await runLoginLeg({ ...leg, seconds: 2, endpointFor: proxied });

  const pid = c.usherd.pid;
  const b0 = backendCpuMs(c);
  const d = await runLoginLeg({ ...leg, seconds: o.seconds, endpointFor: direct });
  const b1 = backendCpuMs(c);
  const u1 = cpuMs(pid);
  const p = await runLoginLeg({ ...leg, seconds: o.seconds, endpointFor: proxied });
  const u2 = cpuMs(pid);
  const b2 = backendCpuMs(c);
  const usherdPerLogin = (u2 - u1) / Math.max(1, p.logins);
  const backendDirect = (b1 - b0) / Math.max(1, d.logins);
  const backendProxied = (b2 - b1) / Math.max(1, p.logins);
  log(legLine('direct', d, b1 - b0, `Dovecot ${backendDirect.toFixed(3)} ms`));
  log(
    legLine(
      'usherd',
      p,
      b2 - b1 + u2 - u1,
      `Dovecot ${backendProxied.toFixed(3)} ms, usherd ${usherdPerLogin.toFixed(3)} ms`,
    ),
  );
  log(`  (CPU from /proc/<pid>/stat utime+stime, CLK_TCK ${CLK_TCK}; ${availableParallelism()} CPUs)`);
  const rateRatio = p.perSecond / d.perSecond;
  s.add({
    measure: 'logins/s (50 clients)',
    usher: fmt(p.perSecond),
    direct: fmt(d.perSecond),
    ratio: ratio(rateRatio),
    target: '>= 0.95x',
    verdict: verdict(rateRatio >= 0.95),
  });
  s.add({ measure: 'login latency p50', usher: ms(p.p50), direct: ms(d.p50), ratio: ratio(p.p50 / d.p50) });
  s.add({ measure: 'login latency p99', usher: ms(p.p99), direct: ms(d.p99), ratio: ratio(p.p99 / d.p99) });
  s.add({
    measure: 'usherd CPU per login',
    usher: ms(usherdPerLogin),
    direct: `(Dovecot ${ms(backendDirect)})`,
    target: '<= 0.25 ms',
    verdict: verdict(usherdPerLogin <= 0.25),
  });
  if (d.errors + p.errors > 0) s.add({ measure: 'login errors', usher: String(p.errors), direct: String(d.errors) });
}

async function throughputPhase(c: BenchCluster, o: ProxyBenchOptions, s: Summary): Promise<void> {
  const user = c.backends.users[0] as string;
  const password = c.backends.password;
  const size = Math.round(o.sizeMb * MIB);
  log(`\n3. throughput: UID FETCH BODY.PEEK[] of one ${o.sizeMb} MiB message, ${o.fetches} times each way`);
  const uid = await appendMessage(c.direct(user), user, password, makeMessage(size));
  const d = await fetchLeg(c.direct(user), user, password, uid, size, o.fetches);
  const p = await fetchLeg(c.plain, user, password, uid, size, o.fetches);
  const t = await fetchLeg(c.tls, user, password, uid, size, o.fetches);
  const line = (name: string, bps: number, secs: number[]) =>
    `  ${name.padEnd(14)} ${(bps / MIB).toFixed(0).padStart(6)} MiB/s  (${secs.map((x) => `${(x * 1000).toFixed(0)}`).join(', ')} ms)`;
  log(line('direct', d.bytesPerSecond, d.seconds));
  log(line('usherd', p.bytesPerSecond, p.seconds));
  log(line('usherd imaps', t.bytesPerSecond, t.seconds));
  const r = p.bytesPerSecond / d.bytesPerSecond;
  const mibs = (bps: number) => `${(bps / MIB).toFixed(0)} MiB/s`;
  s.add({
    measure: `FETCH ${o.sizeMb} MiB`,
    usher: mibs(p.bytesPerSecond),
    direct: mibs(d.bytesPerSecond),
    ratio: ratio(r),
    target: '>= 0.9x',
    verdict: verdict(r >= 0.9),
  });
  s.add({
    measure: `FETCH ${o.sizeMb} MiB, imaps to usherd`,
    usher: mibs(t.bytesPerSecond),
    direct: mibs(d.bytesPerSecond),
    ratio: ratio(t.bytesPerSecond / d.bytesPerSecond),
  });
}

async function memoryPhase(c: BenchCluster, sessions: number, s: Summary): Promise<void> {
  log(`\n4. memory: usherd RSS before and after ${sessions} logged-in idle sessions (fresh usherd for each)`);
  log('  restarting the backends with shared imap processes (service_count = 0, client_limit = 500)');
  await c.restartBackends(SHARED_IMAP_PROCESSES);
  for (const mode of ['plain', 'tls'] as const) {
    const usherd = await c.restartUsherd();
    const r = await measureIdleSessions({
      endpoint: mode === 'plain' ? c.plain : c.tls,
      users: c.backends.users,
      password: c.backends.password,
      sessions,
      concurrency: 100,
      pid: usherd.pid,
      backendRssKiB: () => c.masters.reduce((sum, m) => sum + treeRssKiB(m), 0),
    });
    log(
      `  ${mode.padEnd(5)} ${r.sessions} sessions opened in ${r.openSeconds.toFixed(1)} s (${r.failures} failed` +
        `${r.firstError ? `, first: ${r.firstError}` : ''}); usherd RSS ${fmt(r.rssBeforeKiB)} KiB -> ` +
        `${fmt(r.rssAfterKiB)} KiB = ${kib(r.perSessionKiB)}/session; Dovecot backends ${kib(r.backendPerSessionKiB)}/session`,
    );
    s.add({
      measure: `memory per idle ${mode === 'plain' ? 'plain' : 'TLS'} session (${r.sessions})`,
      usher: kib(r.perSessionKiB),
      direct: `(Dovecot ${kib(r.backendPerSessionKiB)})`,
      target: mode === 'plain' ? '<= 10 KiB' : '',
      verdict: mode === 'plain' ? verdict(r.perSessionKiB <= 10) : '',
    });
  }
}

/** Largest idle-session count the open-files limit allows: usherd holds two sockets per session. */
export function sessionCap(limit: number): number {
  return Math.floor((limit - 200) / 2 / 100) * 100;
}

export async function runProxyBench(o: ProxyBenchOptions): Promise<void> {
  const limit = openFilesLimit();
  let sessions = o.sessions;
  if (o.phases.has('memory') && sessions > sessionCap(limit)) {
    sessions = sessionCap(limit);
    log(
      `note: open-files limit ${limit} (inherited by usherd) allows ~${sessions} proxied sessions (2 fds each); ` +
        `measuring ${sessions} instead of ${o.sessions}. Raise it with \`ulimit -n\` where permitted.`,
    );
  }
  let cluster: BenchCluster | undefined;
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // a second signal skips the graceful stop; testkit's exit hooks still SIGTERM Dovecot and usherd
    if (++signals > 1 || !cluster) process.exit(130);
    log(`\n${sig}: stopping usherd and the backends`);
    void cluster.stop().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = new Summary();
  try {
    log(`proxy bench: node ${process.version}, ${availableParallelism()} CPUs, open-files limit ${limit}`);
    cluster = await startBenchCluster({ users: USERS, log });
    if (o.phases.has('login')) await loginPhase(cluster, o, summary);
    if (o.phases.has('throughput')) await throughputPhase(cluster, o, summary);
    if (o.phases.has('memory')) await memoryPhase(cluster, sessions, summary);
    summary.print(log);
  } finally {
    await cluster?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const { values } = parseArgs({ options: proxyArgSpec, strict: true });
  await runProxyBench(proxyOptions(values));
  // sockets and child handles are gone, but a stray timer must not keep a finished bench alive
  process.exit(0);
}
