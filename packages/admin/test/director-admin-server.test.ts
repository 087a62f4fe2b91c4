import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AdminLog,
  type DirectorAdminSocket,
  HostUpdateRefusedError,
  SyncTimeoutError,
  startDirectorAdminSocket,
  TryAgainError,
} from '../src/index.js';
import { HELLO, talk } from './client.js';
import { FakeApi } from './fake-api.js';

const log: AdminLog & { errors: string[] } = {
  errors: [],
  info() {},
  warn() {},
  error(m) {
    log.errors.push(m);
  },
};

let dir: string;
let path: string;
let api: FakeApi;
let admin: DirectorAdminSocket;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'usher-admin-'));
  path = join(dir, 'director-admin');
  api = new FakeApi();
  admin = await startDirectorAdminSocket({ path, api, log });
});

afterEach(async () => {
  await admin.close();
});

describe('director-admin session', () => {
  it('greets first, byte for byte, before the client says anything', async () => {
    const r = await talk(path, '', { expectLines: 0, timeoutMs: 1000 });
    expect(r.received).toBe('VERSION\tdirector-doveadm\t1\t0\n');
  });

  it('accepts any minor of major 1, refuses other versions by closing without a reply', async () => {
    expect(
      (await talk(path, 'VERSION\tdirector-doveadm\t1\t7\nHOST-LIST-REMOVED\n', { expectLines: 2 })).received,
    ).toBe(`${HELLO}127.0.11.3\n\n`);
    for (const bad of [
      'VERSION\tdirector-doveadm\t2\t0\n',
      'VERSION\tdirector\t1\t0\n',
      'VERSION\tdirector-doveadm\t1\n',
      'HOST-LIST\n',
    ]) {
      const r = await talk(path, `${bad}HOST-LIST\n`);
      expect(r, bad).toEqual({ received: HELLO, closed: true });
    }
    expect(api.calls).toEqual(['hostListRemoved']);
  });

  it('answers listings with escaped rows and an empty line', async () => {
    const r = await talk(path, `${HELLO}HOST-LIST\nUSER-LIST\nUSER-LIST\t127.0.11.2\nDIRECTOR-LIST\n`, {
      expectLines: 10,
    });
    expect(r.received.slice(HELLO.length)).toBe(
      [
        '127.0.11.1\t100\t3\t\tU\t0',
        '127.0.11.2\t37\t1\ta\x01tb\tD\t1795926456',
        '',
        '3045693125\t1795927356\t127.0.11.1',
        '',
        '',
        '127.0.21.1\t9090\tself\t0\tring synced\t43',
        '127.0.21.2\t9090\tright\t0\tsynced\t3\t-\t-\t0\t-\t1795926465\t-',
        '127.0.21.9\t9090\t\t0\t',
        '',
        '',
      ].join('\n'),
    );
  });

  it('answers USER-LOOKUP with four fields, empty current and expiry 0 when unassigned', async () => {
    const r = await talk(path, `${HELLO}USER-LOOKUP\tuser@example.com\nUSER-LOOKUP\tjohn\tnone\nUSER-LOOKUP\n`, {
      expectLines: 3,
    });
    expect(r.received.slice(HELLO.length)).toBe(
      '127.0.11.1\t1795927356\t127.0.11.2\t127.0.11.2\n\t0\t127.0.11.2\t\n\t0\t127.0.11.2\t127.0.11.2\n',
    );
    expect(api.calls).toEqual(['userLookup user@example.com ', 'userLookup john none', 'userLookup  ']);
  });

  it('passes arguments of every change command and answers OK or NOTFOUND', async () => {
    const lines = [
      'HOST-SET\t127.0.11.5',
      'HOST-SET\t127.0.11.5@t1\t20',
      'HOST-UPDATE\t127.0.11.1\t5',
      'HOST-UPDATE\t127.0.11.9\t5',
      'HOST-UP\t127.0.11.1',
      'HOST-DOWN\t127.0.11.9',
      'HOST-REMOVE\t127.0.11.2',
      'HOST-FLUSH',
      'HOST-FLUSH\t',
      'HOST-FLUSH\t127.0.11.1',
      'HOST-RESET-USERS',
      'HOST-RESET-USERS\t\t3',
      'HOST-RESET-USERS\t127.0.11.9',
      'USER-MOVE\t1383847349\t127.0.11.1',
      'USER-KICK\tjo\x01thn',
      'USER-KICK\tjohn\tnowait',
      'USER-KICK-ALT\tuser_x\tjohn\tnowait',
      'DIRECTOR-ADD\t127.0.21.4',
      'DIRECTOR-ADD\t127.0.21.4\t9091',
      'DIRECTOR-REMOVE\t127.0.21.9',
    ];
    const r = await talk(path, `${HELLO}${lines.join('\n')}\n`, { expectLines: lines.length });
    expect(r.received.slice(HELLO.length).split('\n').slice(0, -1)).toEqual([
      'OK',
      'OK',
      'OK',
      'NOTFOUND',
      'OK',
      'NOTFOUND',
      'OK',
      'OK',
      'OK',
      'OK',
      'OK',
      'OK',
      'NOTFOUND',
      'OK',
      'OK',
      'OK',
      'OK',
      'OK',
      'OK',
      'NOTFOUND',
    ]);
    expect(api.calls).toEqual([
      'hostSet 127.0.11.5  -',
      'hostSet 127.0.11.5 t1 20',
      'hostUpdate 127.0.11.1 5',
      'hostUpdate 127.0.11.9 5',
      'hostUp 127.0.11.1',
      'hostDown 127.0.11.9',
      'hostRemove 127.0.11.2',
      'hostFlush *',
      'hostFlush *',
      'hostFlush 127.0.11.1',
      'hostResetUsers * -',
      'hostResetUsers * 3',
      'hostResetUsers 127.0.11.9 -',
      'userMove 1383847349 127.0.11.1',
      'userKick jo\thn false',
      'userKick john true',
      'userKickAlt user_x john true',
      'directorAdd 127.0.21.4 -',
      'directorAdd 127.0.21.4 9091',
      'directorRemove 127.0.21.9 -',
    ]);
  });

  it("answers Dovecot's texts for refused changes and ring sync timeouts", async () => {
    api.gate = async (call) => {
      if (call.startsWith('hostSet')) throw new HostUpdateRefusedError('VHOST_COUNT_TOO_LARGE');
      if (call.startsWith('hostUpdate')) throw new HostUpdateRefusedError('HOST_TAG_CHANGE');
      if (call.startsWith('hostDown')) throw new SyncTimeoutError('ring did not confirm');
      if (call.startsWith('userMove')) throw new TryAgainError('being moved');
      if (call.startsWith('hostUp')) throw new Error('disk\ton fire');
    };
    const r = await talk(
      path,
      `${HELLO}HOST-SET\t127.0.11.1\t1001\nHOST-UPDATE\t127.0.11.1@x\t1\nHOST-DOWN\t127.0.11.1\nUSER-MOVE\tjohn\t127.0.11.1\nHOST-UP\t127.0.11.1\n`,
      { expectLines: 5 },
    );
    expect(r.received.slice(HELLO.length)).toBe(
      "vhost count too large\nhost tag can't be changed\nRing sync timed out\nTRYAGAIN\nInternal error: disk on fire\n",
    );
  });
});

