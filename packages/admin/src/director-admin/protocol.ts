import { UsherError } from '@usher/core';

/**
 * The director-admin wire format (reference §6): TAB-separated fields, LF-terminated lines, field
 * values in Dovecot's tab-escaping. Shared by the server and by usheradm's client.
 */

/** What the server sends first; poolmon compares it byte for byte, so it never changes. */
export const ADMIN_GREETING = 'VERSION\tdirector-doveadm\t1\t0\n';
export const ADMIN_SERVICE = 'director-doveadm';
export const ADMIN_MAJOR_VERSION = 1;
/** Dovecot reads admin input through a 1024-byte buffer: a longer line can never complete. */
export const ADMIN_MAX_LINE_BYTES = 1024;

/** Input the server refuses to interpret: Dovecot logs it and closes without a reply. */
export class AdminProtocolError extends UsherError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('ADMIN_PROTOCOL', message, context);
  }
}

const ESCAPE = '\x01';
const ESCAPES: Record<string, string> = { '\x01': '1', '\0': '0', '\t': 't', '\r': 'r', '\n': 'n' };
const UNESCAPES: Record<string, string> = { '1': '\x01', '0': '\0', t: '\t', r: '\r', n: '\n' };

/** Dovecot's str_append_tabescaped. */
export function escapeField(value: string): string {
  let out = '';
  for (const ch of value) {
    const e = ESCAPES[ch];
    out += e === undefined ? ch : ESCAPE + e;
  }
  return out;
}

/** Dovecot's str_tabunescape: an unknown escape keeps the character after \x01, a trailing \x01 is dropped. */
export function unescapeField(value: string): string {
  if (!value.includes(ESCAPE)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch !== ESCAPE) {
      out += ch;
      continue;
    }
    i++;
    if (i >= value.length) break;
    const next = value[i] as string;
    out += UNESCAPES[next] ?? next;
  }
  return out;
}

/** t_strsplit_tabescaped: the fields of one line (without its LF). */
export function splitLine(line: string): string[] {
  return line.split('\t').map(unescapeField);
}

/** One reply or request line, LF included. */
export function formatLine(fields: readonly string[]): string {
  return `${fields.map(escapeField).join('\t')}\n`;
}

/**
 * version_string_verify: `VERSION <service> <major> <minor>` with the same service and major; the
 * minor only has to be a number (any minor of major 1 is compatible).
 */
export function isCompatibleVersion(line: string, service = ADMIN_SERVICE, major = ADMIN_MAJOR_VERSION): boolean {
  const f = line.split('\t');
  return (
    f.length >= 4 &&
    f[0] === 'VERSION' &&
    f[1] === service &&
    /^\d+$/.test(f[2] as string) &&
    Number(f[2]) === major &&
    /^\d+$/.test(f[3] as string)
  );
}

/** Dovecot's str_to_uint: decimal digits only, no sign, must fit 32 bits. */
export function parseUint32(s: string): number | undefined {
  if (!/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

/** net_str2port: 1..65535. */
export function parsePort(s: string): number | undefined {
  if (!/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * Splits a byte stream into lines of at most ADMIN_MAX_LINE_BYTES (LF excluded, a CR before it
 * dropped as Dovecot's istream does). `push` returns the complete lines; it throws on a line that
 * can never fit or that carries a NUL (Dovecot's C strings would cut it short silently).
 */
export class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private readonly maxBytes: number;

  constructor(maxBytes = ADMIN_MAX_LINE_BYTES) {
    this.maxBytes = maxBytes;
  }

  push(chunk: Buffer): string[] {
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const lines: string[] = [];
    let start = 0;
    for (let lf = data.indexOf(0x0a, start); lf >= 0; lf = data.indexOf(0x0a, start)) {
      // the CR counts: Dovecot's buffer holds it until the LF arrives, so 1023 bytes + CRLF never
      // completes there, and must not here either, whether the CR comes with the LF or before it
      if (lf - start >= this.maxBytes) {
        throw new AdminProtocolError(`line longer than ${this.maxBytes - 1} bytes`, { bytes: lf - start });
      }
      const end = lf > start && data[lf - 1] === 0x0d ? lf - 1 : lf;
      lines.push(this.decode(data.subarray(start, end)));
      start = lf + 1;
    }
    this.pending = Buffer.from(data.subarray(start));
    if (this.pending.length >= this.maxBytes) {
      throw new AdminProtocolError(`line longer than ${this.maxBytes - 1} bytes`, { bytes: this.pending.length });
    }
    return lines;
  }

  private decode(bytes: Buffer): string {
    if (bytes.length >= this.maxBytes) {
      throw new AdminProtocolError(`line longer than ${this.maxBytes - 1} bytes`, { bytes: bytes.length });
    }
    if (bytes.includes(0)) throw new AdminProtocolError('NUL byte in a command line', { bytes: bytes.length });
    return bytes.toString('utf8');
  }
}
