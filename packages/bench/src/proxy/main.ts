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
import { compareLogins, type LoginPathResult, warmPath, warmUsers } from './login-bench.js';
import { measureIdleSessions } from './memory-bench.js';
import { CLK_TCK, cpuMs, cpuTimes, openFilesLimit, treeCpuMs, treeRssKiB } from './proc-stats.js';
import { kib, ms, ratio, Summary, verdict } from './report.js';
import { appendMessage, type FetchResult, fetchLeg, makeMessage } from './throughput-bench.js';

const USERS = 1000;
const log = (line: string) => process.stdout.write(`${line}\n`);
const MIB = 2 ** 20;

function backendCpuMs(c: BenchCluster): number {
  return c.masters.reduce((sum, m) => sum + treeCpuMs(m), 0);
}

const pct = (v: number) => `${(v * 100).toFixed(0)}%`;

function pathLine(name: string, r: LoginPathResult, cpu: string): string {
  return (
    `  ${name.padEnd(7)} ${fmt(r.perSecond).padStart(8)} logins/s  p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  ` +
    `${r.logins} logins, ${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ''}\n` +
    `          CPU per login: client ${r.clientCpuMsPerLogin.toFixed(3)} ms, ${cpu}; ` +
    `box busy ${pct(r.machineBusy)}, of which other processes ~${pct(r.othersBusy)}`
  );
}

async function loginPhase(c: BenchCluster, o: ProxyBenchOptions, s: Summary): Promise<void> {
  const load = { clients: o.clients, users: c.backends.users, password: c.backends.password };
  const direct = (u: string) => c.direct(u);
  const proxied = () => c.plain;
  log(
    `\n1-2. logins: ${o.clients} clients looping LOGIN + SELECT INBOX + LOGOUT on fresh connections, ` +
      `${o.seconds} s per path in alternating slices`,
  );
  log('  warming: every user once (creates Maildirs), then 2 s untimed each way');
  await warmUsers(load, direct);
  await warmPath(load, 2, direct);
  await warmPath(load, 2, proxied);

  const pid = c.usherd.pid;
  const t0 = cpuTimes(pid);
  const r = await compareLogins({
    load,
    seconds: o.seconds,
    direct,
    proxied,
    backendCpuMs: () => backendCpuMs(c),
    usherdCpuMs: () => cpuMs(pid),
  });
  const t1 = cpuTimes(pid);
  // usherd is idle during the direct slices, so the whole run's split is the proxied logins' split
  const kernel = (t1.sysMs - t0.sysMs) / Math.max(1, t1.sysMs - t0.sysMs + t1.userMs - t0.userMs);
  const d = r.direct;
  const p = r.proxied;
  log(pathLine('direct', d, `Dovecot ${r.backendMsDirect.toFixed(3)} ms`));
  log(
    pathLine(
      'usherd',
      p,
      `Dovecot ${r.backendMsProxied.toFixed(3)} ms, usherd ${r.usherdMs.toFixed(3)} ms (${pct(kernel)} in the kernel)`,
    ),
  );
  log(`  (CPU from /proc/<pid>/stat utime+stime, CLK_TCK ${CLK_TCK}; ${availableParallelism()} CPUs)`);
  const rateRatio = p.perSecond / d.perSecond;
  s.add({
    measure: `logins/s (${o.clients} clients)`,
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
    usher: ms(r.usherdMs),
    direct: `(Dovecot ${ms(r.backendMsDirect)})`,
    target: '<= 0.25 ms',
    verdict: verdict(r.usherdMs <= 0.25),
  });
  if (d.errors + p.errors > 0) s.add({ measure: 'login errors', usher: String(p.errors), direct: String(d.errors) });
}

async function throughputPhase(c: BenchCluster, o: ProxyBenchOptions, s: Summary): Promise<void> {
  const user = c.backends.users[0] as string;
  const password = c.backends.password;
  const size = Math.round(o.sizeMb * MIB);
  log(`\n3. throughput: UID FETCH BODY.PEEK[] of one ${o.sizeMb} MiB message, ${o.fetches} times each way`);
  const uid = await appendMessage(c.direct(user), user, password, makeMessage(size));
  const client = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const pid = c.usherd.pid;
  const probes = { client, Dovecot: () => backendCpuMs(c), usherd: () => cpuMs(pid) };
  const d = await fetchLeg(c.direct(user), user, password, uid, size, o.fetches, probes);
  const p = await fetchLeg(c.plain, user, password, uid, size, o.fetches, probes);
  const t = await fetchLeg(c.tls, user, password, uid, size, o.fetches, probes);
  const line = (name: string, r: FetchResult) =>
    `  ${name.padEnd(13)} ${(r.bytesPerSecond / MIB).toFixed(0).padStart(5)} MiB/s  ` +
    `(${r.seconds.map((x) => `${(x * 1000).toFixed(0)}`).join(', ')} ms)  CPU ms per MiB: ` +
    Object.entries(r.cpuMsPerMiB)
      .filter(([k, v]) => k !== 'usherd' || v > 0.005)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ');
  log(line('direct', d));
  log(line('usherd', p));
  log(line('usherd imaps', t));
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
  log('  backends restarted for each run, with shared imap processes (service_count = 0, client_limit = 500)');
  for (const mode of ['plain', 'tls'] as const) {
    await c.restartBackends(SHARED_IMAP_PROCESSES);
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
        `${fmt(r.rssAfterKiB)} KiB = ${kib(r.perSessionKiB)}/session (second half alone ${kib(r.marginalKiB)}/session); ` +
        `Dovecot backends ${kib(r.backendPerSessionKiB)}/session`,
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
  log(`proxy bench: node ${process.version}, ${availableParallelism()} CPUs, open-files limit ${limit}`);
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
