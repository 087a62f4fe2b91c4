import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashFormatError, UsernameFormat, userHash } from '../../src/index.js';

// Expected expansions were confirmed against Debian's doveadm 2.3.19.1 (see cli/test/doveadm-hash-compat.test.ts).
const EXPANSIONS: ReadonlyArray<[format: string, user: string, expanded: string]> = [
  ['%u', 'Test.User@Example.COM', 'Test.User@Example.COM'],
  ['%Lu', 'Test.User@Example.COM', 'test.user@example.com'],
  ['%Uu', 'Test.User@Example.COM', 'TEST.USER@EXAMPLE.COM'],
  ['%n', 'a@b@c', 'a'],
  ['%d', 'a@b@c', 'b@c'],
  ['%d', 'john', ''],
  ['%n', 'john', 'john'],
  ['%Ln', 'Test.User@Example.COM', 'test.user'],
  ['%Ld', 'Test.User@Example.COM', 'example.com'],
  ['%{user}', 'X@Y', 'X@Y'],
  ['%{username}', 'X@Y', 'X'],
  ['%{domain}', 'X@Y', 'Y'],
  ['%L{user}', 'X@Y', 'x@y'],
  ['%U{domain}', 'x@y.org', 'Y.ORG'],
  ['%3n', 'john@x', 'joh'],
  ['%1.3n', 'john@x', 'ohn'],
  ['%2.1u', 'john', 'h'],
  ['%-3.2n', 'john@x', 'oh'],
  ['%-3u', 'john', 'joh'], // a '-' without '.' is ignored
  ['%-10.3u', 'john', 'joh'], // negative offset past the start: from the start
  ['%100.2u', 'john', ''], // positive offset past the end: empty
  ['%0.-2u', 'john', 'jo'], // negative width: all but the last two
  ['%.-2u', 'john', 'jo'],
  ['%06n', 'john', '00john'],
  ['%06n', 'johnjohnjohn', 'johnjohnjohn'], // zero-padded width never truncates
  ['%1.06n', 'john', '000ohn'], // offset first, then padding
  ['%1.06n', '', '000000'],
  ['%Rn', 'john@x', 'nhoj'],
  ['%LRu', 'AB', 'ba'],
  ['%Eu', `O'B"x\\y`, `O\\'B\\"x\\\\y`],
  ['%Tu', 'john  \t', 'john'],
  ['%Dd', 'u@sub.domain.org', 'sub,dc=domain,dc=org'],
  ['%Hu', 'bob', '6952'], // ELF-style string hash, hex
  ['%256Hu', 'bob', '52'], // the width is a modulus
  ['%3.16Hu', 'bob', '002'], // the offset a zero-padded length
  ['%Nu', 'bob', '70ef21ca'], // MD5's first 8 bytes, printed through 32 bits
  ['%16Nu', 'bob', 'a'],
  ['%Xu', '255', 'ff'],
  ['%Xu', 'abc', '0'],
  ['%Mu', 'john', '527bd5b5d689e2c32ae974c6229ff785'],
  ['%n@%d', 'a@b', 'a@b'],
  ['x%%y%u', 'j', 'x%yj'],
  ['%L%u', 'J', '%u'], // after modifiers '%' is a variable worth "%"
  ['%-1.-1%0', 'j', '0'], // ... and the substring applies to it
  ['%5%x', 'j', '%x'],
  ['%u%', 'j', 'j'], // a trailing '%' expands to nothing
  ['%u%L', 'j', 'j'],
];

