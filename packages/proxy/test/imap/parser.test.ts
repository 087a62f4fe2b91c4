import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { astring, CommandParser, type ImapArg, type ImapCommand, ImapParseError } from '../../src/imap/parser.js';

const LIMITS = { maxLiteralBytes: 65536, maxLineBytes: 8192 };

/** Drive the parser the way the session does: lines, and after each literal request its bytes. */
function parse(line: string, literals: string[] = [], rest: string[] = []): ImapCommand {
  const p = new CommandParser(LIMITS);
  let step = p.feedLine(Buffer.from(line, 'latin1'));
  let i = 0;
  while (step.kind === 'literal') {
    p.feedLiteral(Buffer.from(literals[i] ?? '', 'latin1'));
    step = p.feedLine(Buffer.from(rest[i] ?? '', 'latin1'));
    i++;
  }
  return step.command;
}

function parseError(line: string): ImapParseError {
  try {
    parse(line);
  } catch (e) {
    if (e instanceof ImapParseError) return e;
    throw e;
  }
  throw new Error(`parsed without error: ${line}`);
}

const str = (s: string): ImapArg => ({ type: 'string', value: Buffer.from(s, 'latin1'), literal: false });
const lit = (s: string): ImapArg => ({ type: 'string', value: Buffer.from(s, 'latin1'), literal: true });
const atom = (s: string): ImapArg => ({ type: 'atom', value: s });

describe('CommandParser', () => {
  it('reads tag, upper-cased command name and atoms', () => {
    expect(parse('a1 login demo0001 secret')).toEqual({
      tag: 'a1',
      name: 'LOGIN',
      args: [atom('demo0001'), atom('secret')],
    });
    expect(parse('x.y CAPABILITY')).toEqual({ tag: 'x.y', name: 'CAPABILITY', args: [] });
  });

  it('reads quoted strings with \\\\ and \\" escapes, and 8-bit text', () => {
    const cmd = parse('t LOGIN "a \\"b\\" c" "back\\\\slash" "p\xe4ss"');
    expect(cmd.args).toEqual([str('a "b" c'), str('back\\slash'), str('p\xe4ss')]);
  });

  it('reads NIL and nested lists', () => {
    expect(parse('t ID NIL').args).toEqual([{ type: 'nil' }]);
    expect(parse('t ID ("name" "x" "os" NIL)').args).toEqual([
      { type: 'list', items: [str('name'), str('x'), str('os'), { type: 'nil' }] },
    ]);
    expect(parse('t X (a (b c) ())').args).toEqual([
      {
        type: 'list',
        items: [atom('a'), { type: 'list', items: [atom('b'), atom('c')] }, { type: 'list', items: [] }],
      },
    ]);
  });

  it('asks for synchronising and LITERAL+ literals and continues after them', () => {
    const p = new CommandParser(LIMITS);
    expect(p.feedLine(Buffer.from('a LOGIN {8}'))).toEqual({ kind: 'literal', size: 8, synchronizing: true });
    p.feedLiteral(Buffer.from('demo0001'));
    expect(p.feedLine(Buffer.from(' {4+}'))).toEqual({ kind: 'literal', size: 4, synchronizing: false });
    p.feedLiteral(Buffer.from('de\r\n'));
    const step = p.feedLine(Buffer.alloc(0));
    expect(step).toEqual({
      kind: 'command',
      command: { tag: 'a', name: 'LOGIN', args: [lit('demo0001'), lit('de\r\n')] },
    });
  });

  it('accepts a literal inside a list', () => {
    expect(parse('a ID ({4}', ['name'], [' "x")']).args).toEqual([{ type: 'list', items: [lit('name'), str('x')] }]);
  });

  it('tolerates a trailing space, as Dovecot does', () => {
    expect(parse('a NOOP ')).toEqual({ tag: 'a', name: 'NOOP', args: [] });
  });

  it.each([
    ['', undefined],
    ['* NOOP', undefined],
    ['+ NOOP', undefined],
    ['"a" NOOP', undefined],
    ['a', 'a'],
    ['a  NOOP', 'a'],
    ['a LOGIN "unterminated', 'a'],
    ['a LOGIN "bad \\n escape"', 'a'],
    ['a LOGIN x)', 'a'],
    ['a ID (a', 'a'],
    ['a LOGIN ab{5}', 'a'],
    ['a LOGIN {5} x', 'a'],
    ['a LOGIN {x}', 'a'],
    ['a LOGIN "x"y', 'a'],
    ['a LOGIN \x01', 'a'],
  ])('rejects %j as a syntax error (tag %j)', (line, tag) => {
    const e = parseError(line);
    expect(e.code).toBe('SYNTAX');
    expect(e.tag).toBe(tag);
  });

  it('refuses literals beyond the pre-auth limit before any byte is read', () => {
    const p = new CommandParser({ maxLiteralBytes: 100, maxLineBytes: 8192 });
    expect(() => p.feedLine(Buffer.from('a LOGIN {101}'))).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', tag: 'a' }),
    );
    const q = new CommandParser({ maxLiteralBytes: 100, maxLineBytes: 8192 });
    q.feedLine(Buffer.from('a LOGIN {60}'));
    q.feedLiteral(Buffer.alloc(60, 0x61));
    expect(() => q.feedLine(Buffer.from(' {41+}'))).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(() => new CommandParser(LIMITS).feedLine(Buffer.from('a LOGIN {99999999999}'))).toThrow(ImapParseError);
  });

  it('astring() reads atoms, strings and NIL as text', () => {
    expect(astring(atom('x'))).toBe('x');
    expect(astring(str('p\xc3\xa4'))).toBe('pä');
    expect(astring({ type: 'nil' })).toBe('NIL');
    expect(astring({ type: 'list', items: [] })).toBeUndefined();
    expect(astring(undefined)).toBeUndefined();
  });
});

