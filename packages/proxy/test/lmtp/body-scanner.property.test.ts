import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DotBodyScanner } from '../../src/lmtp/body-scanner.js';

/** Feed `input` in the given pieces; return everything forwarded and what came after the body. */
function scan(input: Buffer, cuts: number[]): { data: Buffer; done: boolean; rest: Buffer } {
  const scanner = new DotBodyScanner();
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const data: Buffer[] = [];
  const rest: Buffer[] = [];
  let from = 0;
  for (const to of [...points, input.length]) {
    const step = scanner.push(input.subarray(from, to));
    data.push(step.data);
    rest.push(step.rest);
    from = to;
  }
  return { data: Buffer.concat(data), done: scanner.done, rest: Buffer.concat(rest) };
}

const bytes = fc
  .array(fc.constantFrom(0x0d, 0x0a, 0x2e, 0x61, 0x00, 0xff), { maxLength: 200 })
  .map((a) => Buffer.from(a));
const cuts = fc.array(fc.nat(), { maxLength: 12 });
// lines as an RFC 5321 client sends them: no CR/LF inside, dot-stuffed, CRLF-terminated
const line = fc.string({ unit: fc.constantFrom('.', 'a', ' ', '\t', 'é'), maxLength: 12 });
const encode = (lines: string[]) =>
  Buffer.from(lines.map((l) => `${l.startsWith('.') ? '.' : ''}${l}\r\n`).join(''), 'utf8');

describe('DotBodyScanner', () => {
  it('gives the same result however the input is chunked', () => {
    fc.assert(
      fc.property(bytes, cuts, (input, c) => {
        expect(scan(input, c)).toEqual(scan(input, []));
      }),
      { numRuns: 3000 },
    );
  });

  it('forwards a clean CRLF body byte for byte and stops at its terminator', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), bytes, cuts, (lines, after, c) => {
        const body = encode(lines);
        const wire = Buffer.concat([body, Buffer.from('.\r\n'), after]);
        const r = scan(wire, c);
        expect(r.done).toBe(true);
        expect(r.data.equals(Buffer.concat([body, Buffer.from('.\r\n')]))).toBe(true);
        expect(r.rest.equals(after)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('forwards only CRLF line ends and exactly one terminator, at the very end', () => {
    fc.assert(
      fc.property(bytes, (input) => {
        const { data, done } = scan(input, []);
        const text = `\r\n${data.toString('latin1')}`; // the body starts at a line start
        expect(/(^|[^\r])\n/.test(data.toString('latin1'))).toBe(false);
        const first = text.indexOf('\r\n.\r\n');
        if (done) expect(first).toBe(text.length - 5);
        else expect(first).toBe(-1);
      }),
      { numRuns: 3000 },
    );
  });

  it('ends where a lenient backend would, and hands back the rest', () => {
    const r = scan(Buffer.from('Subject: x\n\nhello\n.\nMAIL FROM:<a@b>\r\n'), []);
    expect(r.data.toString()).toBe('Subject: x\r\n\r\nhello\r\n.\r\n');
    expect(r.rest.toString()).toBe('MAIL FROM:<a@b>\r\n');
    expect(scan(Buffer.from('.\r\nQUIT\r\n'), []).data.toString()).toBe('.\r\n');
    expect(scan(Buffer.from('..\r\n.x\r\n.\r\r\n'), []).done).toBe(false);
  });
});
