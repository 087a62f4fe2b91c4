import { connect, createServer, type Socket } from 'node:net';
import {
  type ClientConnection,
  handleImapConnection,
  handleLmtpConnection,
  handleManageSieveConnection,
  handlePop3Connection,
  type Listener,
  NetworkList,
  type ProxyContext,
  startListener,
} from '@usher/proxy';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixedRouter, testContext } from './harness/test-context.js';

/**
 * Whole pre-auth sessions (listener, PROXY header, reader, parser, SASL, login attempt) fed hostile
 * byte streams over real sockets: random and protocol-shaped junk, huge literal announcements,
 * invalid UTF-8, one byte per write, partial lines then silence. A handler must never reject, no
 * promise may go unhandled, and no amount of input may grow a session's memory past its limits.
 */

type Proto = 'imap' | 'pop3' | 'managesieve' | 'lmtp';
const HANDLERS: Record<Proto, (c: ClientConnection, ctx: ProxyContext) => Promise<void>> = {
  imap: handleImapConnection,
  pop3: handlePop3Connection,
  managesieve: handleManageSieveConnection,
  lmtp: handleLmtpConnection,
};
const LIMITS = { maxLineLength: 1024, maxPreAuthLiteral: 4096, preAuthIdleTimeoutMs: 400, authFailureDelayMs: 5 };

// the words each grammar cares about, mixed with what breaks grammars
const VOCAB: Record<Proto, string[]> = {
  imap: ['a LOGIN ', 'b AUTHENTICATE PLAIN', ' ', 'c ID (', ')', '"', '\\', '{5}', '{3+}', '{0}', '{4294967296}',
    '{99999999999999999999}', 'STARTTLS', 'd CAPABILITY', 'e LOGOUT', 'NIL', 'AGRlbW8AZGVtbw==', '*', 'demo0001 demo'],
  pop3: ['USER demo0001', 'PASS x y', 'AUTH PLAIN', 'AUTH LOGIN', 'CAPA', 'STLS', 'QUIT', '=', '*', 'AGRlbW8AZGVtbw==', ' '],
  managesieve: ['AUTHENTICATE "PLAIN"', ' ', '"', '\\', '{5+}', '{5}', '{999999999+}', 'CAPABILITY', 'LOGOUT', 'STARTTLS',
    'NOOP', 'HAVESPACE "s" 1', '"AGRlbW8AZGVtbw=="'],
  lmtp: ['LHLO x', 'MAIL FROM:<a@b.c>', 'RCPT TO:<demo0001@demo.test>', 'RCPT TO:<', 'DATA', '.', '..', 'RSET', 'QUIT',
    'NOOP', 'BDAT 5', 'XCLIENT ADDR=1.2.3.4', 'STARTTLS', ' SIZE=99999999999', ' BODY=8BITMIME'],
};
const NOISE = ['\r\n', '\n', '\r', '\0', '\xff\xfe\xc3\x28', '\xed\xa0\x80', '\xf4\x90\x80\x80', '\x1b[31m', '\t'];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Harness {
  port: number;
  listener: Listener;
  /** Handler runs that have not settled yet, and those that rejected. */
  running: Set<Promise<void>>;
  rejected: unknown[];
  /** Bytes the server read per raw connection, at close. */
  bytesRead: number[];
}

const harnesses = new Map<Proto, Harness>();
let backendPort = 0;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

beforeAll(async () => {
  // logins go to a port nobody listens on: every attempt ends in "backend unavailable"
  backendPort = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  for (const proto of Object.keys(HANDLERS) as Proto[]) {
    const ctx = testContext({
      router: fixedRouter('127.0.0.1'),
      backendPorts: { imap: backendPort, pop3: backendPort, lmtp: backendPort, managesieve: backendPort },
      limits: { ...LIMITS, backendConnectTimeoutMs: 500, backendLoginTimeoutMs: 500 },
    });
    const h: Harness = { port: 0, listener: undefined as unknown as Listener, running: new Set(), rejected: [], bytesRead: [] };
    h.listener = await startListener(
      {
        name: `fuzz-${proto}`,
        protocol: proto,
        address: '127.0.0.1',
        port: 0,
        haproxyTrusted: NetworkList.parse(''),
        loginTrusted: NetworkList.parse('127.0.0.0/8'),
        limits: { maxLineLength: LIMITS.maxLineLength, idleTimeoutMs: LIMITS.preAuthIdleTimeoutMs },
        refuseLine: (r) => `BYE ${r}\r\n`,
      },
      (conn) => {
        const raw = conn.socket;
        raw.once('close', () => h.bytesRead.push(raw.bytesRead));
        const p = HANDLERS[proto](conn, ctx).catch((e: unknown) => {
          h.rejected.push(e);
        });
        h.running.add(p);
        void p.finally(() => h.running.delete(p));
        return p;
      },
    );
    h.port = h.listener.address().port;
    harnesses.set(proto, h);
  }
});

afterAll(async () => {
  for (const h of harnesses.values()) {
    h.listener.closeAll();
    await h.listener.stopAccepting();
  }
});

beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
});

afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  expect(unhandled).toEqual([]);
});

type Delivery = 'whole' | 'bytewise' | 'chunks';
type Ending = 'end' | 'destroy' | 'silence';

/** Sends `bytes` as told, ends as told; resolves with what the server said once the socket is gone. */
function play(port: number, bytes: Buffer, delivery: Delivery, ending: Ending, cuts: number[] = []): Promise<string> {
  return new Promise((resolve) => {
    const sock: Socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const done = () => resolve(received);
    sock.on('data', (c: Buffer) => {
      received += c.toString('latin1');
    });
    sock.on('error', () => {});
    sock.on('close', done);
    sock.on('connect', async () => {
      const pieces: Buffer[] = [];
      if (delivery === 'whole') pieces.push(bytes);
      else if (delivery === 'bytewise') for (let i = 0; i < bytes.length; i++) pieces.push(bytes.subarray(i, i + 1));
      else {
        let from = 0;
        for (const at of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
          if (at > from) pieces.push(bytes.subarray(from, at));
          from = Math.max(from, at);
        }
      }
      for (const p of pieces) {
        if (sock.destroyed) break;
        sock.write(p);
        if (delivery !== 'whole') await new Promise((r) => setImmediate(r));
      }
      if (ending === 'end') sock.end();
      else if (ending === 'destroy') sock.destroy();
      else setTimeout(() => sock.destroy(), 30);
    });
  });
}

/** Every handler has returned (or does so shortly): nothing is left hanging after the client went away. */
async function settled(h: Harness): Promise<void> {
  for (let i = 0; i < 100 && h.running.size > 0; i++) await sleep(20);
  expect(h.running.size).toBe(0);
  expect(h.rejected).toEqual([]);
}

const protos = Object.keys(HANDLERS) as Proto[];

describe.each(protos)('%s pre-auth session (fuzzed over sockets)', (proto) => {
  const word = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...VOCAB[proto]) },
    { weight: 3, arbitrary: fc.constantFrom(...NOISE) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString('latin1')) },
  );
  const input = fc.array(word, { maxLength: 40 }).map((ws) => Buffer.from(ws.join(''), 'latin1'));

  it('never rejects, never leaves a handler running, whatever arrives and however', async () => {
    const h = harnesses.get(proto) as Harness;
    await fc.assert(
      fc.asyncProperty(
        input,
        fc.constantFrom<Delivery>('whole', 'bytewise', 'chunks'),
        fc.constantFrom<Ending>('end', 'destroy', 'silence'),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (bytes, delivery, ending, cuts) => {
          await play(h.port, bytes, delivery, ending, cuts);
        },
      ),
      { numRuns: 120 },
    );
    await settled(h);
  });

  it('reads no more than its line limit from a client that never sends a newline', async () => {
    const h = harnesses.get(proto) as Harness;
    h.bytesRead.length = 0;
    const flood = Buffer.alloc(8 * 1024 * 1024, 0x41);
    const said = await new Promise<string>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port: h.port });
      let received = '';
      sock.on('data', (c: Buffer) => {
        received += c.toString('latin1');
      });
      sock.on('error', () => {});
      sock.on('close', () => resolve(received));
      // keeps writing until the server hangs up (or the 8 MB are out)
      sock.on('connect', () => sock.end(flood));
    });
    await settled(h);
    expect(said.length).toBeGreaterThan(0);
    // the kernel's socket buffers take a few hundred KB more than the session ever looked at
    expect(Math.max(...h.bytesRead)).toBeLessThan(4 * 1024 * 1024);
  });

  it('closes a partial line followed by silence at the idle timeout', async () => {
    const h = harnesses.get(proto) as Harness;
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port: h.port });
      sock.on('error', () => {});
      sock.on('close', () => resolve());
      sock.resume(); // a socket nobody reads never sees the server's FIN
      sock.on('connect', () => sock.write(`${VOCAB[proto][0]}`));
    });
    expect(Date.now() - started).toBeLessThan(LIMITS.preAuthIdleTimeoutMs * 5 + 1000);
    await settled(h);
  });
});

