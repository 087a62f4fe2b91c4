import { handleImapConnection, NetworkList } from '@usher/proxy';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  closedPort,
  closeTime,
  type Delivery,
  type Ending,
  type HostileServer,
  hostileContext,
  play,
  settled,
  startHostileServer,
  watchUnhandled,
} from '../harness/hostile.js';

/**
 * The PROXY header parser as a listener uses it, over real sockets (proxy-protocol.property.test.ts
 * covers the parser on buffers): hostile v1 lines, v2 headers with any family and length, random
 * bytes, one byte per write, half a header then silence. Nothing may reject or hang.
 */

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const HAPROXY_TIMEOUT_MS = 300;
let server: HostileServer;
const unhandled = watchUnhandled();

beforeAll(async () => {
  server = await startHostileServer('imap', handleImapConnection, hostileContext(await closedPort()), {
    haproxy: true,
    haproxyTimeoutMs: HAPROXY_TIMEOUT_MS,
    haproxyTrusted: NetworkList.parse('127.0.0.0/8'),
    refuseLine: (r) => `* BYE ${r}\r\n`,
  });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => unhandled.start());

afterEach(() => {
  unhandled.stop();
  expect(unhandled.seen).toEqual([]);
});

describe('PROXY header in front of a session (fuzzed over sockets)', () => {
  it('never rejects or hangs on hostile headers, however they arrive', async () => {
    const v2 = fc
      .record({
        verCmd: fc.constantFrom(0x20, 0x21, 0x11, 0x2f),
        fam: fc.constantFrom(0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32, 0xff),
        len: fc.integer({ min: 0, max: 0xffff }),
        body: fc.uint8Array({ maxLength: 120 }),
      })
      .map((r) => Buffer.concat([SIG, Buffer.from([r.verCmd, r.fam, r.len >> 8, r.len & 0xff]), Buffer.from(r.body)]));
    const v1Word = fc.constantFrom('PROXY', ' ', 'TCP4', 'TCP6', 'UNKNOWN', '1.2.3.4', '::1', '65535', '99999', '\r\n');
    const v1 = fc
      .array(fc.oneof(v1Word, fc.constantFrom('\n', '\xff', '\0')), { maxLength: 10 })
      .map((ws) => Buffer.from(ws.join(''), 'latin1'));
    const header = fc.oneof(
      v1,
      v2,
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    );
    const tail = fc.constantFrom('', 'a LOGIN demo0001 demo\r\n', '\r\n', 'a CAPABILITY\r\n');
    await fc.assert(
      fc.asyncProperty(
        header,
        tail,
        fc.constantFrom<Delivery>('whole', 'bytewise', 'chunks'),
        fc.constantFrom<Ending>('end', 'destroy', 'silence'),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (head, t, delivery, ending, cuts) => {
          await play(server.port, Buffer.concat([head, Buffer.from(t)]), delivery, ending, cuts);
        },
      ),
      { numRuns: 150 },
    );
    await settled(server);
  });

  it('drops a connection that sends half a header and then nothing, at haproxy_timeout', async () => {
    const partials = [
      SIG.subarray(0, 7),
      Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0x00, 0x0c, 1, 2])]),
      Buffer.from('PROXY TCP4 1.2.'),
    ];
    for (const partial of partials) {
      expect(await closeTime(server.port, partial)).toBeLessThan(HAPROXY_TIMEOUT_MS * 5 + 1000);
    }
  });
});
