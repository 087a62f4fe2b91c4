import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { USHERD_MAIN } from '../cluster/usherd-process.js';

export type NodeState = 'running' | 'frozen' | 'dead';

/** Client ports every node listens on (each node has its own IP). */
export const NODE_PORTS = { imap: 1143, pop3: 1110, lmtp: 1024, managesieve: 4190 } as const;
export const RING_PORT = 9090;

/**
 * One usherd process of the campaign, restartable with the same config. Unlike startUsherd it
 * passes an environment (the node's `grpc_proxy`, see link-proxy.ts) and survives kill -9 / restart
 * cycles; an exit the campaign did not cause is recorded as a crash.
 */
export class CampaignNode {
  readonly id: string;
  readonly ip: string;
  readonly name: string;
  readonly configPath: string;
  readonly logPath: string;
  state: NodeState = 'dead';
  child: ChildProcess | undefined;
  /** Exits nobody asked for: code/signal and when. */
  readonly crashes: Array<{ at: number; code: number | null; signal: string | null }> = [];
  private readonly env: NodeJS.ProcessEnv;
  private expectingExit = false;
  starts = 0;

  constructor(opts: { ip: string; name: string; root: string; config: Record<string, unknown>; proxyUrl: string }) {
    this.ip = opts.ip;
    this.id = `${opts.ip}:${RING_PORT}`;
    this.name = opts.name;
    this.configPath = join(opts.root, `${opts.name}.json`);
    this.logPath = join(opts.root, `${opts.name}.log`);
    writeFileSync(this.configPath, `${JSON.stringify({ node_name: opts.name, ...opts.config }, null, 2)}\n`);
    this.env = {
      ...process.env,
      grpc_proxy: opts.proxyUrl,
      // grpc-js falls back to no_proxy when this is empty; an operator's no_proxy=127.0.0.0/8 would bypass us
      no_grpc_proxy: 'campaign.invalid',
    };
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns usherd and resolves when it printed its listening addresses. */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.state !== 'dead') throw new Error(`${this.name} is ${this.state}, not dead`);
    this.starts++;
    const log = createWriteStream(this.logPath, { flags: 'a' });
    log.write(`--- campaign: start #${this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, [USHERD_MAIN, '--config', this.configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: this.env,
    });
    this.child = child;
    this.expectingExit = false;
    child.stderr?.pipe(log);
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.state = 'dead';
      if (!this.expectingExit) this.crashes.push({ at: Date.now(), code, signal });
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        this.expectingExit = true;
        child.kill('SIGKILL');
        reject(new Error(`${this.name} did not start within ${timeoutMs} ms (log: ${this.logPath})`));
      }, timeoutMs);
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('usherd ready ')) {
          clearTimeout(timer);
          out = '';
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited with ${code} before it was ready (log: ${this.logPath})`));
      });
    });
    this.state = 'running';
  }

  /** kill -9: no goodbye, sockets reset by the kernel. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  freeze(): void {
    if (this.state !== 'running' || !this.child) return;
    this.child.kill('SIGSTOP');
    this.state = 'frozen';
  }

  thaw(): void {
    if (this.state !== 'frozen' || !this.child) return;
    this.child.kill('SIGCONT');
    this.state = 'running';
  }

  /** Graceful stop at the end of the campaign (SIGKILL after the timeout). */
  async stop(timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    if (this.state === 'frozen') child.kill('SIGCONT');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Resident set size in bytes (from /proc), undefined when not running. */
  rssBytes(): number | undefined {
    const pid = this.child?.pid;
    if (pid === undefined) return undefined;
    try {
      const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** The last lines of the node's log, for a crash report. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** usherd settings of a campaign node: short timers, so faults are noticed and healed within seconds. */
export function nodeConfig(opts: {
  ip: string;
  members: readonly string[];
  backends: readonly string[];
  ringCerts: string;
  kickDelay: string;
  pingTimeout: string;
  adminSocket?: string;
}): Record<string, unknown> {
  const { ip } = opts;
  return {
    director_servers: opts.members.join(' '),
    director_ring_address: ip,
    director_ring_port: RING_PORT,
    director_ring_ssl_ca: join(opts.ringCerts, 'ca.pem'),
    director_ring_ssl_cert: join(opts.ringCerts, `${ip}.pem`),
    director_ring_ssl_key: join(opts.ringCerts, `${ip}.key`),
    director_ring_ping_interval: '1 secs',
    director_ring_ping_timeout: opts.pingTimeout,
    director_ring_sync_timeout: '15 secs',
    director_user_kick_delay: opts.kickDelay,
    director_mail_servers: opts.backends.join(' '),
    director_username_hash: '%Ln',
    login_trusted_networks: '127.0.0.0/8',
    auth_failure_delay: '100 ms',
    login_proxy_timeout: '5 secs',
    lmtp_proxy_timeout: '20 secs',
    shutdown_timeout: '1 secs',
    login_max_connections_per_ip: 1000,
    ...(opts.adminSocket ? { director_admin_socket: opts.adminSocket } : {}),
    listeners: Object.entries(NODE_PORTS).map(([protocol, port]) => ({ protocol, address: ip, port })),
  };
}
