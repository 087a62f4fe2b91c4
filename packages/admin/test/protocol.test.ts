import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AdminProtocolError,
  escapeField,
  formatLine,
  isCompatibleVersion,
  LineSplitter,
  parsePort,
  parseUint32,
  splitLine,
  unescapeField,
} from '../src/index.js';

describe('tab-escaping', () => {
  it("escapes Dovecot's five characters and nothing else", () => {
    expect(escapeField('a\tb\nc\rd\x01e\0f')).toBe('a\x01tb\x01nc\x01rd\x011e\x010f');
    expect(escapeField('plain @ text')).toBe('plain @ text');
    expect(unescapeField('a\x01tb\x01x\x01')).toBe('a\tbx');
  });

  it('round-trips any string through a line', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 5 }), (fields) => {
        const line = formatLine(fields);
        expect(line.endsWith('\n')).toBe(true);
        expect(line.slice(0, -1)).not.toMatch(/[\t\n].*\n|\n/);
        expect(splitLine(line.slice(0, -1))).toEqual(fields);
      }),
    );
  });
});

describe('argument syntax', () => {
  it('reads 32-bit unsigned numbers as str_to_uint does', () => {
    expect(parseUint32('0')).toBe(0);
    expect(parseUint32('4294967295')).toBe(4294967295);
    expect(parseUint32('4294967296')).toBeUndefined();
    for (const bad of ['', '-1', '+1', '1e3', ' 1', '0x10', '12345678901'])
      expect(parseUint32(bad), bad).toBeUndefined();
  });

  it('reads ports 1..65535', () => {
    expect(parsePort('9090')).toBe(9090);
    for (const bad of ['0', '65536', '', 'x']) expect(parsePort(bad), bad).toBeUndefined();
  });

  it('checks the VERSION line as version_string_verify does', () => {
    expect(isCompatibleVersion('VERSION\tdirector-doveadm\t1\t0')).toBe(true);
    expect(isCompatibleVersion('VERSION\tdirector-doveadm\t1\t99\textra')).toBe(true);
    for (const bad of [
      'VERSION\tdirector-doveadm\t2\t0',
      'VERSION\tdirector-doveadm\t1\tx',
      'VERSION\tdirector-doveadm\t1',
      'VERSION\tdirector\t1\t0',
      'version\tdirector-doveadm\t1\t0',
    ])
      expect(isCompatibleVersion(bad), bad).toBe(false);
  });
});

describe('LineSplitter', () => {
  it('returns complete lines, keeps partial ones, drops a CR before LF', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('HOST-LI'))).toEqual([]);
    expect(s.push(Buffer.from('ST\r\nUSER-LIST\n\nA'))).toEqual(['HOST-LIST', 'USER-LIST', '']);
    expect(s.push(Buffer.from('B\n'))).toEqual(['AB']);
  });

  it('refuses a line that cannot fit the 1024-byte buffer, or a NUL', () => {
    expect(new LineSplitter().push(Buffer.from(`${'x'.repeat(1023)}\n`))).toHaveLength(1);
    expect(() => new LineSplitter().push(Buffer.from(`${'x'.repeat(1024)}\n`))).toThrow(AdminProtocolError);
    expect(() => new LineSplitter().push(Buffer.from('x'.repeat(1024)))).toThrow(AdminProtocolError);
    expect(() => new LineSplitter().push(Buffer.from('a\0b\n'))).toThrow(AdminProtocolError);
  });

  it('splits any byte stream the same however it is chunked', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 5 }), (bytes, cuts) => {
        const whole = outcome(new LineSplitter(), [Buffer.from(bytes)]);
        const points = [...new Set(cuts.filter((c) => c < bytes.length))].sort((a, b) => a - b);
        const parts: Buffer[] = [];
        let at = 0;
        for (const p of points) {
          parts.push(Buffer.from(bytes.subarray(at, p)));
          at = p;
        }
        parts.push(Buffer.from(bytes.subarray(at)));
        expect(outcome(new LineSplitter(), parts)).toEqual(whole);
      }),
    );
  });
});

function outcome(s: LineSplitter, parts: Buffer[]): string[] | 'refused' {
  const out: string[] = [];
  try {
    for (const p of parts) out.push(...s.push(p));
  } catch (e) {
    if (e instanceof AdminProtocolError) return 'refused';
    throw e;
  }
  return out;
}
