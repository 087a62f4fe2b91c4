import { execFile } from 'node:child_process';
import { lstatSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserHasher } from '@usher/core';
import { RingSimulation } from '@usher/ring';
import { describe, expect, it } from 'vitest';
import { parseAdminTcp, startDirectorAdmin } from '../../src/admin/start-admin.js';
import { loadConfig } from '../../src/config/load-config.js';

const exec = promisify(execFile);
const quiet = { debug() {}, info() {}, warn() {}, error() {}, close() {} };

describe('director_admin_tcp', () => {
  it('is off when empty, loopback for a bare port, as given otherwise', () => {
    expect(parseAdminTcp('')).toBeUndefined();
    expect(parseAdminTcp('9091')).toEqual({ address: '127.0.0.1', port: 9091 });
    expect(parseAdminTcp(':9091')).toEqual({ address: '127.0.0.1', port: 9091 });
    expect(parseAdminTcp('127.0.21.1:9091')).toEqual({ address: '127.0.21.1', port: 9091 });
    expect(parseAdminTcp('[::1]:9091')).toEqual({ address: '::1', port: 9091 });
    for (const bad of ['x', 'host:9091', '127.0.0.1:', '127.0.0.1:70000', '1.2.3.4:5:6']) {
      expect(() => parseAdminTcp(bad), bad).toThrow(/director_admin_tcp/);
    }
  });
});

describe('startDirectorAdmin', () => {
  it('serves the socket (mode from director_admin_socket_mode) and TCP, which doveadm both reach', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'usher-start-admin-'));
    const socket = join(dir, 'director-admin');
    const config = loadConfig({
      overrides: {
        director_mail_servers: '127.0.11.1 127.0.11.2',
        director_admin_socket: socket,
        director_admin_socket_mode: '0640',
        // a node's own address, any free port
        director_admin_tcp: '127.0.21.1:0',
      },
    });
    const sim = new RingSimulation({ nodes: 1, backends: ['127.0.11.1', '127.0.11.2'] });
    await sim.start();
    const admin = await startDirectorAdmin({
      config,
      ring: sim.node(sim.ids[0] as string),
      hasher: new UserHasher(),
      log: quiet,
    });
    try {
      expect(admin?.endpoints).toEqual([socket, expect.stringMatching(/^127\.0\.21\.1:\d+$/)]);
      expect(lstatSync(socket).mode & 0o777).toBe(0o640);
      const viaSocket = await exec('doveadm', ['-O', 'director', 'status', '-a', socket]);
      const viaTcp = await exec('doveadm', ['-O', 'director', 'status', '-a', admin?.endpoints[1] as string]);
      expect(viaTcp.stdout).toBe(viaSocket.stdout);
      expect(viaSocket.stdout).toMatch(/^mail server ip .*\n127\.0\.11\.1 .*\n127\.0\.11\.2 /);
    } finally {
      await admin?.close();
      await sim.stopAll();
    }
    expect(() => lstatSync(socket)).toThrow();
  });

  it('is off when both settings are empty', async () => {
    const config = loadConfig({ overrides: { director_mail_servers: '127.0.11.1', director_admin_socket: '' } });
    const sim = new RingSimulation({ nodes: 1, backends: ['127.0.11.1'] });
    await sim.start();
    const ring = sim.node(sim.ids[0] as string);
    expect(await startDirectorAdmin({ config, ring, hasher: new UserHasher(), log: quiet })).toBeUndefined();
    await sim.stopAll();
  });
});