describe('CommandParser fuzzing', () => {
  /** Feeds a line, then for every literal request random bytes and another random line; max a few rounds. */
  function drive(first: Uint8Array, more: Uint8Array[], limits = { maxLiteralBytes: 64, maxLineBytes: 512 }): void {
    const p = new CommandParser(limits);
    let step = p.feedLine(Buffer.from(first));
    let i = 0;
    while (step.kind === 'literal') {
      p.feedLiteral(Buffer.alloc(step.size, 0x78));
      step = p.feedLine(Buffer.from(more[i % Math.max(1, more.length)] ?? new Uint8Array()));
      i++;
      if (i > 40) return;
    }
    expect(typeof step.command.tag).toBe('string');
    expect(step.command.name).toBe(step.command.name.toUpperCase());
  }

  function onlyTypedErrors(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (!(e instanceof ImapParseError)) throw e;
      expect(['SYNTAX', 'TOO_LARGE']).toContain(e.code);
    }
  }

  it('random bytes never throw anything but ImapParseError', () => {
    const line = fc.uint8Array({ maxLength: 300 }).map((a) => a.filter((b) => b !== 0x0a));
    fc.assert(
      fc.property(line, fc.array(line, { maxLength: 4 }), (first, more) => onlyTypedErrors(() => drive(first, more))),
      { numRuns: 3000 },
    );
  });

  it('mutated valid commands never throw anything but ImapParseError', () => {
    const seeds = [
      'a LOGIN demo0001 demo',
      'a LOGIN "demo\\"0001" {4}',
      'b AUTHENTICATE PLAIN AGRlbW8wMDAxAGRlbW8=',
      'c ID ("name" "x" "version" NIL)',
      'd LOGIN {8+}',
      'e ID ((("a")) {3})',
    ];
    const tokens = ['{', '}', '{5}', '{0+}', '(', ')', '"', '\\', ' ', 'NIL', '\r', '\0', '\xff', '{99999}', '*', '+'];
    const mutation = fc.record({
      at: fc.nat(),
      del: fc.nat({ max: 4 }),
      insert: fc.array(fc.constantFrom(...tokens), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(mutation, { maxLength: 4 }),
        fc.array(fc.constantFrom(...seeds, ' x', ')', ''), { maxLength: 3 }),
        (seed, muts, more) => {
          let s = seed;
          for (const m of muts) {
            const at = m.at % (s.length + 1);
            s = s.slice(0, at) + m.insert.join('') + s.slice(at + m.del);
          }
          onlyTypedErrors(() =>
            drive(
              Buffer.from(s, 'latin1'),
              more.map((x) => Buffer.from(x, 'latin1')),
            ),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('serialised argument trees parse back to themselves', () => {
    const text = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 12,
    });
    const atomText = fc
      .string({ unit: fc.constantFrom(...'abcXYZ019.-_[]%*+/='), minLength: 1, maxLength: 8 })
      .filter((s) => s.toUpperCase() !== 'NIL');
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        atomText.map((v): ImapArg => ({ type: 'atom', value: v })),
        text.map((v): ImapArg => ({ type: 'string', value: Buffer.from(v, 'latin1'), literal: false })),
        fc.constant<ImapArg>({ type: 'nil' }),
        fc.array(tie('tree'), { maxLength: 4 }).map((items): ImapArg => ({ type: 'list', items: items as ImapArg[] })),
      ),
    }));
    const write = (a: ImapArg): string => {
      switch (a.type) {
        case 'atom':
          return a.value;
        case 'nil':
          return 'NIL';
        case 'string':
          return `"${a.value.toString('latin1').replace(/(["\\])/g, '\\$1')}"`;
        case 'list':
          return `(${a.items.map(write).join(' ')})`;
      }
    };
    fc.assert(
      fc.property(fc.array(tree, { maxLength: 5 }), (args) => {
        const line = `t1 X${args.map((a) => ` ${write(a)}`).join('')}`;
        expect(parse(line).args).toEqual(args);
      }),
      { numRuns: 1000 },
    );
  });
});
