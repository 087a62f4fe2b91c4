import type { LineReader } from '../net/line-reader.js';
import { DotBodyScanner } from './body-scanner.js';

/** Read size per step: large enough for throughput, small enough that memory stays flat. */
const CHUNK_SIZE = 64 * 1024;
/** The terminator line ".\r\n" is framing, not message. */
const TERMINATOR_LINE = 3;

/** Where body bytes go: a backend connection, seen only as a writable with backpressure. */
export interface BodySink {
  readonly lost: boolean;
  /** False = buffer full, wait for drain(). */
  write(data: Buffer): boolean;
  /** True once writable again; false if the sink failed meanwhile (it gets nothing more). */
  drain(): Promise<boolean>;
  destroy(reason: string): void;
}

export interface StreamedBody {
  /** Body bytes as forwarded, without the terminator line. */
  readonly size: number;
  /** The body passed `maxSize`: forwarding stopped and every sink was destroyed. */
  readonly tooBig: boolean;
}

/**
 * Copy the client's DATA body to every sink as it arrives, up to and including the terminator,
 * never holding more than a chunk or two: the next chunk is read only when every live sink has
 * taken the last one. A sink that fails drops out; the body is still read to its end, because the
 * client's next command follows it. Rejects only when the client itself fails (disconnect, idle).
 */
export async function streamBody(
  reader: LineReader,
  sinks: readonly BodySink[],
  opts: { readonly maxSize: number },
): Promise<StreamedBody> {
  const scanner = new DotBodyScanner();
  let size = 0;
  let tooBig = false;
  while (!scanner.done) {
    const step = scanner.push(await reader.readSome(CHUNK_SIZE));
    if (step.done) reader.unread(step.rest);
    size += step.data.length;
    const bodySize = step.done ? size - TERMINATOR_LINE : size;
    if (!tooBig && opts.maxSize > 0 && bodySize > opts.maxSize) {
      tooBig = true;
      // a backend must never see a terminator after a cut body: it would store the truncated mail
      for (const sink of sinks) sink.destroy('message too big');
    }
    if (tooBig || step.data.length === 0) continue;
    const waits: Array<Promise<boolean>> = [];
    for (const sink of sinks) if (!sink.lost && !sink.write(step.data)) waits.push(sink.drain());
    if (waits.length > 0) await Promise.all(waits);
  }
  return { size: Math.max(0, size - TERMINATOR_LINE), tooBig };
}
