import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type BodySink, streamBody } from '../../src/lmtp/data-stream.js';
import { LineReader } from '../../src/net/line-reader.js';

/** A sink that takes `capacity` bytes, then makes the writer wait until release(). */
class SlowSink implements BodySink {
  received = 0;
  lost = false;
  private pending: Array<(ok: boolean) => void> = [];
  constructor(private readonly capacity: number) {}
  write(data: Buffer): boolean {
    this.received += data.length;
    return this.received < this.capacity;
  }
  drain(): Promise<boolean> {
    return new Promise((resolve) => this.pending.push(resolve));
  }
  release(ok = true): void {
    for (const r of this.pending.splice(0)) r(ok);
  }
  destroy(): void {
    this.lost = true;
    this.release(false);
  }
}

/** Writes `total` bytes of body then the terminator, respecting the stream's own backpressure. */
async function produce(stream: PassThrough, total: number, progress: { sent: number }): Promise<void> {
  // 100 lines per write: a socket delivers kilobytes at a time, not single lines
  const line = Buffer.from(`${'b'.repeat(78)}\r\n`.repeat(100));
  while (progress.sent < total) {
    progress.sent += line.length;
    if (!stream.write(line)) await new Promise((r) => stream.once('drain', r));
  }
  stream.write('.\r\nNOOP\r\n');
}

describe('streamBody', () => {
  it('reads no further ahead than the slowest sink allows', async () => {
    const client = new PassThrough();
    const reader = new LineReader(client, { maxLineLength: 8192, idleTimeoutMs: 5000 });
    const slow = new SlowSink(1);
    const fast = new SlowSink(Number.POSITIVE_INFINITY);
    const progress = { sent: 0 };
    void produce(client, 20_000_000, progress);
    const done = streamBody(reader, [slow, fast], { maxSize: 0 });
    await new Promise((r) => setTimeout(r, 200));
    // the slow sink got one chunk and holds everything up: at most a few chunks are in flight
    expect(progress.sent).toBeLessThan(1_000_000);
    expect(fast.received).toBeLessThanOrEqual(64 * 1024);
    const pump = setInterval(() => slow.release(), 1);
    const result = await done;
    clearInterval(pump);
    expect(result).toEqual({ size: progress.sent, tooBig: false });
    expect(slow.received).toBe(progress.sent + 3);
    expect(fast.received).toBe(progress.sent + 3);
    expect((await reader.readLine()).toString()).toBe('NOOP');
  });

  it('drops a failed sink and still reads the body to its end', async () => {
    const client = new PassThrough();
    const reader = new LineReader(client, { maxLineLength: 8192, idleTimeoutMs: 5000 });
    const dying = new SlowSink(1000);
    const healthy = new SlowSink(Number.POSITIVE_INFINITY);
    const progress = { sent: 0 };
    void produce(client, 500_000, progress);
    const done = streamBody(reader, [dying, healthy], { maxSize: 0 });
    setTimeout(() => dying.destroy(), 20);
    const result = await done;
    expect(result.tooBig).toBe(false);
    expect(healthy.received).toBe(progress.sent + 3);
    expect(dying.received).toBeLessThan(progress.sent);
  });

  it('stops forwarding past maxSize, destroys the sinks and consumes the rest', async () => {
    const client = new PassThrough();
    const reader = new LineReader(client, { maxLineLength: 8192, idleTimeoutMs: 5000 });
    const sink = new SlowSink(Number.POSITIVE_INFINITY);
    const progress = { sent: 0 };
    void produce(client, 300_000, progress);
    const result = await streamBody(reader, [sink], { maxSize: 100_000 });
    expect(result.tooBig).toBe(true);
    expect(sink.lost).toBe(true);
    expect(sink.received).toBeLessThan(200_000);
    expect((await reader.readLine()).toString()).toBe('NOOP');
  });

  it('rejects when the client goes away mid-body', async () => {
    const client = new PassThrough();
    const reader = new LineReader(client, { maxLineLength: 8192, idleTimeoutMs: 5000 });
    client.write('partial body\r\n');
    setTimeout(() => client.destroy(), 20);
    await expect(streamBody(reader, [new SlowSink(Number.POSITIVE_INFINITY)], { maxSize: 0 })).rejects.toThrow(
      /closed/,
    );
  });
});
