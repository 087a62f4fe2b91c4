import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type DovecotCluster, findBinary, isListening, requireDovecot, startDovecotBackends } from '@usher/testkit';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const IPS = ['127.0.2.11', '127.0.2.12', '127.0.2.13'];
const run = promisify(execFile);

function imap(host: string, user: string, pass: string, port = 143): ImapFlow {
  return new ImapFlow({ host, port, secure: false, auth: { user, pass }, logger: false, verifyOnly: false });
}

/** Plays a line-based dialogue over a raw socket: each step is sent, then its reply must match. */
async function converse(host: string, port: number, greeting: RegExp, steps: Array<[string, RegExp]>): Promise<string> {
  const socket = connect({ host, port });
  socket.setEncoding('utf8');
  let transcript = '';
  let waiter: (() => void) | undefined;
  socket.on('data', (chunk: string) => {
    transcript += chunk;
    waiter?.();
  });
  // Only text received since `from` counts, so an earlier "+OK" cannot satisfy a later step.
  const until = (re: RegExp, from: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${re}; got:\n${transcript}`)), 5000);
      const check = () => {
        if (re.test(transcript.slice(from))) {
          clearTimeout(timer);
          waiter = undefined;
          resolve();
        }
      };
      waiter = check;
      check();
    });
  try {
    await until(greeting, 0);
    for (const [line, reply] of steps) {
      const from = transcript.length;
      socket.write(`${line}\r\n`);
      await until(reply, from);
    }
  } finally {
    socket.destroy();
  }
  return transcript;
}

/** Sends tagged IMAP commands one by one and returns the whole transcript. */
function rawImap(host: string, commands: string[]): Promise<string> {
  const steps = commands.map((c, i): [string, RegExp] => [`t${i} ${c}`, new RegExp(`^t${i} (OK|NO|BAD)`, 'm')]);
  return converse(host, 143, /^\* OK .*ready/m, steps);
}

describe('startDovecotBackends', () => {
  let root: string;
  let cluster: DovecotCluster | undefined;

  beforeAll(async () => {
    requireDovecot({ swaks: true });
    root = mkdtempSync(join(tmpdir(), 'usher-tk-'));
    cluster = await startDovecotBackends({ root, ips: IPS, users: 3 });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 60_000);

  const c = () => {
    if (!cluster) throw new Error('cluster did not start');
    return cluster;
  };

  it('describes every backend', () => {
    expect(c().users).toEqual(['demo0001', 'demo0002', 'demo0003']);
    expect(c().backends.map((b) => b.ip)).toEqual(IPS);
    for (const b of c().backends) expect(b.ports).toEqual({ imap: 143, pop3: 110, lmtp: 24, sieve: 4190 });
  });

  it('logs in on each backend and names it in the ID response', async () => {
    for (const ip of IPS) {
      const client = imap(ip, 'demo0001', 'demo');
      await client.connect();
      try {
        expect(client.serverInfo?.['x-backend']).toBe(ip);
      } finally {
        await client.logout();
      }
    }
  });

  it('accepts the master user and answers ID after login with the backend address', async () => {
    const t = await rawImap('127.0.2.12', ['LOGIN demo0003*master masterpass', 'ID NIL', 'LOGOUT']);
    expect(t).toMatch(/^t0 OK/m);
    expect(t).toContain('"x-backend" "127.0.2.12"');
    expect(await c().readLog('127.0.2.12')).toContain('Master user logging in as demo0003');
  });

  it('rejects a wrong password without the 2 s failure delay', async () => {
    const started = Date.now();
    const t = await rawImap('127.0.2.12', ['LOGIN demo0001 wrong', 'LOGOUT']);
    expect(t).toMatch(/^t0 NO \[AUTHENTICATIONFAILED\]/m);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('trusts a client address forwarded by a loopback proxy', async () => {
    const t = await rawImap('127.0.2.11', [
      'ID ("x-originating-ip" "127.0.0.9" "x-originating-port" "40001")',
      'LOGIN demo0002 demo',
      'LOGOUT',
    ]);
    expect(t).toMatch(/^t1 OK/m);
    expect(await c().readLog('127.0.2.11')).toMatch(/Login: user=<demo0002>.*rip=127\.0\.0\.9/);
  });

  it('delivers LMTP mail for user@demo.test into that user on that backend only', async () => {
    const swaks = findBinary('swaks') ?? 'swaks';
    const { stdout } = await run(swaks, [
      '--protocol',
      'LMTP',
      '--server',
      '127.0.2.11:24',
      '--to',
      'demo0002@demo.test',
      '--from',
      'a@b.c',
    ]);
    expect(stdout).toMatch(/250 2\.0\.0 <demo0002@demo\.test> .* Saved/);
    const counts: number[] = [];
    for (const ip of ['127.0.2.11', '127.0.2.12']) {
      const client = imap(ip, 'demo0002', 'demo');
      await client.connect();
      const status = await client.status('INBOX', { messages: true });
      counts.push(status ? (status.messages ?? -1) : -1);
      await client.logout();
    }
    expect(counts).toEqual([1, 0]);
  });

  it('serves POP3 and ManageSieve for the same users', async () => {
    const pop3 = await converse('127.0.2.11', 110, /^\+OK .*ready/m, [
      ['USER demo0002', /^\+OK/m],
      ['PASS demo', /^\+OK Logged in/m],
      ['STAT', /^\+OK 1 \d+/m],
      ['QUIT', /^\+OK/m],
    ]);
    expect(pop3).toMatch(/^\+OK 1 \d+/m);
    const plain = Buffer.from('\0demo0001\0demo').toString('base64');
    await converse('127.0.2.12', 4190, /^OK /m, [
      [`AUTHENTICATE "PLAIN" "${plain}"`, /^OK "Logged in/m],
      ['PUTSCRIPT "test" {5+}\r\nkeep;', /^OK/m],
      ['SETACTIVE "test"', /^OK/m],
      ['LISTSCRIPTS', /^"test" ACTIVE\r\nOK/m],
      ['LOGOUT', /^OK/m],
    ]);
  });

  it('lists open sessions in who()', async () => {
    const client = imap('127.0.2.13', 'demo0001', 'demo');
    await client.connect();
    try {
      const who = await c().who('127.0.2.13');
      expect(who).toContainEqual(expect.objectContaining({ user: 'demo0001', proto: 'imap', ip: '127.0.0.1' }));
      expect(who.every((w) => Number.isInteger(w.pid) && w.pid > 0)).toBe(true);
    } finally {
      await client.logout();
    }
    // The imap process deregisters from anvil shortly after LOGOUT's reply, not before it.
    await expect.poll(() => c().who('127.0.2.13'), { timeout: 5000 }).toEqual([]);
  });

  it('stops and restarts a single backend', async () => {
    await c().stopBackend('127.0.2.13');
    expect(c().isRunning('127.0.2.13')).toBe(false);
    expect(await isListening('127.0.2.13', 143)).toBe(false);
    expect(await isListening('127.0.2.12', 143)).toBe(true);
    await c().startBackend('127.0.2.13');
    const client = imap('127.0.2.13', 'demo0003', 'demo');
    await client.connect();
    expect(client.serverInfo?.['x-backend']).toBe('127.0.2.13');
    await client.logout();
  });

  it('stop() closes every listener', async () => {
    await c().stop();
    for (const b of c().backends) {
      for (const port of Object.values(b.ports)) expect(await isListening(b.ip, port)).toBe(false);
      // Catches config mistakes that only surface at runtime (plugin load failures, permission errors).
      expect(await c().readLog(b.ip)).not.toMatch(/(Error|Fatal|Panic):/);
    }
    expect(await run('pgrep', ['-f', root]).catch(() => ({ stdout: '' }))).toMatchObject({ stdout: '' });
  });
});
