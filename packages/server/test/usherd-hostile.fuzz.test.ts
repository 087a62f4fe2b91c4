import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type DovecotCluster, startDovecotBackends, startUsherd, type UsherdProcess } from '@usher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/config/schema.js';

const exec = promisify(execFile);

// This file owns 127.0.45.1 (backend) and 127.0.46.1 (usherd); hostile clients come from 127.0.0.1,
// the well-behaved one from 127.0.46.9 so the per-IP connection limit cannot starve it.
const BACKEND = '127.0.45.1';
const NODE = '127.0.46.1';
const GOOD_SOURCE = '127.0.46.9';
const PORTS = { imap: 21143, pop3: 21110, lmtp: 21024, managesieve: 24190, haproxy: 21144, ring: 29090 };
const IDLE_SECS = 2;

let cluster: DovecotCluster;
let usherd: UsherdProcess;
let adminSocket: string | undefined;
const root = mkdtempSync(join(tmpdir(), 'usher-hostile-'));
chmodSync(root, 0o755);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** A connection that does as it is told and never fails the test by itself. */
function open(port: number, opts: { path?: string } = {}): Promise<Socket> {
  return new Promise((resolve) => {
    const s = opts.path ? connect({ path: opts.path }) : connect({ host: NODE, port });
    s.on('error', () => {});
    s.resume();
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(s));
  });
}

/** Writes `data` one byte every `gapMs` until done or the socket closes. */
async function trickle(s: Socket, data: Buffer, gapMs: number, until: number): Promise<void> {
  for (let i = 0; i < data.length && !s.destroyed && Date.now() < until; i++) {
    s.write(data.subarray(i, i + 1));
    await sleep(gapMs);
  }
}

/** Writes `bytes` of `fill` as fast as the socket takes them; stops when the server hangs up. */
async function flood(s: Socket, head: string, bytes: number): Promise<void> {
  s.write(head);
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  for (let sent = 0; sent < bytes && !s.destroyed; sent += chunk.length) {
    if (!s.write(chunk)) await new Promise((r) => (s.destroyed ? r(undefined) : s.once('drain', r).once('close', r)));
  }
  s.end();
}

/** A proper IMAP session from another source address: login, then NOOPs whose latency we record. */
class GoodSession {
  private sock!: Socket;
  private buffer = '';
  private tag = 0;
  readonly latencies: number[] = [];

  async start(): Promise<void> {
    this.sock = connect({ host: NODE, port: PORTS.imap, localAddress: GOOD_SOURCE });
    this.sock.setEncoding('latin1');
    this.sock.on('data', (c: string) => {
      this.buffer += c;
    });
    await this.until(/^\* OK/m);
    await this.command('LOGIN demo0001 demo');
    await this.command('SELECT INBOX');
  }

  async command(text: string): Promise<string> {
    const tag = `g${++this.tag}`;
    const started = Date.now();
    this.sock.write(`${tag} ${text}\r\n`);
    const line = await this.until(new RegExp(`^${tag} (OK|NO|BAD).*$`, 'm'));
    this.latencies.push(Date.now() - started);
    if (!line.startsWith(`${tag} OK`)) throw new Error(`${text}: ${line}`);
    return line;
  }

