import { describe, expect, it } from 'vitest';
import { renderTable } from '../src/admin-client/doveadm-table.js';

// Expected lines are what Debian's doveadm 2.3.19 printed for these rows (captured against a
// scripted director-admin socket), trailing spaces included.
describe("doveadm's table layout", () => {
  it('pads the last column with half the spare width (director status)', () => {
    const cols = ['mail server ip', 'tag', 'vhosts', 'state', 'state changed', 'users'].map((title) => ({ title }));
    expect(
      renderTable(cols, [
        ['127.0.11.1', '', '100', 'up', '-', '3'],
        ['127.0.11.2', 'tagx', '0', 'down', '2023-11-14 22:13:20', '12'],
      ]),
    ).toEqual([
      'mail server ip tag  vhosts state state changed       users           ',
      '127.0.11.1          100    up    -                   3               ',
      '127.0.11.2     tagx 0      down  2023-11-14 22:13:20 12              ',
    ]);
  });

  it('gives the spare width to the expanding column (director map)', () => {
    const cols = [
      { title: 'user', expand: true },
      { title: 'hash' },
      { title: 'mail server ip' },
      { title: 'expire time' },
    ];
    expect(
      renderTable(cols, [
        ['<unknown>', '3045693125', '127.0.11.1', '2023-11-14 22:28:20'],
        ['<unknown>', '1383847349', '127.0.11.2', '2023-11-14 22:28:20'],
      ]),
    ).toEqual([
      'user                  hash       mail server ip expire time        ',
      '<unknown>             3045693125 127.0.11.1     2023-11-14 22:28:20',
      '<unknown>             1383847349 127.0.11.2     2023-11-14 22:28:20',
    ]);
  });

  it('shrinks a table wider than 80 columns from the right (director ring status)', () => {
    const cols = [
      'director ip',
      'port',
      'type',
      'last failed',
      'status',
      'ping ms',
      'input',
      'output',
      'buffered',
      'buffered peak',
      'last read',
      'last write',
    ].map((title) => ({ title }));
    expect(
      renderTable(cols, [
        ['127.0.21.1', '9090', 'self', 'never', 'ring synced', '43', '-', '-', '-', '-', '-', '-'],
        [
          '127.0.21.2',
          '9090',
          'right',
          'never',
          'synced',
          '43',
          '146',
          '1263',
          '0',
          '251',
          '2023-11-14 22:13:20',
          '2023-11-14 22:13:21',
        ],
        ['127.0.21.3', '9090', '', 'never', '', '-', '-', '-', '-', '-', '-', '-'],
      ]),
    ).toEqual([
      'director ip port type last failed status ping ms input output buffered buffered peak last read  last write',
      '127.0.21.1 9090 self never    ring synced 43   -   -    -     -       -          -         ',
      '127.0.21.2 9090 right never    synced 43   146 1263 0     251     2023-11-14 22:13:20 2023-11-14 22:13:21',
      '127.0.21.3 9090     never           -    -   -    -     -       -          -         ',
    ]);
  });

  it('prints no title line when every title is hidden, and counts characters, not bytes', () => {
    expect(renderTable([{ title: 'hash', hideTitle: true }], [['3045693125']])).toEqual(['3045693125'.padEnd(45)]);
    const cols = [{ title: 'user', expand: true }, { title: 'x' }];
    const [, row] = renderTable(cols, [['Jos\u00e9', '1']], 20);
    expect(row).toBe(`Jos\u00e9${' '.repeat(7)} 1`);
  });
});
