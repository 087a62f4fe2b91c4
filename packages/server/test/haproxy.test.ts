import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HostTable, Placement, UserHasher } from '@usher/core';
import { type DovecotCluster, findBinary, startDovecotBackends, startUsherd, type UsherdProcess } from '@usher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);

/*
 * The shipped HAProxy example (deploy/haproxy/haproxy.cfg), run for real: a real haproxy in front of a
 * real usherd in front of real Dovecot backends. This file owns 127.0.35.11-12 (backends), 127.0.36.1
 * (HAProxy's frontends), 127.0.36.2 (usherd, the example's first node 10.0.0.5), 127.0.36.3-4 (the
 * example's other two nodes: nobody listens there), 127.0.36.5 (HAProxy's source address towards
 * usherd) and 127.0.36.9 (the mail client).
 */
const BACKENDS = ['127.0.35.11', '127.0.35.12'];
const FRONT = '127.0.36.1';
const USHERD = '127.0.36.2';
const DEAD_NODES = ['127.0.36.3', '127.0.36.4'];
const HAPROXY_SOURCE = '127.0.36.5';
const CLIENT = '127.0.36.9';
/** usherd's ports, as in the example's comment. */
const PORTS = { imap: 10143, imaps: 10993, pop3: 10110, lmtp: 10024, metrics: 9100 };

const EXAMPLE = fileURLToPath(new URL('../../../deploy/haproxy/haproxy.cfg', import.meta.url));

/** Integration tests never skip: without haproxy this fails, with the fix (CI too). */
function requireHaproxy(): string {
  const bin = findBinary('haproxy');
  if (!bin) {
    const where = process.env.CI === 'true' ? 'CI image is missing' : 'missing';
    throw new Error(
      `${where} haproxy (needed by the HAProxy integration test, which never skips): run \`sudo scripts/install-deps.sh\` from the repository root (Debian/Ubuntu: apt-get install -y --no-install-recommends haproxy)`,
    );
  }
  return bin;
}

