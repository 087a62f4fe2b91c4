import { Pop3ParseError, parsePop3Command } from '@usher/proxy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** Parse, and let only the typed error out. */
function tryParse(line: Buffer | string) {
  try {
    return parsePop3Command(line);
  } catch (e) {
    expect(e).toBeInstanceOf(Pop3ParseError);
    return undefined;
  }
}

describe('parsePop3Command', () => {
  it('throws nothing but Pop3ParseError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        tryParse(Buffer.from(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  it('throws nothing but Pop3ParseError on command-like text', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9=+/*{}\\-]{0,12}$/);
    const line = fc
      .array(word, { maxLength: 6 })
      .chain((ws) => fc.constantFrom(' ', '  ', '\t', '\0').map((sep) => ws.join(sep)));
    fc.assert(
      fc.property(line, (l) => {
        tryParse(l);
      }),
      { numRuns: 5000 },
    );
  });

  it('keeps the keyword upper-cased, the arguments, and the raw rest of the line', () => {
    const keyword = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,5}$/);
    const arg = fc.stringMatching(/^[!-~]{1,20}$/);
    fc.assert(
      fc.property(keyword, fc.array(arg, { maxLength: 4 }), (k, args) => {
        const parsed = parsePop3Command(args.length > 0 ? `${k} ${args.join(' ')}` : k);
        expect(parsed.name).toBe(k.toUpperCase());
        expect(parsed.args).toEqual(args);
        expect(parsed.rest).toBe(args.join(' '));
      }),
    );
  });

  it('passes spaces in a password through in `rest`', () => {
    expect(parsePop3Command('pass  my secret ').rest).toBe(' my secret ');
    expect(parsePop3Command('AUTH PLAIN =').args).toEqual(['PLAIN', '=']);
  });

  it('rejects empty lines, control characters and junk keywords', () => {
    for (const bad of ['', 'US\0ER x', 'USER a\rPASS b', '{5}', ' USER', '\u00e9TAT']) {
      expect(() => parsePop3Command(bad)).toThrow(Pop3ParseError);
    }
  });
});
