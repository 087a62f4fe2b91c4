import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { quantile } from '../measure.js';
import { type Endpoint, ImapConn } from './imap-client.js';
import { machineCpu } from './proc-stats.js';

export interface LoginLoad {
  clients: number;
  users: readonly string[];
  password: string;
}

/** One timed slice of one path. */
interface Slice {
  logins: number;
  errors: number;
  firstError: string | undefined;
  seconds: number;
  latencies: number[];
  clientCpuMs: number;
  /** CPU of usherd and the backends during the slice, from the caller's probe. */
  serverCpuMs: number;
  machineBusy: number;
  machineTotal: number;
}

export interface LoginPathResult {
  /** Completed LOGIN + SELECT + LOGOUT cycles. */
  logins: number;
  errors: number;
  firstError: string | undefined;
  seconds: number;
  perSecond: number;
  /** Connect to tagged LOGIN OK, ms. */
  p50: number;
  p99: number;
  /** CPU of this (client) process per login, ms: what the load generator takes from the box. */
  clientCpuMsPerLogin: number;
  /** Share of the whole machine's CPU that was busy, 0..1, and the part not ours (other tenants). */
  machineBusy: number;
  othersBusy: number;
}

/**
 * `clients` loops, each logging a random user in on a fresh connection, SELECTing INBOX and logging
 * out, until `seconds` have passed; loops finish their cycle, so the window is measured to the end.
 */
async function runSlice(
  load: LoginLoad,
  seconds: number,
  endpointFor: (user: string) => Endpoint,
  serverCpuMs: () => number,
): Promise<Slice> {
  const latencies: number[] = [];
  let logins = 0;
  let errors = 0;
  let firstError: string | undefined;
  const cpu0 = process.cpuUsage();
  const server0 = serverCpuMs();
  const machine0 = machineCpu();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;

  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const user = load.users[Math.floor(Math.random() * load.users.length)] as string;
      const start = performance.now();
      let conn: ImapConn | undefined;
      try {
        conn = await ImapConn.open(endpointFor(user));
        await conn.login(user, load.password);
        latencies.push(performance.now() - start);
        await conn.ok('SELECT INBOX');
        await conn.logout();
        logins++;
      } catch (e) {
        conn?.destroy();
        errors++;
        firstError ??= (e as Error).message;
        // a refusing server would otherwise be hammered in a tight loop
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: load.clients }, loop));

  const cpu = process.cpuUsage(cpu0);
  const machine1 = machineCpu();
  return {
    logins,
    errors,
    firstError,
    seconds: (performance.now() - t0) / 1000,
    latencies,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    serverCpuMs: serverCpuMs() - server0,
    machineBusy: machine1.busy - machine0.busy,
    machineTotal: machine1.total - machine0.total,
  };
}

function summarize(slices: readonly Slice[]): LoginPathResult & { serverCpuMs: number } {
  const sum = (f: (s: Slice) => number) => slices.reduce((a, s) => a + f(s), 0);
  const logins = sum((s) => s.logins);
  const seconds = sum((s) => s.seconds);
  const latencies = slices.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const machineBusy =
    sum((s) => s.machineBusy) /
    Math.max(
      1,
      sum((s) => s.machineTotal),
    );
  const capacityMs = seconds * 1000 * availableParallelism();
  const ours = (sum((s) => s.clientCpuMs) + sum((s) => s.serverCpuMs)) / capacityMs;
  return {
    logins,
    errors: sum((s) => s.errors),
    firstError: slices.find((s) => s.firstError !== undefined)?.firstError,
    seconds,
    perSecond: logins / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    clientCpuMsPerLogin: sum((s) => s.clientCpuMs) / Math.max(1, logins),
    machineBusy,
    othersBusy: Math.max(0, machineBusy - ours),
    serverCpuMs: sum((s) => s.serverCpuMs),
  };
}

export interface LoginComparison {
  direct: LoginPathResult;
  proxied: LoginPathResult;
  /** Backend CPU per login on each path, and usherd's per proxied login, ms. */
  backendMsDirect: number;
  backendMsProxied: number;
  usherdMs: number;
}

/**
 * `seconds` on each path, alternated in slices of about 5 s (direct first, then proxied first, ...):
 * on a shared box, load from other processes then falls on both paths alike rather than on one.
 */
export async function compareLogins(opts: {
  load: LoginLoad;
  seconds: number;
  direct: (user: string) => Endpoint;
  proxied: (user: string) => Endpoint;
  backendCpuMs: () => number;
  usherdCpuMs: () => number;
}): Promise<LoginComparison> {
  const rounds = Math.max(1, Math.round(opts.seconds / 5));
  const slice = opts.seconds / rounds;
  const direct: Slice[] = [];
  const proxied: Slice[] = [];
  let usherdMs = 0;
  let backendDirect = 0;
  let backendProxied = 0;
  for (let round = 0; round < rounds; round++) {
    for (const path of round % 2 === 0 ? ['direct', 'proxied'] : ['proxied', 'direct']) {
      const isDirect = path === 'direct';
      const u0 = opts.usherdCpuMs();
      const b0 = opts.backendCpuMs();
      const s = await runSlice(opts.load, slice, isDirect ? opts.direct : opts.proxied, () => {
        return opts.backendCpuMs() + opts.usherdCpuMs();
      });
      const backend = opts.backendCpuMs() - b0;
      if (isDirect) {
        direct.push(s);
        backendDirect += backend;
      } else {
        proxied.push(s);
        backendProxied += backend;
        usherdMs += opts.usherdCpuMs() - u0;
      }
    }
  }
  const d = summarize(direct);
  const p = summarize(proxied);
  return {
    direct: d,
    proxied: p,
    backendMsDirect: backendDirect / Math.max(1, d.logins),
    backendMsProxied: backendProxied / Math.max(1, p.logins),
    usherdMs: usherdMs / Math.max(1, p.logins),
  };
}

/** Untimed load: every user once (creating their Maildirs), so no measured slice pays first logins. */
export async function warmUsers(load: LoginLoad, endpointFor: (user: string) => Endpoint): Promise<void> {
  let next = 0;
  const loop = async (): Promise<void> => {
    for (let i = next++; i < load.users.length; i = next++) {
      const user = load.users[i] as string;
      const conn = await ImapConn.open(endpointFor(user));
      await conn.login(user, load.password);
      await conn.ok('SELECT INBOX');
      await conn.logout();
    }
  };
  await Promise.all(Array.from({ length: load.clients }, loop));
}

/** Untimed load on one path for `seconds` (JIT and caches warm before the measured slices). */
export async function warmPath(load: LoginLoad, seconds: number, endpointFor: (u: string) => Endpoint): Promise<void> {
  await runSlice(load, seconds, endpointFor, () => 0);
}