/** Replaces `pattern` and insists it matched `times` times, so an edit of the example cannot slip past. */
function sub(text: string, pattern: RegExp, replacement: string, times = 1): string {
  const found = text.match(
    new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`),
  );
  if ((found?.length ?? 0) !== times) {
    throw new Error(`deploy/haproxy/haproxy.cfg changed: ${pattern} matches ${found?.length ?? 0} times, not ${times}`);
  }
  return text.replace(pattern, replacement);
}

/**
 * The example with test addresses: frontends on FRONT, the three nodes on USHERD and two dead
 * addresses, HAProxy's source pinned, a stats socket, a smaller maxconn, and checks every 200 ms
 * instead of 5 s. The commented alternative check (/readyz) becomes a backend of its own.
 */
function testConfig(example: string, statsSocket: string): string {
  let cfg = example;
  cfg = sub(cfg, /^global$/m, `global\n    stats socket ${statsSocket} mode 600 level admin`);
  cfg = sub(cfg, /^(\s+maxconn) 200000$/m, '$1 1000');
  cfg = sub(cfg, /^defaults$/m, `defaults\n    source ${HAPROXY_SOURCE}`);
  cfg = sub(cfg, /\binter 5s\b/, 'inter 200ms');
  cfg = sub(cfg, /^(\s+bind )(?:[\d.]+)?:(\d+)$/gm, `$1${FRONT}:$2`, 4);
  const alternative = [...example.matchAll(/^# {5}(\S.*)$/gm)].map((m) => `    ${m[1]}`);
  if (alternative.length !== 3) throw new Error('deploy/haproxy/haproxy.cfg changed: the /readyz alternative');
  cfg += `\nbackend usher_imap_readyz\n    balance leastconn\n${alternative.join('\n')}\n`;
  cfg = cfg.replaceAll('10.0.0.5', USHERD).replaceAll('10.0.0.6', DEAD_NODES[0] as string);
  return cfg.replaceAll('10.0.0.7', DEAD_NODES[1] as string);
}

type StatRow = Record<string, string>;

/** `show stat` on HAProxy's stats socket, one object per CSV row. */
function showStat(socketPath: string): Promise<StatRow[]> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let out = '';
    s.on('data', (c: Buffer) => {
      out += c.toString();
    });
    s.on('error', reject);
    s.on('close', () => {
      const [head = '', ...rows] = out.trim().split('\n');
      const names = head.replace(/^# /, '').split(',');
      resolve(rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [names[i] ?? String(i), v]))));
    });
    s.end('show stat\n');
  });
}

/** A line-oriented client connected from CLIENT (through TLS if asked). */
class Client {
  #buffer = '';
  #closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.#buffer += c.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#closed = true;
    });
  }

  static async open(port: number, opts: { host?: string; tls?: boolean } = {}): Promise<Client> {
    const tcp = connect({ host: opts.host ?? FRONT, port, localAddress: CLIENT });
    const socket = opts.tls ? tlsConnect({ socket: tcp, rejectUnauthorized: false, servername: 'localhost' }) : tcp;
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new Client(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Everything received up to and including the first line matching `re`. */
  async expect(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.#buffer.split('\r\n');
      const at = lines.slice(0, -1).findIndex((l) => re.test(l));
      if (at >= 0) {
        const taken = lines.slice(0, at + 1).join('\r\n');
        this.#buffer = lines.slice(at + 1).join('\r\n');
        return taken;
      }
      if (this.#closed) throw new Error(`closed before ${re}; got ${JSON.stringify(this.#buffer)}`);
      if (Date.now() > until) throw new Error(`no ${re} within ${timeoutMs} ms; got ${JSON.stringify(this.#buffer)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectedBackend(user: string): string {
  const table = new HostTable();
  for (const ip of BACKENDS) table.set({ ip });
  return new Placement(table).lookup(new UserHasher('%Ln').hash(user))?.ip.text as string;
}

const root = mkdtempSync(join(tmpdir(), 'usher-haproxy-'));
chmodSync(root, 0o755); // Dovecot's unprivileged processes must reach the mail directories
const statsSocket = join(root, 'haproxy.sock');
let haproxyBin: string;
let haproxy: ChildProcess | undefined;
let haproxyExited: Promise<unknown> | undefined;
let cluster: DovecotCluster | undefined;
let usherd: UsherdProcess | undefined;
const killHaproxy = () => haproxy?.kill('SIGKILL');

beforeAll(async () => {
  haproxyBin = requireHaproxy();
  const certs = join(root, 'certs');
  await exec('bash', [fileURLToPath(new URL('../../../scripts/make-test-certs.sh', import.meta.url)), certs]);
  cluster = await startDovecotBackends({ root: join(root, 'backends'), ips: BACKENDS, users: 20 });
  usherd = await startUsherd({
    root: join(root, 'nodes'),
    name: 'haproxy-1',
    config: {
      director_mail_servers: BACKENDS.join(' '),
      director_username_hash: '%Ln',
      director_admin_socket: '',
      // only HAProxy may send a PROXY header; only the real client may log in without TLS, so a
      // plaintext login through HAProxy works only if usherd sees the client's address, not HAProxy's
      haproxy_trusted_networks: `${HAPROXY_SOURCE}/32`,
      login_trusted_networks: `${CLIENT}/32`,
      auth_failure_delay: '100 ms',
      shutdown_timeout: '1 secs',
      ssl_cert: join(certs, 'server.pem'),
      ssl_key: join(certs, 'server.key'),
      metrics_listen: `${USHERD}:${PORTS.metrics}`,
      // the listeners of the example's comment
      listeners: [
        { protocol: 'imap', address: USHERD, port: PORTS.imap, haproxy: true },
        { protocol: 'imap', address: USHERD, port: PORTS.imaps, haproxy: true, ssl: true },
        { protocol: 'pop3', address: USHERD, port: PORTS.pop3, haproxy: true },
        { protocol: 'lmtp', address: USHERD, port: PORTS.lmtp, haproxy: true },
      ],
    },
  });

  const configPath = join(root, 'haproxy.cfg');
  writeFileSync(configPath, testConfig(readFileSync(EXAMPLE, 'utf8'), statsSocket));
  const out = openSync(join(root, 'haproxy.log'), 'a');
  try {
    haproxy = spawn(haproxyBin, ['-db', '-f', configPath], { stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
  const child = haproxy;
  haproxyExited = new Promise((resolve) => child.once('exit', resolve));
  process.once('exit', killHaproxy);
  await eventually(
    `haproxy's stats socket (log: ${join(root, 'haproxy.log')})`,
    async () => {
      if (child.exitCode !== null) {
        throw new Error(`haproxy exited with ${child.exitCode}:\n${readFileSync(join(root, 'haproxy.log'), 'utf8')}`);
      }
      return showStat(statsSocket).then(
        (rows) => rows.length > 0,
        () => false,
      );
    },
    15_000,
  );
}, 90_000);

afterAll(async () => {
  if (haproxy && haproxy.exitCode === null) {
    haproxy.kill('SIGTERM');
    await haproxyExited;
  }
  process.off('exit', killHaproxy);
  await usherd?.stop('SIGKILL');
  await cluster?.stop();
});

describe('the HAProxy example (deploy/haproxy/haproxy.cfg), for real', () => {
  it('is a valid HAProxy configuration as shipped', async () => {
    const { stdout } = await exec(requireHaproxy(), ['-c', '-f', EXAMPLE]);
    expect(stdout).toContain('Configuration file is valid');
  });

  it('health-checks usherd through its haproxy listeners: UP with passed checks, the dead nodes DOWN', async () => {
    const backends = ['usher_imap', 'usher_imaps', 'usher_pop3', 'usher_lmtp', 'usher_imap_readyz'];
    const servers = (rows: StatRow[]) =>
      rows.filter((r) => backends.includes(r.pxname ?? '') && r.svname !== 'BACKEND');
    const settled = (rows: StatRow[]) =>
      servers(rows).every((r) =>
        r.svname === 'usher-1' ? r.status === 'UP' && r.check_status === 'L7OK' : r.status === 'DOWN',
      );
    let rows: StatRow[] = [];
    await eventually(
      'every check to settle',
      async () => {
        rows = await showStat(statsSocket);
        return settled(rows);
      },
      15_000,
    ).catch((err: Error) => {
      const table = servers(rows).map((r) => `${r.pxname}/${r.svname} ${r.status} ${r.check_status} ${r.check_desc}`);
      throw new Error(`${err.message}\n${table.join('\n')}`);
    });
    const up = servers(rows).filter((r) => r.svname === 'usher-1');
    // four tcp-check backends (usher-1, -2, -3 each) and the /readyz one (usher-1 only)
    expect(up.map((r) => r.pxname).sort()).toEqual([...backends].sort());
    expect(servers(rows)).toHaveLength(4 * 3 + 1);
    for (const r of up) expect(r.check_desc).toMatch(/Layer7 check passed/);
  });

  it('IMAP: the login succeeds and the Dovecot backend sees the real client address', async () => {
    const user = 'demo0001';
    const backend = expectedBackend(user);
    const c = await Client.open(143);
    await c.expect(/^\* OK /);
    c.send(`a LOGIN ${user} demo`);
    await c.expect(/^a OK /);
    c.send('b ID NIL');
    expect(await c.expect(/^b OK/)).toContain(`"x-backend" "${backend}"`);
    await eventually('doveadm who', async () =>
      (await (cluster as DovecotCluster).who(backend)).some((w) => w.user === user && w.ip === CLIENT),
    );
    const log = await (cluster as DovecotCluster).readLog(backend);
    const login = log.split('\n').find((l) => l.includes('imap-login: Info: Login: ') && l.includes(`user=<${user}>`));
    expect(login).toContain(`rip=${CLIENT}`);
    c.send('z LOGOUT');
    await c.expect(/^z OK/);
    c.close();
  });

  it('IMAPS: TLS passes through HAProxy to usherd, and the backend still sees the client', async () => {
    const user = 'demo0002';
    const backend = expectedBackend(user);
    const c = await Client.open(993, { tls: true });
    await c.expect(/^\* OK /);
    c.send(`a LOGIN ${user} demo`);
    await c.expect(/^a OK /);
    await eventually('doveadm who', async () =>
      (await (cluster as DovecotCluster).who(backend)).some((w) => w.user === user && w.ip === CLIENT),
    );
    c.close();
  });

  it('POP3 (curl) and LMTP (swaks) through HAProxy', async () => {
    const pop3 = await exec('curl', [
      '-sS',
      '--max-time',
      '10',
      '--interface',
      CLIENT,
      `pop3://${FRONT}:110/`,
      '--user',
      'demo0003:demo',
    ]);
    expect(pop3.stdout).toMatch(/^[\d \r\n]*$/);
    const log = await (cluster as DovecotCluster).readLog(expectedBackend('demo0003'));
    expect(log).toMatch(new RegExp(`pop3-login: Info: Login: user=<demo0003>.*rip=${CLIENT.replaceAll('.', '\\.')}`));

    const { stdout } = await exec('swaks', [
      '--protocol',
      'LMTP',
      '--server',
      `${FRONT}:24`,
      '--local-interface',
      CLIENT,
      '--from',
      'haproxy@example.org',
      '--to',
      'demo0004@demo.test',
    ]);
    expect(stdout).toMatch(/<- +250 2\.0\.0 <demo0004@demo\.test> .*Saved/);
  });

  it("refuses the client's own direct connection to the haproxy listener (not in haproxy_trusted_networks)", async () => {
    const c = await Client.open(PORTS.imap, { host: USHERD });
    c.send('PROXY TCP4 203.0.113.7 127.0.36.2 1234 143');
    await eventually('usherd closes it', async () => c.closed, 5000);
    await expect(c.expect(/^\* OK/, 100)).rejects.toThrow(/closed before/);
  });
});