describe('pipelining and hang-ups', () => {
  it('runs every pipelined line in order, even behind one that waits for the ring', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    api.gate = async (call) => {
      if (call.startsWith('hostDown')) await held;
    };
    const pending = talk(path, `${HELLO}HOST-DOWN\t127.0.11.1\nHOST-FLUSH\t127.0.11.1\nHOST-LIST-REMOVED\n`, {
      expectLines: 4,
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(api.calls).toEqual(['hostDown 127.0.11.1']);
    release();
    const r = await pending;
    expect(r.received.slice(HELLO.length)).toBe('OK\nOK\n127.0.11.3\n\n');
    expect(api.calls).toEqual(['hostDown 127.0.11.1', 'hostFlush 127.0.11.1', 'hostListRemoved']);
  });

  it('still executes the commands of a client that hung up right after writing them (poolmon)', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    api.gate = async (call) => {
      if (call.startsWith('hostDown')) await held;
    };
    const r = await talk(path, `${HELLO}HOST-DOWN\t127.0.11.1\nHOST-FLUSH\t127.0.11.1\n`, { hangUp: true });
    expect(r.closed).toBe(true);
    release();
    await expect.poll(() => api.calls).toEqual(['hostDown 127.0.11.1', 'hostFlush 127.0.11.1']);
  });

  it('closes without a reply on malformed input and drops what was queued behind it', async () => {
    const cases = [
      'HOST-UP\tnot-an-ip\n',
      'HOST-UP\n',
      'HOST-SET\t127.0.11.1\tx\n',
      'HOST-UPDATE\t127.0.11.1\n',
      'HOST-RESET-USERS\t127.0.11.1\t0\n',
      'USER-MOVE\tjohn\n',
      'USER-KICK\n',
      'USER-KICK-ALT\tuser_x\n',
      'DIRECTOR-ADD\t127.0.21.4\t0\n',
      'host-list\n',
      'NOSUCH\n',
      '\n',
      `HOST-LIST\t${'x'.repeat(1100)}\n`,
      'HOST-LIST\0\n',
    ];
    for (const c of cases) {
      const r = await talk(path, `${HELLO}${c}HOST-LIST-REMOVED\n`);
      expect(r, JSON.stringify(c)).toEqual({ received: HELLO, closed: true });
    }
    expect(api.calls).toEqual([]);
    expect(log.errors.length).toBeGreaterThanOrEqual(cases.length);
  });

  it('accepts CRLF line ends and lines split over many writes', async () => {
    const r = await new Promise<string>((resolve) => {
      const sock = connect({ path });
      let got = '';
      sock.on('data', (c) => {
        got += c.toString();
        if (got.endsWith('127.0.11.3\n\n')) {
          sock.destroy();
          resolve(got);
        }
      });
      const bytes = `${HELLO}HOST-LIST-REMOVED\r\n`;
      let i = 0;
      const step = () => {
        if (i < bytes.length) {
          sock.write(bytes[i++] as string);
          setTimeout(step, 1);
        }
      };
      step();
    });
    expect(r).toBe(`${HELLO}127.0.11.3\n\n`);
  });
});

