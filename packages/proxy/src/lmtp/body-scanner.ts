const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');

/** What the current line holds so far, as far as the terminator check cares. */
const Line = { Empty: 0, Dot: 1, DotCr: 2, Other: 3 } as const;
type LineState = (typeof Line)[keyof typeof Line];

export interface ScanStep {
  /** Body bytes to forward, ending with the terminator line once `done`. */
  readonly data: Buffer;
  readonly done: boolean;
  /** Bytes after the terminator: the client's next (pipelined) commands. */
  readonly rest: Buffer;
}

/**
 * Finds the end of a DATA body in a chunked stream, and makes sure Usher and every backend agree
 * where that is. Dovecot also ends the body at a bare-LF "\n.\n"; an MTA that let such a sequence
 * through could make the backend read the rest of the "body" as commands (SMTP smuggling). So
 * every bare LF is forwarded as CRLF: for clean CRLF input (every RFC 5321 client) the bytes pass
 * unchanged, and for anything else the backend sees exactly one terminator, where Usher does.
 * Dot-stuffing is left alone: backends un-stuff it themselves.
 */
export class DotBodyScanner {
  private line: LineState = Line.Empty;
  private lastWasCr = false;
  private finished = false;

  get done(): boolean {
    return this.finished;
  }

  push(chunk: Buffer): ScanStep {
    if (this.finished) return { data: Buffer.alloc(0), done: true, rest: chunk };
    const out: Buffer[] = [];
    let segStart = 0;
    let pos = 0;
    for (;;) {
      const lf = chunk.indexOf(LF, pos);
      const end = lf < 0 ? chunk.length : lf;
      this.advanceLine(chunk, pos, end);
      if (lf < 0) break;
      const crBefore = lf > 0 ? chunk[lf - 1] === CR : this.lastWasCr;
      if (!crBefore) {
        out.push(chunk.subarray(segStart, lf), CRLF);
        segStart = lf + 1;
      }
      if (this.line === Line.Dot || this.line === Line.DotCr) {
        out.push(chunk.subarray(segStart, lf + 1));
        this.finished = true;
        return { data: join(out), done: true, rest: chunk.subarray(lf + 1) };
      }
      this.line = Line.Empty;
      pos = lf + 1;
    }
    out.push(chunk.subarray(segStart));
    if (chunk.length > 0) this.lastWasCr = chunk[chunk.length - 1] === CR;
    return { data: join(out), done: false, rest: Buffer.alloc(0) };
  }

  /** Feed the bytes [from, to) of the current line; only its first two bytes can matter. */
  private advanceLine(chunk: Buffer, from: number, to: number): void {
    for (let i = from; i < to && this.line !== Line.Other; i++) {
      const c = chunk[i];
      if (this.line === Line.Empty) this.line = c === DOT ? Line.Dot : Line.Other;
      else if (this.line === Line.Dot) this.line = c === CR ? Line.DotCr : Line.Other;
      else this.line = Line.Other;
    }
  }
}

function join(parts: Buffer[]): Buffer {
  const nonEmpty = parts.filter((p) => p.length > 0);
  if (nonEmpty.length === 1) return nonEmpty[0] as Buffer;
  return Buffer.concat(nonEmpty);
}
