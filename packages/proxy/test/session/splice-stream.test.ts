import { createHash } from 'node:crypto';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendConnection, STREAM_READ_BYTES } from '../../src/backend/backend-connection.js';
import { splice } from '../../src/session/splice.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function listen(onConn: (s: Socket) => void): Promise<number> {
  const server = createServer(onConn);
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

/** Bytes whose value depends on their offset, so a reordered or overwritten chunk changes the digest. */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed + (i >> 12)) & 0xff;
  return b;
}

describe('splice with a plain backend (reads into reused buffers)', () => {
  it('relays a large body intact to a slow client, then small replies, with backpressure', async () => {
    const body = pattern(64 * STREAM_READ_BYTES + 12345, 7);
    const tail = Buffer.from('a1 OK done\r\n');
    const backendPort = await listen((s) => {
      s.write('* OK ready\r\n');
      s.once('data', () => {
        s.write(body);
        s.write(tail);
        s.end();
      });
    });
    const backend = await BackendConnection.open(
      { ip: '127.0.0.1', port: backendPort },
      { connectTimeoutMs: 2000, idleTimeoutMs: 2000 },
    );
    expect(backend.reads).toBeDefined();
    expect((await backend.reader.readLine()).toString()).toBe('* OK ready');

    let proxySide: Socket | undefined;
    const proxyPort = await listen((s) => {
      proxySide = s;
    });
    const client = netConnect(proxyPort, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    while (!proxySide) await new Promise((r) => setTimeout(r, 5));

    const spliced = splice(
      proxySide,
      backend.socket,
      { toBackend: Buffer.alloc(0), toClient: backend.handOff() },
      backend.reads,
    );
    const received: Buffer[] = [];
    let n = 0;
    // a slow reader: pauses now and then so the proxy's writes back up
    client.on('data', (c: Buffer) => {
      received.push(c);
      if (++n % 4 === 0) {
        client.pause();
        setTimeout(() => client.resume(), 10);
      }
    });
    const ended = new Promise((r) => client.once('end', r));
    client.write('a1 FETCH\r\n');
    await ended;
    const got = Buffer.concat(received);
    const want = Buffer.concat([body, tail]);
    expect(got.length).toBe(want.length);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(want).digest('hex'));
    const bytes = await spliced;
    expect(bytes.backendBytes).toBe(want.length);
    client.destroy();
  });
});
