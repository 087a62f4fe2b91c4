import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  type BackendPorts,
  DEFAULT_PORTS,
  DEFAULT_TLS_PORTS,
  renderDovecotConfig,
  userNames,
} from './dovecot-config.js';
import { isListening, waitForGreeting, waitForPortsClosed } from './net.js';
import { reapOrphans, trackMaster, untrackMaster } from './process-registry.js';
import { requireDovecot } from './require-dovecot.js';

export interface DovecotBackendOptions {
  /** Working directory for configs, sockets, logs and mail; created if missing, made world-traversable. */
  root: string;
  /** One Dovecot instance per IP (any 127.x.y.z works on Linux without setup). */
  ips: string[];
  /** A count (`demo0001`...) or explicit user names. */
  users: number | string[];
  /** Prefix for generated user names; default 'demo'. */
  userPrefix?: string;
  /** Password of every user; default 'demo'. */
  password?: string;
  /** Master user: logging in as `user*master` with this password opens `user`'s mailbox. */
  masterUser?: { name: string; password: string };
  /** Enables ssl = yes (STARTTLS) plus imaps/pop3s listeners. */
  tls?: { cert: string; key: string };
  ports?: Partial<BackendPorts>;
  /**
   * Dovecot `auth_failure_delay` (default here '0'; Dovecot's own default is '2 secs'). Even with 0,
   * 2.3.19 answers failed logins within ~0.5 s: it flushes its failure queue on a 500 ms timer.
   */
  authFailureDelay?: string;
  /** Keep Dovecot's per-IP auth penalty (2..15 s after failed logins); default false, i.e. disabled. */
  authPenalty?: boolean;
  /** Raw Dovecot config appended to every backend's config. */
  extraConfig?: string;
  /** uid/gid owning the mail directories; default 5000. */
  mailUid?: number;
  /** Per-backend start/stop timeout; default 20 s. */
  timeoutMs?: number;
}

export interface DovecotBackend {
  ip: string;
  name: string;
  configPath: string;
  logPath: string;
  ports: BackendPorts;
  /** Directory holding one home (with ~/Maildir, ~/sieve) per user. */
  mailRoot: string;
}

export interface WhoEntry {
  user: string;
  proto: string;
  pid: number;
  ip: string;
}

export interface DovecotCluster {
  backends: DovecotBackend[];
  users: string[];
  password: string;
  masterUser: { name: string; password: string };
  /** Stops every backend (idempotent). */
  stop(): Promise<void>;
  /** SIGTERMs one backend's master and waits until its ports are closed. No-op if stopped. */
  stopBackend(ip: string): Promise<void>;
  /** (Re)starts a stopped backend with the same config and waits for its greetings. No-op if running. */
  startBackend(ip: string): Promise<void>;
  isRunning(ip: string): boolean;
  /** Sessions reported by `doveadm who -1` (one row per connection). */
  who(ip: string): Promise<WhoEntry[]>;
  /** Runs `doveadm -c <config> ...args` and resolves with stdout; rejects on non-zero exit. */
  doveadm(ip: string, args: string[]): Promise<string>;
  /** Current contents of the backend's log_path (e.g. to look for `rip=127.0.0.9`). */
  readLog(ip: string): Promise<string>;
}

interface Instance {
  backend: DovecotBackend;
  outPath: string;
  baseDir: string;
  child: ChildProcess | undefined;
  exited: Promise<void> | undefined;
}

function assertTraversable(dir: string): void {
  // uid 5000 (mail) and dovenull must reach the mail dirs and sockets; /root or a 0700 mkdtemp breaks that.
  for (let d = dirname(dir); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      throw new Error(`${d} is not world-traversable (o+x); Dovecot's unprivileged processes cannot reach ${dir}`);
    }
    if (dirname(d) === d) break;
  }
}

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