  private async until(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m.index + m[0].length);
        return m[0];
      }
      if (this.sock.destroyed) throw new Error(`good session closed; got ${JSON.stringify(this.buffer)}`);
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${re}; got ${JSON.stringify(this.buffer)}`);
      await sleep(10);
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

beforeAll(async () => {
  const certs = join(root, 'ring-certs');
  await exec('bash', [
    fileURLToPath(new URL('../../../deploy/certs/make-ring-certs.sh', import.meta.url)),
    certs,
    NODE,
  ]);
  cluster = await startDovecotBackends({ root: join(root, 'backends'), ips: [BACKEND], users: 5 });
  // the admin socket arrived with packages/admin; feed it junk too when this usherd has one
  adminSocket = 'director_admin_socket' in schema ? join(root, 'admin.sock') : undefined;
  usherd = await startUsherd({
    root: join(root, 'node'),
    name: 'hostile-1',
    config: {
      // a ring of one with mTLS, so the ring port faces the junk as in production
      director_servers: NODE,
      director_ring_address: NODE,
      director_ring_port: PORTS.ring,
      director_ring_ssl_ca: join(certs, 'ca.pem'),
      director_ring_ssl_cert: join(certs, `${NODE}.pem`),
      director_ring_ssl_key: join(certs, `${NODE}.key`),
      director_mail_servers: BACKEND,
      director_username_hash: '%Ln',
      login_trusted_networks: '127.0.0.0/8',
      haproxy_trusted_networks: '127.0.0.0/8',
      haproxy_timeout: '1 secs',
      login_client_timeout: `${IDLE_SECS} secs`,
      auth_failure_delay: '50 ms',
      shutdown_timeout: '1 secs',
      ...(adminSocket ? { director_admin_socket: adminSocket } : {}),
      listeners: [
        { protocol: 'imap', address: NODE, port: PORTS.imap },
        { protocol: 'pop3', address: NODE, port: PORTS.pop3 },
        { protocol: 'lmtp', address: NODE, port: PORTS.lmtp },
        { protocol: 'managesieve', address: NODE, port: PORTS.managesieve },
        { protocol: 'imap', address: NODE, port: PORTS.haproxy, haproxy: true },
      ],
    },
  });
}, 60_000);

afterAll(async () => {
  await usherd?.stop('SIGKILL');
  await cluster?.stop();
});

const JUNK: Record<string, string[]> = {
  imap: [
    'a LOGIN ',
    '{5}',
    '{4294967295}',
    '(',
    '"',
    '\\',
    'b AUTHENTICATE PLAIN',
    '\r\n',
    '\xff\xfe',
    '\0',
    'ID (((((',
  ],
  pop3: ['USER ', 'PASS ', 'AUTH PLAIN', '=', '\r\n', '\xc3\x28', '\0', 'CAPA', '*'],
  lmtp: ['LHLO x', 'MAIL FROM:<', 'RCPT TO:<demo0001@demo.test>', '\r\n', 'DATA', '.', '\xed\xa0\x80', 'BDAT 99999999'],
  managesieve: ['AUTHENTICATE "PLAIN"', ' {999999999+}', '"', '\\', '\r\n', '\xf4\x90\x80\x80', 'CAPABILITY'],
  haproxy: ['PROXY TCP4 ', '1.2.3.4 ', '\r\n', '\r\n\r\n\0\r\nQUIT\n', '!', '\xff', 'a LOGIN x y\r\n'],
};

function junk(kind: string, words: number, seed: number): Buffer {
  const list = JUNK[kind] as string[];
  let x = seed;
  const parts: string[] = [];
  for (let i = 0; i < words; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    parts.push(list[x % list.length] as string);
  }
  return Buffer.from(parts.join(''), 'latin1');
}

describe('a live usherd under hostile input on every port', () => {
  it('stays up, bounded and responsive while junk arrives on all protocols', async () => {
    const pid = usherd.pid;
    const good = new GoodSession();
    await good.start();
    const baseline = rssBytes(pid);
    const until = Date.now() + 12_000;
    const attacks: Promise<unknown>[] = [];
    const protocols = ['imap', 'pop3', 'lmtp', 'managesieve', 'haproxy'] as const;
    // one byte at a time, forever-ish
    for (const [i, p] of protocols.entries()) {
      for (let k = 0; k < 4; k++) {
        attacks.push(
          open(PORTS[p]).then((s) => trickle(s, junk(p, 400, i * 31 + k), 5, until).then(() => s.destroy())),
        );
      }
    }
    // partial lines, then silence: the idle timeout must close them
    const silent: Socket[] = [];
    for (const p of protocols) for (let k = 0; k < 10; k++) silent.push(await open(PORTS[p]));
    for (const [i, s] of silent.entries()) s.write(i % 2 ? 'a LOGIN {5}\r\nab' : 'USER demo00');
    // huge literal announcements and endless lines, at full speed
    attacks.push(open(PORTS.imap).then((s) => flood(s, 'a LOGIN {4294967295+}\r\n', 32 * 1024 * 1024)));
    attacks.push(open(PORTS.imap).then((s) => flood(s, 'a ID (', 32 * 1024 * 1024)));
    attacks.push(
      open(PORTS.managesieve).then((s) => flood(s, 'AUTHENTICATE "PLAIN" {999999999+}\r\n', 32 * 1024 * 1024)),
    );
    attacks.push(open(PORTS.pop3).then((s) => flood(s, 'AUTH PLAIN\r\n', 32 * 1024 * 1024)));
    attacks.push(open(PORTS.lmtp).then((s) => flood(s, 'LHLO ', 32 * 1024 * 1024)));
    attacks.push(open(PORTS.haproxy).then((s) => flood(s, 'PROXY TCP4 ', 8 * 1024 * 1024)));
    // the ring port speaks TLS then gRPC: neither random bytes nor a broken ClientHello may hurt
    for (let k = 0; k < 5; k++) {
      attacks.push(open(PORTS.ring).then((s) => trickle(s, junk('haproxy', 200, k), 2, until).then(() => s.destroy())));
      attacks.push(
        open(PORTS.ring).then((s) => flood(s, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 2 * 1024 * 1024)),
      );
    }
    if (adminSocket) {
      const path = adminSocket;
      attacks.push(
        open(0, { path }).then((s) => trickle(s, junk('haproxy', 300, 7), 3, until).then(() => s.destroy())),
      );
      attacks.push(
        open(0, { path }).then((s) => flood(s, 'VERSION\tdirector-doveadm\t1\t0\nHOST-SET\t', 8 * 1024 * 1024)),
      );
    }
    // the good session keeps being served, and new logins keep working, all along
    let maxRss = baseline;
    while (Date.now() < until) {
      await good.command('NOOP');
      maxRss = Math.max(maxRss, rssBytes(pid));
      await sleep(200);
    }
    await Promise.all(attacks);
    for (const s of silent) s.destroy();

    process.stdout.write(
      `hostile: rss ${Math.round(baseline / 1048576)} -> max ${Math.round(maxRss / 1048576)} MB, good NOOP max ${Math.max(...good.latencies)} ms\n`,
    );
    expect(usherd.child.exitCode).toBeNull();
    expect(Math.max(...good.latencies)).toBeLessThan(2000);
    await good.command('STATUS INBOX (MESSAGES)');
    good.close();
    const fresh = new GoodSession();
    await fresh.start();
    fresh.close();
    // read buffers are bounded per connection; what grows is garbage the GC has not collected yet
    expect(maxRss - baseline).toBeLessThan(200 * 1024 * 1024);
    const log = readFileSync(usherd.logPath, 'utf8');
    expect(log).not.toMatch(/unhandled rejection|uncaught exception/i);
  }, 60_000);

  it('closed every silent connection at the idle timeout', async () => {
    const s = await open(PORTS.imap);
    const started = Date.now();
    s.write('a LOGIN ');
    await new Promise((r) => (s.destroyed ? r(undefined) : s.once('close', r)));
    expect(Date.now() - started).toBeLessThan(IDLE_SECS * 1000 + 2000);
  });
});
