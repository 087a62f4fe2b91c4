import { connect } from 'node:net';
import {
  type ClientConnection,
  handleImapConnection,
  handleLmtpConnection,
  handleManageSieveConnection,
  handlePop3Connection,
  type ProxyContext,
} from '@usher/proxy';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  closedPort,
  closeTime,
  type Delivery,
  type Ending,
  HOSTILE_LIMITS,
  type HostileServer,
  hostileContext,
  play,
  settled,
  startHostileServer,
  watchUnhandled,
} from './harness/hostile.js';

/**
 * Whole pre-auth sessions (listener, reader, parser, SASL, login attempt) fed hostile byte streams
 * over real sockets: random and protocol-shaped junk, huge literal announcements, invalid UTF-8, one
 * byte per write, partial lines then silence. A handler must never reject, no promise may go
 * unhandled, and no amount of input may grow a session's memory past its limits.
 */

type Proto = 'imap' | 'pop3' | 'managesieve' | 'lmtp';
const HANDLERS: Record<Proto, (c: ClientConnection, ctx: ProxyContext) => Promise<void>> = {
  imap: handleImapConnection,
  pop3: handlePop3Connection,
  managesieve: handleManageSieveConnection,
  lmtp: handleLmtpConnection,
};

// the words each grammar cares about ('|'-separated), mixed below with what breaks grammars
const VOCAB: Record<Proto, string[]> = {
  imap: 'a LOGIN |b AUTHENTICATE PLAIN| |c ID (|)|"|\\|{5}|{3+}|{0}|{4294967296}|{99999999999999999999}|STARTTLS|d CAPABILITY|e LOGOUT|NIL|AGRlbW8AZGVtbw==|*|demo0001 demo'.split(
    '|',
  ),
  pop3: 'USER demo0001|PASS x y|AUTH PLAIN|AUTH LOGIN|CAPA|STLS|QUIT|=|*|AGRlbW8AZGVtbw==| '.split('|'),
  managesieve:
    'AUTHENTICATE "PLAIN"| |"|\\|{5+}|{5}|{999999999+}|CAPABILITY|LOGOUT|STARTTLS|NOOP|HAVESPACE "s" 1|"AGRlbW8AZGVtbw=="'.split(
      '|',
    ),
  lmtp: 'LHLO x|MAIL FROM:<a@b.c>|RCPT TO:<demo0001@demo.test>|RCPT TO:<|DATA|.|..|RSET|QUIT|NOOP|BDAT 5|XCLIENT ADDR=1.2.3.4|STARTTLS| SIZE=99999999999| BODY=8BITMIME'.split(
    '|',
  ),
};
const NOISE = ['\r\n', '\n', '\r', '\0', '\xff\xfe\xc3\x28', '\xed\xa0\x80', '\xf4\x90\x80\x80', '\x1b[31m', '\t'];

const servers = new Map<Proto, HostileServer>();
const unhandled = watchUnhandled();

beforeAll(async () => {
  const ctx = hostileContext(await closedPort());
  for (const proto of Object.keys(HANDLERS) as Proto[]) {
    servers.set(proto, await startHostileServer(proto, HANDLERS[proto], ctx));
  }
});

afterAll(async () => {
  for (const s of servers.values()) await s.close();
});

beforeEach(() => unhandled.start());

afterEach(() => {
  unhandled.stop();
  expect(unhandled.seen).toEqual([]);
});

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
    const s = servers.get(proto) as HostileServer;
    await fc.assert(
      fc.asyncProperty(
        input,
        fc.constantFrom<Delivery>('whole', 'bytewise', 'chunks'),
        fc.constantFrom<Ending>('end', 'destroy', 'silence'),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (bytes, delivery, ending, cuts) => {
          await play(s.port, bytes, delivery, ending, cuts);
        },
      ),
      { numRuns: 120 },
    );
    await settled(s);
  });

  it('reads no more than its line limit from a client that never sends a newline', async () => {
    const s = servers.get(proto) as HostileServer;
    s.bytesRead.length = 0;
    const said = await new Promise<string>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port: s.port });
      let received = '';
      sock.on('data', (c: Buffer) => {
        received += c.toString('latin1');
      });
      sock.on('error', () => {});
      sock.on('close', () => resolve(received));
      // keeps writing until the server hangs up (or the 8 MB are out)
      sock.on('connect', () => sock.end(Buffer.alloc(8 * 1024 * 1024, 0x41)));
    });
    await settled(s);
    expect(said.length).toBeGreaterThan(0);
    // the kernel's socket buffers take a few hundred KB more than the session ever looked at
    expect(Math.max(...s.bytesRead)).toBeLessThan(4 * 1024 * 1024);
  });

  it('closes a partial line followed by silence at the idle timeout', async () => {
    const s = servers.get(proto) as HostileServer;
    expect(await closeTime(s.port, VOCAB[proto][0] as string)).toBeLessThan(
      HOSTILE_LIMITS.preAuthIdleTimeoutMs * 5 + 1000,
    );
    await settled(s);
  });
});

describe('huge literal announcements', () => {
  it('IMAP refuses a literal over the limit without asking for it, and LITERAL+ ones without reading them', async () => {
    const s = servers.get('imap') as HostileServer;
    for (const n of ['4097', '4294967295', '18446744073709551616', '99999999999999999999999']) {
      const said = await play(s.port, Buffer.from(`a LOGIN {${n}}\r\n`), 'whole', 'silence');
      expect(said).not.toMatch(/^\+/m);
      s.bytesRead.length = 0;
      const flood = Buffer.concat([Buffer.from(`a LOGIN {${n}+}\r\n`), Buffer.alloc(2_000_000, 0x78)]);
      await play(s.port, flood, 'whole', 'end');
      expect(Math.max(0, ...s.bytesRead)).toBeLessThan(4 * 1024 * 1024);
    }
    await settled(s);
  });

  it('ManageSieve refuses a non-synchronising literal over the limit without reading it', async () => {
    const s = servers.get('managesieve') as HostileServer;
    for (const n of ['4097', '4294967295', '99999999999999999999']) {
      s.bytesRead.length = 0;
      const flood = Buffer.concat([Buffer.from(`AUTHENTICATE "PLAIN" {${n}+}\r\n`), Buffer.alloc(2_000_000, 0x78)]);
      const said = await play(s.port, flood, 'whole', 'end');
      expect(said).toMatch(/^(NO|BYE)/m);
      expect(Math.max(0, ...s.bytesRead)).toBeLessThan(4 * 1024 * 1024);
    }
    await settled(s);
  });

  it('SASL continuations longer than the limit end the exchange, in every protocol that has SASL', async () => {
    const cases: Array<[Proto, string]> = [
      ['imap', 'a AUTHENTICATE PLAIN\r\n'],
      ['pop3', 'AUTH PLAIN\r\n'],
      ['managesieve', 'AUTHENTICATE "PLAIN"\r\n'],
    ];
    for (const [proto, start] of cases) {
      const s = servers.get(proto) as HostileServer;
      const said = await play(s.port, Buffer.from(`${start}${'QUFB'.repeat(2000)}\r\n`), 'whole', 'silence');
      expect(said.length).toBeGreaterThan(0);
      await settled(s);
    }
  });
});