function greetings(b: DovecotBackend): Array<[number, RegExp, boolean]> {
  // Match the real greeting, not the interim "* OK Waiting for authentication process to respond..".
  const list: Array<[number, RegExp, boolean]> = [
    [b.ports.imap, /^\* OK \[CAPABILITY .*ready/, false],
    [b.ports.pop3, /^\+OK .*ready/, false],
    [b.ports.lmtp, /^220 /, false],
    [b.ports.sieve, /^OK /, false],
  ];
  if (b.ports.imaps !== undefined) list.push([b.ports.imaps, /^\* OK \[CAPABILITY .*ready/, true]);
  if (b.ports.pop3s !== undefined) list.push([b.ports.pop3s, /^\+OK .*ready/, true]);
  return list;
}

function allPorts(b: DovecotBackend): number[] {
  return greetings(b).map(([port]) => port);
}

/** Starts one real Dovecot 2.3 master per IP and resolves once every listener has greeted. */
export async function startDovecotBackends(opts: DovecotBackendOptions): Promise<DovecotCluster> {
  const bin = requireDovecot();
  if (process.getuid?.() !== 0) {
    throw new Error('Dovecot test backends must run as root (ports < 1024, per-user uids)');
  }
  if (opts.ips.length === 0) throw new Error('startDovecotBackends: no ips given');
  if (new Set(opts.ips).size !== opts.ips.length) throw new Error('startDovecotBackends: duplicate ips');
  await reapOrphans();

  const root = resolve(opts.root);
  const users = typeof opts.users === 'number' ? userNames(opts.users, opts.userPrefix) : [...opts.users];
  const password = opts.password ?? 'demo';
  const masterUser = opts.masterUser ?? { name: 'master', password: 'masterpass' };
  const uid = opts.mailUid ?? 5000;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  for (const s of [password, masterUser.name, masterUser.password, ...users]) {
    if (/[:\s]/.test(s) || s === '')
      throw new Error(`passwd-file field may not be empty or contain ':'/whitespace: ${JSON.stringify(s)}`);
  }
  const ports: BackendPorts = {
    ...DEFAULT_PORTS,
    ...(opts.tls ? DEFAULT_TLS_PORTS : {}),
    ...opts.ports,
  };
  if (!opts.tls) {
    delete ports.imaps;
    delete ports.pop3s;
  }

  for (const d of ['etc', 'run', 'state', 'log', 'mail']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(root, 0o755);
  chmodSync(join(root, 'mail'), 0o755);
  assertTraversable(join(root, 'mail'));
  const mastersFile = join(root, 'etc', 'masters.passwd');
  writeFileSync(mastersFile, `${masterUser.name}:{PLAIN}${masterUser.password}\n`, { mode: 0o644 });

  const instances = new Map<string, Instance>();
  for (const ip of opts.ips) {
    const name = `b${ip.replace(/[.:]/g, '-')}`;
    const mailRoot = join(root, 'mail', ip);
    mkdirSync(mailRoot, { recursive: true });
    chownSync(mailRoot, uid, uid);
    const usersFile = join(root, 'etc', `${name}.passwd`);
    const passwd = users.map((u) => {
      const home = join(mailRoot, u);
      mkdirSync(home, { recursive: true });
      chownSync(home, uid, uid);
      return `${u}:{PLAIN}${password}:${uid}:${uid}::${home}::\n`;
    });
    writeFileSync(usersFile, passwd.join(''), { mode: 0o644 });
    const backend: DovecotBackend = {
      ip,
      name,
      configPath: join(root, 'etc', `${name}.conf`),
      logPath: join(root, 'log', `${name}.log`),
      ports: { ...ports },
      mailRoot,
    };
    const config = renderDovecotConfig({
      name,
      ip,
      ports,
      baseDir: join(root, 'run', name),
      stateDir: join(root, 'state', name),
      logPath: backend.logPath,
      mailRoot,
      usersFile,
      mastersFile,
      tls: opts.tls,
      authFailureDelay: opts.authFailureDelay ?? '0',
      authPenalty: opts.authPenalty ?? false,
      extraConfig: opts.extraConfig ?? '',
    });
    writeFileSync(backend.configPath, config, { mode: 0o644 });
    instances.set(ip, {
      backend,
      outPath: join(root, 'log', `${name}.out`),
      baseDir: join(root, 'run', name),
      child: undefined,
      exited: undefined,
    });
  }

  const get = (ip: string): Instance => {
    const inst = instances.get(ip);
    if (!inst) throw new Error(`no test backend on ${ip} (have ${[...instances.keys()].join(', ')})`);
    return inst;
  };

  const startOne = async (inst: Instance): Promise<void> => {
    if (inst.child) return;
    const { backend } = inst;
    // Otherwise the greeting check below would happily talk to whoever already holds the port.
    const busy = (
      await Promise.all(allPorts(backend).map(async (p) => ((await isListening(backend.ip, p)) ? p : 0)))
    ).filter(Boolean);
    if (busy.length > 0) {
      throw new Error(
        `${backend.ip} port(s) ${busy.join(', ')} already in use (another test's backends? a system Dovecot?)`,
      );
    }
    // A socket left by a previous run of this backend would re-enable the penalty lookups (and log errors).
    if (!opts.authPenalty) rmSync(join(inst.baseDir, 'anvil-auth-penalty'), { force: true });
    // stdin /dev/null and output to a file: the master keeps inherited fds open for its whole life,
    // which would otherwise keep a pipe (and the test runner) waiting forever.
    const out = openSync(inst.outPath, 'a');
    let child: ChildProcess;
    try {
      // -F keeps the master in the foreground so its pid is ours and its exit is observable.
      child = spawn(bin.dovecot, ['-F', '-c', backend.configPath], { stdio: ['ignore', out, out] });
    } finally {
      closeSync(out);
    }
    child.unref();
    trackMaster(child, { config: backend.configPath, ip: backend.ip, ports: allPorts(backend) });
    inst.child = child;
    let failed: (err: Error) => void = () => {};
    const earlyExit = new Promise<never>((_, reject) => {
      failed = reject;
    });
    inst.exited = new Promise<void>((done) => {
      child.on('exit', (code, signal) => {
        untrackMaster(child);
        if (inst.child === child) inst.child = undefined;
        failed(
          new Error(
            `dovecot ${backend.name} exited (code ${code}, signal ${signal}) during startup:\n${tail(inst.outPath)}\n${tail(backend.logPath)}`,
          ),
        );
        done();
      });
    });
    earlyExit.catch(() => {}); // only observed while starting
    const ready = Promise.all(
      greetings(backend).map(([port, re, tls]) => waitForGreeting(backend.ip, port, re, timeoutMs, { tls })),
    );
    try {
      await Promise.race([ready, earlyExit]);
    } catch (err) {
      await stopOne(inst).catch(() => {});
      throw new Error(`${(err as Error).message}\nlog: ${backend.logPath}\n${tail(backend.logPath, 10)}`);
    }
  };

  const stopOne = async (inst: Instance): Promise<void> => {
    const { child, exited } = inst;
    // Nothing of ours runs: the ports, if busy, belong to someone else and are not ours to wait for.
    if (!child || !exited) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(killer);
    // Login processes may outlive the master for a moment; a restart needs the ports free.
    await waitForPortsClosed(inst.backend.ip, allPorts(inst.backend), timeoutMs);
  };

  const cluster: DovecotCluster = {
    backends: [...instances.values()].map((i) => i.backend),
    users,
    password,
    masterUser,
    stop: async () => {
      await Promise.all([...instances.values()].map(stopOne));
    },
    stopBackend: (ip) => stopOne(get(ip)),
    startBackend: (ip) => startOne(get(ip)),
    isRunning: (ip) => get(ip).child !== undefined,
    doveadm: (ip, args) =>
      new Promise((resolveOut, reject) => {
        execFile(bin.doveadm, ['-c', get(ip).backend.configPath, ...args], (err, stdout, stderr) => {
          if (err) reject(new Error(`doveadm ${args.join(' ')} on ${ip} failed: ${err.message}\n${stderr}`));
          else resolveOut(stdout);
        });
      }),
    who: async (ip) => {
      const out = await cluster.doveadm(ip, ['-f', 'tab', 'who', '-1']);
      // Header: "username\tproto\tpid\tip"; empty output when nobody is logged in.
      return out
        .split('\n')
        .slice(1)
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const [user = '', proto = '', pid = '', addr = ''] = line.split('\t');
          return { user, proto, pid: Number(pid), ip: addr };
        });
    },
    readLog: (ip) => readFile(get(ip).backend.logPath, 'utf8').catch(() => ''),
  };

  try {
    await Promise.all([...instances.values()].map(startOne));
  } catch (err) {
    await cluster.stop().catch(() => {});
    throw err;
  }
  return cluster;
}
