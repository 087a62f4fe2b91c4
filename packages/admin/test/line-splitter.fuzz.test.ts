import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_MAX_LINE_BYTES,
  AdminProtocolError,
  escapeField,
  formatLine,
  LineSplitter,
  splitLine,
  unescapeField,
} from '../src/index.js';

/**
 * The director-admin line layer on its own (fuzz.test.ts drives whole connections): however a
 * client's bytes are chunked, down to one byte per read, the lines (or the refusal) are the same, and
 * nothing but an AdminProtocolError ever comes out.
 */

type Outcome = { lines: string[]; error: string | undefined };

function splitAll(chunks: readonly Buffer[]): Outcome {
  const s = new LineSplitter();
  const lines: string[] = [];
  try {
    for (const c of chunks) lines.push(...s.push(c));
  } catch (e) {
    expect(e).toBeInstanceOf(AdminProtocolError);
    return { lines, error: (e as Error).message };
  }
  return { lines, error: undefined };
}

function chunked(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const a of [...at, bytes.length]) {
    out.push(bytes.subarray(from, a));
    from = a;
  }
  return out;
}

// admin-ish words, separators, escapes, NUL, invalid UTF-8 and long runs
const piece = fc.oneof(
  fc.constantFrom(
    'HOST-SET',
    'USER-MOVE',
    '\t',
    '\n',
    '\r\n',
    '\r',
    '\x01',
    '\x01t',
    '\0',
    '\xff\xfe',
    '\xc3\x28',
    'é',
  ),
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.integer({ min: 900, max: 1100 }).map((n) => 'x'.repeat(n)),
);
const input = fc.array(piece, { maxLength: 12 }).map((p) => Buffer.from(p.join(''), 'latin1'));

describe('director-admin LineSplitter (fuzzed)', () => {
  it('gives the same lines for any chunking, down to one byte per read', () => {
    fc.assert(
      fc.property(input, fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const whole = splitAll([bytes]);
        const pieces = splitAll(chunked(bytes, cuts));
        const bytewise = splitAll([...bytes].map((b) => Buffer.from([b])));
        // a refusal is the same decision about the same input however it arrives; the lines a
        // refused read completed before the long one are not returned (push throws instead), so
        // smaller reads may have handed out more of them first
        for (const other of [pieces, bytewise]) {
          expect(other.error !== undefined).toBe(whole.error !== undefined);
          if (whole.error === undefined) expect(other.lines).toEqual(whole.lines);
          else expect(other.lines.slice(0, whole.lines.length)).toEqual(whole.lines);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('never holds more than one line limit of an unfinished line', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 200 }), (chunk, chunks) => {
        const s = new LineSplitter();
        let refused = false;
        for (let i = 0; i < chunks && !refused; i++) {
          try {
            s.push(Buffer.alloc(chunk * 100, 0x41));
          } catch (e) {
            expect(e).toBeInstanceOf(AdminProtocolError);
            refused = true;
            // it refused as soon as it had a full line's worth, not after buffering all of it
            expect((i + 1) * chunk * 100).toBeLessThan(ADMIN_MAX_LINE_BYTES + chunk * 100 + 1);
          }
        }
        expect(refused).toBe(chunk * 100 * chunks >= ADMIN_MAX_LINE_BYTES);
      }),
    );
  });

  it('tab-escaping round-trips any field, and a formatted line splits back into its fields', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 20 }), { minLength: 1, maxLength: 6 }), (fields) => {
        for (const f of fields) {
          expect(unescapeField(escapeField(f))).toBe(f);
          expect(escapeField(f)).not.toMatch(/[\t\n\r\0]/);
        }
        const line = formatLine(fields);
        expect(line.endsWith('\n')).toBe(true);
        expect(splitLine(line.slice(0, -1))).toEqual(fields);
      }),
      { numRuns: 2000 },
    );
  });

  it('unescapes arbitrary text without throwing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 50 }), (s) => {
        expect(typeof unescapeField(s)).toBe('string');
        expect(Array.isArray(splitLine(s))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('director-admin LineSplitter regressions', () => {
  it('refuses 1023 bytes + CRLF whether the CR arrives with the LF or in an earlier read', () => {
    const line = Buffer.from(`${'x'.repeat(1023)}\r\n`);
    const whole = splitAll([line]);
    const crFirst = splitAll([line.subarray(0, 1024), line.subarray(1024)]);
    expect(whole.error).toBeDefined();
    expect(crFirst.error).toBeDefined();
    // one byte less fits, either way
    const fits = Buffer.from(`${'x'.repeat(1022)}\r\n`);
    expect(splitAll([fits]).lines).toHaveLength(1);
    expect(splitAll([fits.subarray(0, 1023), fits.subarray(1023)]).lines).toHaveLength(1);
  });
});
