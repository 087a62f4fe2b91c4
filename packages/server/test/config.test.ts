import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDovecotSize, parseDovecotTime } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'usher-config-'));
function file(data: unknown): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof data === 'string' ? data : JSON.stringify(data));
  return path;
}

describe('Dovecot time and size values', () => {
  const TIMES: ReadonlyArray<[string | number, number | undefined]> = [
    ['15 min', 900_000],
    ['2 secs', 2000],
    ['30s', 30_000],
    ['1h', 3_600_000],
    ['500 ms', 500],
    [10, 10_000],
    ['10', 10_000],
    ['1 fortnight', undefined],
    ['', undefined],
  ];
  for (const [input, ms] of TIMES) it(`time ${JSON.stringify(input)}`, () => expect(parseDovecotTime(input)).toBe(ms));
  it('sizes', () => {
    expect(parseDovecotSize('10 M')).toBe(10 * 1024 * 1024);
    expect(parseDovecotSize('64k')).toBe(65536);
    expect(parseDovecotSize('0')).toBe(0);
    expect(parseDovecotSize('lots')).toBeUndefined();
  });
});

describe('loadConfig', () => {
  it('has Dovecot defaults', () => {
    const c = loadConfig();
    expect(c.userExpireSecs).toBe(900);
    expect(c.usernameHash).toBe('%Lu');
    expect(c.limits.authFailureDelayMs).toBe(2000);
    expect(c.limits.backendConnectTimeoutMs).toBe(30_000);
    expect(c.haproxyTimeoutMs).toBe(3000);
    expect(c.loginTrustedNetworks).toBe('');
  });

  it('reads a file and flags, flags last', () => {
    const path = file({
      director_mail_servers: '10.0.0.1 10.0.0.2',
      director_user_expire: '2 min',
      ssl_cert: '</etc/ssl/x.pem',
      listeners: [{ protocol: 'imap', address: '127.0.0.1', port: 1143, ssl: false }],
    });
    const c = loadConfig({ file: path, overrides: { director_user_expire: '5 min' } });
    expect(c.directorMailServers).toBe('10.0.0.1 10.0.0.2');
    expect(c.userExpireSecs).toBe(300);
    expect(c.sslCert).toBe('/etc/ssl/x.pem');
    expect(c.listeners).toEqual([
      { protocol: 'imap', address: '127.0.0.1', port: 1143, ssl: false, haproxy: false, tag: '' },
    ]);
  });

  it('names the setting in errors', () => {
    expect(() => loadConfig({ overrides: { director_user_expire: '5 s' } })).toThrow(/director_user_expire is too low/);
    expect(() => loadConfig({ overrides: { auth_failure_delay: 'soon' } })).toThrow(/auth_failure_delay/);
    expect(() => loadConfig({ file: file({ listeners: [{ protocol: 'smtp', address: 'x', port: 1 }] }) })).toThrow(
      /listeners\[0\]\.protocol/,
    );
    expect(() => loadConfig({ file: file({ no_such_setting: 1 }) })).toThrow(/no_such_setting/);
    expect(() => loadConfig({ file: file('{ not json') })).toThrow(ConfigError);
    expect(() => loadConfig({ file: join(dir, 'missing.json') })).toThrow(/cannot read/);
  });
});
