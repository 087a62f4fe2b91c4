import { parseIp } from '@usher/core';
import { NetworkList, NetworkListError, normaliseIp } from '@usher/proxy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('NetworkList', () => {
  const list = NetworkList.parse('127.0.0.0/8 ::1, 10.0.0.0/8,2001:db8::/32\t192.0.2.7');

  it.each([
    ['127.1.2.3', true],
    ['128.0.0.1', false],
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['::1', true],
    ['::2', false],
    ['2001:db8:ffff::1', true],
    ['2001:db9::1', false],
    ['2001:DB8::1', true],
    ['::ffff:10.1.2.3', true],
    ['::ffff:192.0.2.7', true],
    ['::ffff:11.1.2.3', false],
    // IPv4-compatible (deprecated) is not IPv4-mapped
    ['::10.1.2.3', false],
    ['not-an-ip', false],
    ['', false],
  ])('contains(%s) = %s', (ip, expected) => {
    expect(list.contains(ip)).toBe(expected);
  });

  it('matches an IPv6 mapped-range entry against plain IPv4 peers', () => {
    const mapped = NetworkList.parse('::ffff:10.0.0.0/104');
    expect(mapped.contains('10.9.9.9')).toBe(true);
    expect(mapped.contains('::ffff:10.9.9.9')).toBe(true);
    expect(mapped.contains('11.9.9.9')).toBe(false);
  });

  it('ignores a scope id', () => {
    expect(NetworkList.parse('fe80::/10').contains('fe80::1%eth0')).toBe(true);
  });

  it('clears host bits, as Dovecot does', () => {
    const l = NetworkList.parse('10.1.2.3/8 2001:db8::1/32');
    expect(l.contains('10.200.0.1')).toBe(true);
    expect(l.toString()).toBe('10.0.0.0/8 2001:db8::/32');
  });

  it('handles /0 and odd prefixes', () => {
    expect(NetworkList.parse('0.0.0.0/0').contains('203.0.113.1')).toBe(true);
    expect(NetworkList.parse('0.0.0.0/0').contains('2001:db8::1')).toBe(false);
    expect(NetworkList.parse('::/0').contains('2001:db8::1')).toBe(true);
    const odd = NetworkList.parse('192.0.2.64/27');
    expect(odd.contains('192.0.2.95')).toBe(true);
    expect(odd.contains('192.0.2.96')).toBe(false);
    expect(odd.contains('192.0.2.63')).toBe(false);
  });

  it('an empty list contains nothing', () => {
    expect(NetworkList.parse('').isEmpty).toBe(true);
    expect(NetworkList.parse(' , ').contains('127.0.0.1')).toBe(false);
    expect(NetworkList.empty.contains('127.0.0.1')).toBe(false);
  });

  it.each(['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', '10.0.0/8', 'localhost', '10.0.0.0/8/8', '/8'])(
    'rejects %s with an error naming the entry',
    (entry) => {
      const run = () => NetworkList.parse(`127.0.0.1 ${entry}`);
      expect(run).toThrow(NetworkListError);
      try {
        run();
      } catch (e) {
        expect((e as NetworkListError).context).toEqual({ entry });
        expect((e as NetworkListError).message).toContain(entry);
      }
    },
  );

  it('agrees with a bit-by-bit reference for random networks and addresses', () => {
    const bits = (b: Uint8Array) => [...b].map((x) => x.toString(2).padStart(8, '0')).join('');
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 32 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.boolean(),
        (net, prefix, addr, mapped) => {
          const l = NetworkList.parse(`${net.join('.')}/${prefix}`);
          const expected = bits(net).slice(0, prefix) === bits(addr).slice(0, prefix);
          const text = mapped ? `::ffff:${addr.join('.')}` : addr.join('.');
          expect(l.contains(text)).toBe(expected);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 128 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (net, prefix, addr) => {
          const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').match(/.{4}/g)?.join(':') as string;
          const l = NetworkList.parse(`${hex(net)}/${prefix}`);
          const expected = bits(net).slice(0, prefix) === bits(addr).slice(0, prefix);
          expect(l.contains(hex(addr))).toBe(expected);
        },
      ),
    );
  });
});

describe('normaliseIp', () => {
  it('unmaps IPv4-mapped IPv6 and canonicalises the rest', () => {
    expect(normaliseIp('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normaliseIp('::FFFF:c000:0201')).toBe('192.0.2.1');
    expect(normaliseIp('192.0.2.1')).toBe('192.0.2.1');
    expect(normaliseIp('2001:DB8:0::1')).toBe(parseIp('2001:db8::1')?.text);
    expect(normaliseIp('::1')).toBe('::1');
    expect(normaliseIp('fe80::1%eth0')).toBe('fe80::1%eth0');
  });
});
