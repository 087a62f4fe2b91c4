import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PATH_LENGTH, parseCommand, parseLhloName, parseMailFrom, parseRcptTo } from '../../src/lmtp/parser.js';

const anyText = fc.string({ unit: 'binary', maxLength: 300 });
// strings made of the characters that matter to the grammar, so the fuzzer hits the edges often
const grammarText = fc.string({ unit: fc.constantFrom(...'<>@:," \\.=+-_aZ09[]\t\r\n\0\x7f\xe9'), maxLength: 80 });
const atom = fc.string({ unit: fc.constantFrom(..."abcXYZ019!#$%&'*+-/=?^_`{|}~"), minLength: 1, maxLength: 10 });
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const mailbox = fc.tuple(fc.array(atom, { minLength: 1, maxLength: 3 }), domain).map(([a, d]) => `${a.join('.')}@${d}`);
const param = fc
  .tuple(
    fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,10}$/),
    fc.option(fc.stringMatching(/^[!-<>-~]{1,20}$/), { nil: undefined }),
  )
  .map(([k, v]) => (v === undefined ? k : `${k}=${v}`));

/** Nothing Usher forwards to a backend may carry a line break or a NUL. */
const UNSAFE = /[\r\n\0]/;

describe('LMTP parser (fuzzed)', () => {
  it('never throws, and yields only upper-case verbs without control bytes', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, grammarText), (line) => {
        const cmd = parseCommand(line);
        if (cmd) {
          expect(cmd.verb).toMatch(/^[A-Z]{1,16}$/);
          expect(cmd.args).not.toMatch(UNSAFE);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on MAIL/RCPT arguments, and what it accepts is safe to forward', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          grammarText,
          grammarText.map((s) => `TO:<${s}`),
          grammarText.map((s) => `FROM:<${s}`),
        ),
        (args) => {
          for (const r of [parseMailFrom(args), parseRcptTo(args)]) {
            if (!r.ok) continue;
            expect(r.address).not.toMatch(UNSAFE);
            expect(r.address.length).toBeLessThan(MAX_PATH_LENGTH);
            for (const p of r.params) expect(p.raw).not.toMatch(/[\s\0<>]/);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('reads back every well-formed path with its parameters', () => {
    fc.assert(
      fc.property(mailbox, fc.array(param, { maxLength: 4 }), fc.boolean(), (addr, params, spaced) => {
        const tail = params.map((p) => ` ${p}`).join('');
        const r = parseRcptTo(`TO:${spaced ? ' ' : ''}<${addr}>${tail}`);
        expect(r).toEqual({
          ok: true,
          address: addr,
          params: params.map((raw) => {
            const eq = raw.indexOf('=');
            return {
              keyword: (eq < 0 ? raw : raw.slice(0, eq)).toUpperCase(),
              value: eq < 0 ? undefined : raw.slice(eq + 1),
              raw,
            };
          }),
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('knows the shapes MTAs send', () => {
    expect(parseMailFrom('FROM:<>')).toEqual({ ok: true, address: '', params: [] });
    expect(parseRcptTo('TO:<>').ok).toBe(false);
    expect(parseMailFrom('from:<A@B.example> BODY=8BITMIME SIZE=12')).toMatchObject({
      ok: true,
      address: 'A@B.example',
      params: [
        { keyword: 'BODY', value: '8BITMIME' },
        { keyword: 'SIZE', value: '12' },
      ],
    });
    expect(parseRcptTo('TO:<@relay.example,@b.example:user@c.example>')).toMatchObject({
      ok: true,
      address: 'user@c.example',
    });
    expect(parseRcptTo('TO:<"john doe>x"@example.com>')).toMatchObject({
      ok: true,
      address: '"john doe>x"@example.com',
    });
    expect(parseRcptTo('TO:<demo0001>')).toMatchObject({ ok: true, address: 'demo0001' });
    expect(parseRcptTo('TO:<user@[192.0.2.1]>')).toMatchObject({ ok: true, address: 'user@[192.0.2.1]' });
    expect(parseRcptTo('TO:<a@b.c> ORCPT=rfc822;a@b.c')).toMatchObject({
      ok: true,
      params: [{ keyword: 'ORCPT', value: 'rfc822;a@b.c' }],
    });
    for (const bad of [
      'TO:a@b.c',
      'TO:<a@b.c',
      'TO:<a@b.c>x',
      'TO:<a b@c>',
      'TO:<a@-b.c>',
      'TO:<a..b@c>',
      'TO:<a@b.c> =x',
      'TO:<a@b.c> K=',
      'TO:<a@b<c>',
      'TO:<""@x>',
      'RCPT:<a@b>',
    ]) {
      expect(parseRcptTo(bad).ok, bad).toBe(false);
    }
    // 256 octets with the brackets is the limit (RFC 5321 §4.5.3.1.3)
    expect(parseRcptTo(`TO:<${'a'.repeat(250)}@b.c>`).ok).toBe(true);
    expect(parseRcptTo(`TO:<${'a'.repeat(251)}@b.c>`).ok).toBe(false);
  });

  it('splits command lines and checks LHLO names', () => {
    expect(parseCommand('mail FROM:<a@b>  ')).toEqual({ verb: 'MAIL', args: 'FROM:<a@b>' });
    expect(parseCommand('QUIT')).toEqual({ verb: 'QUIT', args: '' });
    expect(parseCommand('')).toBeUndefined();
    expect(parseCommand('NO\0OP')).toBeUndefined();
    expect(parseCommand('DATA\r')).toBeUndefined();
    expect(parseCommand('R2D2 x')).toBeUndefined();
    expect(parseLhloName('mx1.example.com')).toBe('mx1.example.com');
    expect(parseLhloName('[192.0.2.1]')).toBe('[192.0.2.1]');
    expect(parseLhloName('two words')).toBeUndefined();
    expect(parseLhloName('')).toBeUndefined();
  });
});