describe('director_username_hash expansion', () => {
  for (const [format, user, expanded] of EXPANSIONS) {
    it(`${format} of ${JSON.stringify(user)}`, () => {
      expect(new UsernameFormat(format).expand(user).toString('utf8')).toBe(expanded);
    });
  }

  it('cuts substrings in bytes, even inside a UTF-8 sequence', () => {
    expect([...new UsernameFormat('%3n').expand('\u00e9\u00e9')]).toEqual([0xc3, 0xa9, 0xc3]);
  });

  it('lowers ASCII only, as Dovecot in the C locale', () => {
    expect(new UsernameFormat('%Lu').expand('\u00c9\u0130K\u212a').toString('utf8')).toBe('\u00c9\u0130k\u212a');
  });

  const FAILURES = ['%x', '%{foo}', '%{user', '%{}', '%L2u', '%{L:user}', '%{lc:user}', '%{hostname}', '%{pid}'];
  for (const format of FAILURES) {
    it(`refuses ${format} with a typed error`, () => {
      expect(() => new UsernameFormat(format)).toThrow(HashFormatError);
    });
  }

  it('runs Dovecot 2.3 hash functions: %{alg[;option]:field}', () => {
    const fmt = (f: string, u = 'bob') => new UsernameFormat(f).expand(u).toString('latin1');
    expect(fmt('%{md5:user}')).toHaveLength(32);
    expect(fmt('%{md5;truncate=12:user}')).toBe(`0${fmt('%{md5:user}').slice(0, 3)}`); // top 12 bits, right-aligned
    expect(fmt('%{md5;truncate=8:user}')).toBe(fmt('%2{md5:user}'));
    // "salt=" swallows the rest of the options, ';' included
    expect(fmt('%{md5;salt=q;format=base64:user}')).toBe(createHash('md5').update('q;format=base64bob').digest('hex'));
    expect(fmt('%{sha1;format=base64:user}')).toBe(createHash('sha1').update('bob').digest('base64'));
    expect(fmt('%{sha256;rounds=2:user}')).toBe(
      createHash('sha256').update(createHash('sha256').update('bob').digest()).digest('hex'),
    );
    expect(() => new UsernameFormat('%{md5;rounds=2;salt=x:user}')).toThrow(HashFormatError); // two options: Dovecot fails
    expect(() => new UsernameFormat('%{md5;rounds=0:user}')).toThrow(HashFormatError);
    expect(() => new UsernameFormat('%{md5:hostname}')).toThrow(HashFormatError); // per-node value inside a hash
    expect(fmt('%{md5;bogus=1:user}')).toBe(fmt('%{md5:user}')); // unknown options are ignored, as in Dovecot
  });

  it('expands %{env:NAME} and a given %{hostname}', () => {
    expect(new UsernameFormat('%{env:X}-%u', { env: { X: 'a' } }).expand('j').toString()).toBe('a-j');
    expect(new UsernameFormat('%{env:UNSET}%u').expand('j').toString()).toBe('j');
    expect(new UsernameFormat('%{hostname}%u', { globals: { hostname: 'h' } }).expand('j').toString()).toBe('hj');
  });
});

describe('user hash (reference §2.2, verified against doveadm)', () => {
  const TABLE: ReadonlyArray<[string, string, number]> = [
    ['user@example.com', '%Lu', 3045693125],
    ['Test.User@Example.COM', '%Lu', 2809484398],
    ['john', '%Lu', 1383847349],
    ['jane.doe@example.org', '%Lu', 3030115526],
    ['Test.User@Example.COM', '%u', 4051985635],
    ['Test.User@Example.COM', '%Ln', 1052580675],
    ['user@example.com', '%Ln', 3994143665],
    ['user@example.com', '%Ld', 1522187616],
    ['john', '%Ld', 3558706393],
    ['jane.doe@example.org', '%Ln', 105236777],
    ['jane.doe@example.org', '%Ld', 467628768],
  ];
  for (const [user, format, hash] of TABLE) {
    it(`${format} ${user} = ${hash}`, () => expect(userHash(user, format)).toBe(hash));
  }

  it('maps an MD5 starting with four zero bytes to 1', () => {
    expect(userHash('hashzero-b00007ba12fdc', '%u')).toBe(1);
    expect(userHash('HashZero-B00007BA12FDC', '%Lu')).toBe(1);
    expect(userHash('HashZero-B00007BA12FDC', '%u')).not.toBe(1);
  });
});
