import { describe, expect, it } from 'vitest';
import { compareIp, parseIp, requireIp } from '../../src/index.js';

describe('IP text forms (glibc inet_ntop, as the director prints them)', () => {
  const TABLE: ReadonlyArray<[string, string]> = [
    ['10.1.0.1', '10.1.0.1'],
    ['2001:0DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:10.5.0.3', '::ffff:10.5.0.3'],
    ['::10.5.0.4', '::10.5.0.4'],
    ['::ffff:0:10.5.0.5', '::ffff:0:a05:5'],
    ['64:ff9b::10.5.0.6', '64:ff9b::a05:6'],
    ['0:0:1::', '0:0:1::'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['FD00:0:0:0:0:0:0:ABCD', 'fd00::abcd'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['::0.0.0.1', '::1'],
  ];
  for (const [input, text] of TABLE) {
    it(`${input} -> ${text}`, () => expect(parseIp(input)?.text).toBe(text));
  }

  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.256',
    '01.2.3.4',
    '1.2.3.4.5',
    ':::',
    '1::2::3',
    '12345::',
    'g::1',
    'host.example',
    '1:2:3:4:5:6:7:8:9',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => expect(parseIp(bad)).toBeUndefined());
  }

  it('orders IPv4 before IPv6, then by bytes', () => {
    const ips = ['fd00::1', '10.0.0.2', '::1', '10.0.0.10', '9.255.255.255'].map(requireIp);
    expect(ips.sort(compareIp).map((i) => i.text)).toEqual([
      '9.255.255.255',
      '10.0.0.2',
      '10.0.0.10',
      '::1',
      'fd00::1',
    ]);
  });
});
