import { execFile } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserHasher } from '@usher/core';
import { RingSimulation } from '@usher/ring';
import { describe, expect, it } from 'vitest';
import { createAdminApi, parseAdminTcp, startDirectorAdmin } from '../../src/admin/start-admin.js';
import { startAdminGrpc } from '../../src/admin/start-admin-grpc.js';
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
    const api = await createAdminApi({
      config,
      ring: sim.node(sim.ids[0] as string),
      hasher: new UserHasher(),
      log: quiet,
    });
    const admin = await startDirectorAdmin({ config, api, log: quiet });
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
    const api = await createAdminApi({ config, ring, hasher: new UserHasher(), log: quiet });
    expect(await startDirectorAdmin({ config, api, log: quiet })).toBeUndefined();
    expect(await startAdminGrpc({ config, api, log: quiet })).toBeUndefined();
    await sim.stopAll();
  });
});

describe('startAdminGrpc', () => {
  const dir = mkdtempSync(join(tmpdir(), 'usher-start-admin-grpc-'));
  const token = join(dir, 'token');
  writeFileSync(token, 'a-token-long-enough-for-admin\n');
  chmodSync(token, 0o600);
  const short = join(dir, 'short');
  writeFileSync(short, 'abc\n');
  const start = async (settings: Record<string, unknown>) => {
    const config = loadConfig({
      overrides: { director_mail_servers: '127.0.11.1', director_admin_socket: '', ...settings },
    });
    const sim = new RingSimulation({ nodes: 1, backends: ['127.0.11.1'] });
    await sim.start();
    try {
      const api = await createAdminApi({
        config,
        ring: sim.node(sim.ids[0] as string),
        hasher: new UserHasher(),
        log: quiet,
      });
      const server = await startAdminGrpc({ config, api, log: quiet });
      await server?.close();
      return server?.address;
    } finally {
      await sim.stopAll();
    }
  };

  it('serves a token-protected API on loopback without TLS', async () => {
    expect(await start({ admin_grpc_listen: '127.0.21.1:0', admin_grpc_token_file: token })).toMatch(
      /^127\.0\.21\.1:\d+$/,
    );
  });

  it('refuses settings that would make an unsafe or broken service, naming the setting', async () => {
    await expect(start({ admin_grpc_listen: '127.0.21.1:0' })).rejects.toThrow(
      /admin_grpc_listen needs admin_grpc_ssl_client_ca or admin_grpc_token_file/,
    );
    await expect(start({ admin_grpc_listen: '0.0.0.0:0', admin_grpc_token_file: token })).rejects.toThrow(
      /admin_grpc_listen: .*loopback/,
    );
    await expect(
      start({ admin_grpc_listen: '127.0.21.1:0', admin_grpc_token_file: token, admin_grpc_ssl_cert: token }),
    ).rejects.toThrow(/admin_grpc_ssl_cert and admin_grpc_ssl_key go together/);
    await expect(start({ admin_grpc_listen: '127.0.21.1:0', admin_grpc_token_file: short })).rejects.toThrow(
      /admin_grpc_token_file: .*at least 16 characters/,
    );
    await expect(
      start({ admin_grpc_listen: '127.0.21.1:0', admin_grpc_token_file: join(dir, 'missing') }),
    ).rejects.toThrow(/admin_grpc_token_file: cannot read/);
  });
});
