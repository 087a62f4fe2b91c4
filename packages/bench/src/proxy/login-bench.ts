import { performance } from 'node:perf_hooks';
import { quantile } from '../measure.js';
import { type Endpoint, ImapConn } from './imap-client.js';
import { busyShare, machineCpu } from './proc-stats.js';

export interface LoginLegOptions {
  clients: number;
  seconds: number;
  users: readonly string[];
  password: string;
  /** Where a user's connection goes: the proxy, or the user's own backend for the baseline. */
  endpointFor(user: string): Endpoint;
}

export interface LoginLegResult {
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
  /** Share of the whole machine's CPU that was busy (all tenants), 0..1. */
  machineBusy: number;
}

/**
 * `clients` loops, each logging a random user in on a fresh connection, SELECTing INBOX and logging
 * out, until `seconds` have passed; loops finish their cycle, so the window is measured to the end.
 */
export async function runLoginLeg(opts: LoginLegOptions): Promise<LoginLegResult> {
  const latencies: number[] = [];
  let logins = 0;
  let errors = 0;
  let firstError: string | undefined;
  const cpu0 = process.cpuUsage();
  const machine0 = machineCpu();
  const t0 = performance.now();
  const deadline = t0 + opts.seconds * 1000;

  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const user = opts.users[Math.floor(Math.random() * opts.users.length)] as string;
      const start = performance.now();
      let conn: ImapConn | undefined;
      try {
        conn = await ImapConn.open(opts.endpointFor(user));
        await conn.login(user, opts.password);
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
  await Promise.all(Array.from({ length: opts.clients }, loop));

  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return {
    logins,
    errors,
    firstError,
    seconds,
    perSecond: logins / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    clientCpuMsPerLogin: (cpu.user + cpu.system) / 1000 / Math.max(1, logins),
    machineBusy: busyShare(machine0, machineCpu()),
  };
}

/** Logs every user in once (creating their Maildirs), so neither measured leg pays first-login costs. */
export async function warmUsers(opts: Omit<LoginLegOptions, 'seconds'>): Promise<void> {
  let next = 0;
  const loop = async (): Promise<void> => {
    for (let i = next++; i < opts.users.length; i = next++) {
      const user = opts.users[i] as string;
      const conn = await ImapConn.open(opts.endpointFor(user));
      await conn.login(user, opts.password);
      await conn.ok('SELECT INBOX');
      await conn.logout();
    }
  };
  await Promise.all(Array.from({ length: opts.clients }, loop));
}
