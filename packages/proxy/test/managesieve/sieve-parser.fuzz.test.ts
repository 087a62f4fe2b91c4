import { PassThrough } from 'node:stream';
import { LineReader, ProxyError, readSieveCommand, SieveParseError, tokenizeSieveLine } from '@usher/proxy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const LIMITS = { maxLiteral: 1024 };

/** A LineReader over fixed bytes, as the session has over a socket. */
function readerOf(bytes: Uint8Array): LineReader {
  const stream = new PassThrough();
  const reader = new LineReader(stream, { maxLineLength: 512, idleTimeoutMs: 1000 });
  stream.end(Buffer.from(bytes));
  return reader;
}

/** Read commands until the input runs out; only the parser's and the reader's typed errors may appear. */
async function drain(bytes: Uint8Array): Promise<void> {
  const reader = readerOf(bytes);
  for (let i = 0; i < 50; i++) {
    try {
      await readSieveCommand(reader, LIMITS);
    } catch (e) {
      if (e instanceof SieveParseError && !e.fatal) continue;
      if (e instanceof SieveParseError) return;
      expect(e).toBeInstanceOf(ProxyError);
      return;
    }
  }
}

// the pieces that make ManageSieve syntax interesting, mixed with noise
const piece = fc.oneof(
  fc.constantFrom(
    'AUTHENTICATE',
    ' ',
    '"',
    '\\',
    '\\"',
    '{',
    '}',
    '+}',
    '{3+}\r\n',
    '{0}\r\n',
    '\r\n',
    '\n',
    '(',
    ')',
    '*',
    '\0',
  ),
  fc.stringMatching(/^[A-Za-z0-9=]{1,8}$/),
  fc.nat({ max: 99_999 }).map((n) => `{${n}+}\r\n`),
);

describe('ManageSieve parser', () => {
  it('throws nothing but typed errors on arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), (bytes) => drain(bytes)),
      { numRuns: 2000 },
    );
  });

  it('throws nothing but typed errors on syntax-shaped junk', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 40 }), (parts) => drain(Buffer.from(parts.join(''), 'utf8'))),
      { numRuns: 2000 },
    );
  });

  it('tokenizes arbitrary lines without any other throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.boolean(), (line, continuation) => {
        try {
          tokenizeSieveLine(line, continuation);
        } catch (e) {
          expect(e).toBeInstanceOf(SieveParseError);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('reads back what a client writes: atoms, quoted strings and literals', async () => {
    const name = fc.stringMatching(/^[A-Za-z]{1,12}$/);
    const text = fc.string({ maxLength: 40 }).filter((s) => !/[\r\n\0]/.test(s));
    const arg = fc.oneof(
      text.map((v) => ({ v, wire: `"${v.replace(/[\\"]/g, '\\$&')}"`, literal: false })),
      fc.string({ maxLength: 60 }).map((v) => ({ v, wire: `{${Buffer.byteLength(v)}+}\r\n${v}`, literal: true })),
    );
    await fc.assert(
      fc.asyncProperty(name, fc.array(arg, { maxLength: 4 }), async (n, args) => {
        const wire = [n, ...args.map((a) => a.wire)].join(' ');
        const command = await readSieveCommand(readerOf(Buffer.from(`${wire}\r\n`, 'utf8')), LIMITS);
        expect(command.name).toBe(n.toUpperCase());
        expect(command.args.map((a) => a.value)).toEqual(args.map((a) => a.v));
        expect(command.args.every((a) => a.kind === 'string')).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('knows fatal from recoverable errors', () => {
    expect(() => tokenizeSieveLine('X "a\\q"')).toThrow(SieveParseError);
    expect(tokenizeSieveLine('AUTHENTICATE "PLAIN" {12+}')).toEqual({
      tokens: [
        { kind: 'atom', value: 'AUTHENTICATE' },
        { kind: 'string', value: 'PLAIN' },
      ],
      literal: 12,
    });
  });
});