describe('huge literal announcements', () => {
  it('IMAP refuses a literal over the limit without asking for it, and LITERAL+ ones without reading them', async () => {
    const h = harnesses.get('imap') as Harness;
    for (const n of ['4097', '4294967295', '18446744073709551616', '99999999999999999999999']) {
      const said = await play(h.port, Buffer.from(`a LOGIN {${n}}\r\n`), 'whole', 'silence');
      expect(said).not.toMatch(/^\+/m);
      h.bytesRead.length = 0;
      await play(h.port, Buffer.concat([Buffer.from(`a LOGIN {${n}+}\r\n`), Buffer.alloc(2_000_000, 0x78)]), 'whole', 'end');
      expect(Math.max(0, ...h.bytesRead)).toBeLessThan(4 * 1024 * 1024);
    }
    await settled(h);
  });

  it('ManageSieve refuses a non-synchronising literal over the limit without reading it', async () => {
    const h = harnesses.get('managesieve') as Harness;
    for (const n of ['4097', '4294967295', '99999999999999999999']) {
      h.bytesRead.length = 0;
      const said = await play(
        h.port,
        Buffer.concat([Buffer.from(`AUTHENTICATE "PLAIN" {${n}+}\r\n`), Buffer.alloc(2_000_000, 0x78)]),
        'whole',
        'end',
      );
      expect(said).toMatch(/^(NO|BYE)/m);
      expect(Math.max(0, ...h.bytesRead)).toBeLessThan(4 * 1024 * 1024);
    }
    await settled(h);
  });

  it('SASL continuations longer than the limit end the exchange, in every protocol that has SASL', async () => {
    const cases: Array<[Proto, string]> = [
      ['imap', 'a AUTHENTICATE PLAIN\r\n'],
      ['pop3', 'AUTH PLAIN\r\n'],
      ['managesieve', 'AUTHENTICATE "PLAIN"\r\n'],
    ];
    for (const [proto, start] of cases) {
      const h = harnesses.get(proto) as Harness;
      const said = await play(h.port, Buffer.from(`${start}${'QUFB'.repeat(2000)}\r\n`), 'whole', 'silence');
      expect(said.length).toBeGreaterThan(0);
      await settled(h);
    }
  });
});

describe('PROXY header in front of a session (fuzzed over sockets)', () => {
  const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
  let listener: Listener;
  const h: Harness = { port: 0, listener: undefined as unknown as Listener, running: new Set(), rejected: [], bytesRead: [] };

  beforeAll(async () => {
    const ctx = testContext({
      router: fixedRouter('127.0.0.1'),
      backendPorts: { imap: backendPort, pop3: backendPort, lmtp: backendPort, managesieve: backendPort },
      limits: { ...LIMITS, backendConnectTimeoutMs: 500, backendLoginTimeoutMs: 500 },
    });
    listener = await startListener(
      {
        name: 'fuzz-haproxy',
        protocol: 'imap',
        address: '127.0.0.1',
        port: 0,
        haproxy: true,
        haproxyTimeoutMs: 300,
        haproxyTrusted: NetworkList.parse('127.0.0.0/8'),
        loginTrusted: NetworkList.parse('127.0.0.0/8'),
        limits: { maxLineLength: LIMITS.maxLineLength, idleTimeoutMs: LIMITS.preAuthIdleTimeoutMs },
        refuseLine: (r) => `* BYE ${r}\r\n`,
      },
      (conn) => {
        const p = handleImapConnection(conn, ctx).catch((e: unknown) => {
          h.rejected.push(e);
        });
        h.running.add(p);
        void p.finally(() => h.running.delete(p));
        return p;
      },
    );
    h.port = listener.address().port;
  });

  afterAll(async () => {
    listener.closeAll();
    await listener.stopAccepting();
  });

  it('never rejects or hangs on hostile headers, however they arrive', async () => {
    const v2 = fc
      .record({
        verCmd: fc.constantFrom(0x20, 0x21, 0x11, 0x2f),
        fam: fc.constantFrom(0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32, 0xff),
        len: fc.integer({ min: 0, max: 0xffff }),
        body: fc.uint8Array({ maxLength: 120 }),
      })
      .map((r) => Buffer.concat([SIG, Buffer.from([r.verCmd, r.fam, r.len >> 8, r.len & 0xff]), Buffer.from(r.body)]));
    const v1 = fc
      .array(fc.constantFrom('PROXY', ' ', 'TCP4', 'TCP6', 'UNKNOWN', '1.2.3.4', '::1', '65535', '99999', '\r\n', '\n', '\xff'), {
        maxLength: 10,
      })
      .map((ws) => Buffer.from(ws.join(''), 'latin1'));
    const header = fc.oneof(v1, v2, fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)));
    const tail = fc.constantFrom('', 'a LOGIN demo0001 demo\r\n', '\r\n', 'a CAPABILITY\r\n');
    await fc.assert(
      fc.asyncProperty(
        header,
        tail,
        fc.constantFrom<Delivery>('whole', 'bytewise', 'chunks'),
        fc.constantFrom<Ending>('end', 'destroy', 'silence'),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (head, t, delivery, ending, cuts) => {
          await play(h.port, Buffer.concat([head, Buffer.from(t)]), delivery, ending, cuts);
        },
      ),
      { numRuns: 150 },
    );
    await settled(h);
  });

  it('drops a connection that sends half a header and then nothing, at haproxy_timeout', async () => {
    for (const partial of [SIG.subarray(0, 7), Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0x00, 0x0c, 1, 2])]), Buffer.from('PROXY TCP4 1.2.')]) {
      const started = Date.now();
      await new Promise<void>((resolve) => {
        const sock = connect({ host: '127.0.0.1', port: h.port });
        sock.resume();
        sock.on('error', () => {});
        sock.on('close', () => resolve());
        sock.on('connect', () => sock.write(partial));
      });
      expect(Date.now() - started).toBeLessThan(300 * 5 + 1000);
    }
  });
});
