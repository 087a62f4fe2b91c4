import { describe, expect, it } from 'vitest';
import { HostSpecError, parseMailServers } from '../../src/index.js';

const texts = (spec: string, extended = false) =>
  parseMailServers(spec, { extended }).map(
    (e) => (e.kind === 'ip' ? e.ip.text : `name:${e.name}`) + (e.tag ? `@${e.tag}` : ''),
  );

describe('director_mail_servers syntax', () => {
  it('reads IPs, tags and names (names are resolved at the edge, not here)', () => {
    expect(texts('10.4.0.1 10.4.0.3@blue  2001:DB8::1@red mail-1.example.com')).toEqual([
      '10.4.0.1',
      '10.4.0.3@blue',
      '2001:db8::1@red',
      'name:mail-1.example.com',
    ]);
  });

  it('expands ranges inclusively, keeping the tag', () => {
    expect(texts('10.0.0.1-10.0.0.40')).toHaveLength(40);
    expect(texts('10.0.0.254-10.0.0.255@t')).toEqual(['10.0.0.254@t', '10.0.0.255@t']);
    expect(texts('2001:db8::fffe-2001:db8::ffff')).toEqual(['2001:db8::fffe', '2001:db8::ffff']);
    expect(texts('10.0.0.7-10.0.0.7')).toEqual(['10.0.0.7']);
  });

  const BAD = [
    '10.0.0.5-10.0.0.1', // descending
    '10.0.0.1-10.0.1.1', // more than the last 8 bits differ
    '10.0.0.1-2001:db8::1', // families differ
    '2001:db8::fffe-2001:db8::1:0', // more than the last 16 bits differ
    '999.1.1.1',
    'bad_host!',
  ];
  for (const spec of BAD) {
    it(`rejects ${spec}`, () => expect(() => parseMailServers(spec)).toThrow(HostSpecError));
  }

  it('takes =VHOSTS and :down only in the extended (usheradm) syntax', () => {
    const [e] = parseMailServers('2001:db8::1@t=37:down', { extended: true });
    expect(e).toMatchObject({ kind: 'ip', tag: 't', vhostCount: 37, down: true });
    expect(() => parseMailServers('10.0.0.1=37')).toThrow(HostSpecError);
    expect(() => parseMailServers('10.0.0.1=1001', { extended: true })).toThrow(HostSpecError);
  });
});