describe('listening', () => {
  it('creates the socket with mode 0600', () => {
    const st = lstatSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('replaces a stale socket, refuses a live one or a file that is not a socket', async () => {
    const stale = join(dir, 'stale');
    // a process that died leaves its socket file behind, and nobody answers on it
    execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(stale)})`]);
    expect(lstatSync(stale).isSocket()).toBe(true);
    const replaced = await startDirectorAdminSocket({ path: stale, api, log, mode: 0o660 });
    expect(lstatSync(stale).mode & 0o777).toBe(0o660);
    expect((await talk(stale, `${HELLO}HOST-LIST-REMOVED\n`, { expectLines: 2 })).received).toBe(
      `${HELLO}127.0.11.3\n\n`,
    );
    await replaced.close();
    await expect(startDirectorAdminSocket({ path, api, log })).rejects.toMatchObject({ code: 'IN_USE' });
    writeFileSync(join(dir, 'plain'), 'x');
    await expect(startDirectorAdminSocket({ path: join(dir, 'plain'), api, log })).rejects.toMatchObject({
      code: 'NOT_A_SOCKET',
    });
  });

  it('serves TCP on loopback when no address is given', async () => {
    const tcp = await startDirectorAdminSocket({ tcp: { port: 0 }, api, log });
    try {
      const endpoint = tcp.endpoints[0] as string;
      expect(endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
      const got = await new Promise<string>((resolve) => {
        const sock = connect({ host: '127.0.0.1', port: Number(endpoint.split(':')[1]) });
        let data = '';
        sock.on('data', (c) => {
          data += c.toString();
          if (data.endsWith('\n\n')) {
            sock.destroy();
            resolve(data);
          }
        });
        sock.write(`${HELLO}HOST-LIST-REMOVED\n`);
      });
      expect(got).toBe(`${HELLO}127.0.11.3\n\n`);
    } finally {
      await tcp.close();
    }
  });

  it('closes promptly while clients are connected, one of them waiting for the ring', async () => {
    api.gate = async (call) => {
      if (call.startsWith('hostDown')) await new Promise(() => {});
    };
    const idle = connect({ path });
    const busy = connect({ path });
    for (const s of [idle, busy]) s.on('error', () => {}).resume();
    busy.write(`${HELLO}HOST-DOWN\t127.0.11.1\n`);
    await expect.poll(() => api.calls).toEqual(['hostDown 127.0.11.1']);
    const started = Date.now();
    await admin.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect.poll(() => idle.destroyed && busy.destroyed).toBe(true);
    admin = await startDirectorAdminSocket({ path, api: new FakeApi(), log });
  });

  it('removes its socket file when closed', async () => {
    await admin.close();
    expect(() => lstatSync(path)).toThrow();
    admin = await startDirectorAdminSocket({ path, api, log });
  });
});
