import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DirectorNode, startDirectorNode, type ToolResult, usheradm } from './director-node.js';

/**
 * usheradm over the gRPC admin API (admin.proto, mTLS and a token) against a running usherd, beside
 * usheradm over the same node's director-admin socket: every answer must be the same bytes and
 * exit code, every change must leave the node in the same state, and a caller without the
 * credentials gets nothing.
 */
const HASH = '%Ln';
const SELF = '127.0.34.1';
const [B1, B2, B3] = ['127.0.34.11', '127.0.34.12', '127.0.34.13'];
const CERTS = fileURLToPath(new URL('../../../deploy/certs/make-ring-certs.sh', import.meta.url));
const TOKEN = 'c2VjcmV0LWFkbWluLXRva2VuLWZvci10ZXN0cw';
const PORT = 19434;

let node: DirectorNode;
let certs: string;
let other: string;
let tokenFile: string;

const grpcArgs = (extra: readonly string[] = []) => [
  '--grpc',
  `${SELF}:${PORT}`,
  '--ca',
  join(certs, 'ca.pem'),
  '--cert',
  join(certs, '127.0.34.9.pem'),
  '--key',
  join(certs, '127.0.34.9.key'),
  '--token-file',
  tokenFile,
  ...extra,
];
const viaSocket = (args: readonly string[], hashed = false) => usheradm(node.socket, args, hashed ? HASH : undefined);
const viaGrpc = (args: readonly string[], hashed = false, where = grpcArgs()) =>
  usheradm(node.socket, args, hashed ? HASH : undefined, where);

/** The same read-only question both ways. */
async function same(args: readonly string[], hashed = false): Promise<ToolResult> {
  const s = await viaSocket(args, hashed);
  const g = await viaGrpc(args, hashed);
  expect(g, args.join(' ')).toEqual(s);
  return s;
}

/** The same change both ways, the node put back by `undo` in between; the resulting tables must match. */
async function sameChange(args: readonly string[], undo: () => Promise<unknown>, hashed = false): Promise<ToolResult> {
  const s = await viaSocket(args, hashed);
  const after = await table();
  await undo();
  const g = await viaGrpc(args, hashed);
  expect(g, args.join(' ')).toEqual(s);
  expect(await table(), `state after ${args.join(' ')}`).toBe(after);
  return g;
}

async function table(): Promise<string> {
  return (await viaSocket(['status'])).stdout.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, '<changed>');
}

beforeAll(async () => {
  const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'usher-grpc-admin-'));
  certs = join(dir, 'certs');
  other = join(dir, 'other');
  execFileSync('bash', [CERTS, certs, SELF, '127.0.34.9']);
  execFileSync('bash', [CERTS, other, '127.0.34.9']);
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  chmodSync(tokenFile, 0o600);
  node = await startDirectorNode(`${B1} ${B2} ${B3}`, HASH, {
    admin_grpc_listen: `${SELF}:${PORT}`,
    admin_grpc_ssl_cert: join(certs, `${SELF}.pem`),
    admin_grpc_ssl_key: join(certs, `${SELF}.key`),
    admin_grpc_ssl_client_ca: join(certs, 'ca.pem'),
    admin_grpc_token_file: tokenFile,
  });
  for (const [i, user] of ['demo0001', 'demo0002', 'demo0003'].entries()) {
    expect((await viaSocket(['move', user, [B1, B2, B3][i] as string], true)).code).toBe(0);
  }
}, 30_000);

afterAll(async () => {
  await node?.stop();
});

describe('usheradm over the gRPC admin API answers as over the socket', () => {
  it('status, status USER, map -f, dump, ring status, and their --json', async () => {
    expect((await same(['status'])).stdout).toMatch(/^mail server ip .*\n127\.0\.34\.11 /s);
    expect((await same(['status', 'demo0002'])).stdout).toMatch(/^Current: 127\.0\.34\.12 \(expires /);
    await same(['status', 'nobody-yet']);
    await same(['status', 'demo0002', 'sometag']);
    const file = join(node.dir, 'users.txt');
    writeFileSync(file, 'demo0001\ndemo0002\ndemo0003\nnot-assigned\n');
    await same(['map', '-f', file], true);
    await same(['map', '-f', file, B2], true);
    await same(['map'], true);
    // dump repeats -a in the commands it prints; over gRPC there is no socket to repeat
    const dumped = await viaGrpc(['dump']);
    const socketDump = await viaSocket(['dump']);
    expect(dumped).toEqual({ ...socketDump, stdout: socketDump.stdout.replaceAll(`-a ${node.socket} `, '') });
    await same(['ring', 'status']);
    for (const args of [['status'], ['status', 'demo0001'], ['dump'], ['ring', 'status'], ['map', '-f', file]]) {
      await same([...args, '--json'], args[0] === 'map');
    }
  });

  it('add, update, down, up, remove, with the same errors and exit codes', async () => {
    await sameChange(['add', '-t', 't1', '127.0.34.14', '50'], () => viaSocket(['remove', '127.0.34.14']));
    expect((await same(['add', '127.0.34.14@t2'])).code).toBe(75);
    expect((await same(['update', '127.0.34.14', '1001'])).code).toBe(75);
    await sameChange(['-v', 'update', '127.0.34.14', '20'], () => viaSocket(['update', '127.0.34.14', '50']));
    await sameChange(['-v', 'down', B2], () => viaSocket(['up', B2]));
    await sameChange(['up', B2], () => viaSocket(['down', B2]));
    const removed = await sameChange(['remove', '127.0.34.14'], () =>
      viaSocket(['add', '-t', 't1', '127.0.34.14', '20']),
    );
    expect(removed.code).toBe(0);
    expect((await same(['remove', '127.0.34.14'])).code).toBe(68);
  });

  it('move, kick, kick -f, flush, flush -F, flush all', async () => {
    await sameChange(['-v', 'move', 'demo0001', B3], () => viaSocket(['move', 'demo0001', B1], true), true);
    await same(['move', 'demo0001', B1], true);
    await same(['-v', 'kick', 'demo0001']);
    await same(['kick', '-f', 'user_alt', 'demo0001']);
    await sameChange(['-v', 'flush', B2], () => viaSocket(['move', 'demo0002', B2], true));
    await sameChange(['flush', '-F', B3], () => viaSocket(['move', 'demo0003', B3], true));
    await same(['flush', '--max-parallel', '2', 'all']);
  });

  it('ring add and ring remove', async () => {
    await sameChange(['ring', 'add', '127.0.34.3', '9091'], () => viaSocket(['ring', 'remove', '127.0.34.3', '9091']));
    await sameChange(['ring', 'remove', '127.0.34.3', '9091'], () => viaSocket(['ring', 'add', '127.0.34.3', '9091']));
    expect((await same(['ring', 'remove', '127.0.34.3', '9999'])).code).toBe(68);
  });
});

describe('the gRPC admin API lets in only who holds the credentials', () => {
  const without = (flag: string) => {
    const a = grpcArgs();
    const i = a.indexOf(flag);
    a.splice(i, 2);
    return a;
  };

  it('refuses a call without the token, or with a wrong one', async () => {
    const r = await viaGrpc(['status'], false, without('--token-file'));
    expect(r.code).toBe(75);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Error: grpc 127\.0\.34\.1:19434: 16 UNAUTHENTICATED: admin token missing or wrong$/m);
    const wrong = join(node.dir, 'wrong-token');
    writeFileSync(wrong, 'not-the-token-at-all-but-long\n');
    const w = await viaGrpc(['status'], false, [...without('--token-file'), '--token-file', wrong]);
    expect(w.code).toBe(75);
    expect(w.stdout).toBe('');
  });

  it('refuses a client without a certificate, or with one from another CA', async () => {
    const noCert = grpcArgs().filter(
      (_, i, a) => !['--cert', '--key'].includes(a[i] as string) && !['--cert', '--key'].includes(a[i - 1] as string),
    );
    const n = await viaGrpc(['status'], false, noCert);
    expect(n.code).toBe(75);
    expect(n.stdout).toBe('');
    const foreign = grpcArgs()
      .map((v) => v.replace(certs, other))
      .map((v, i, a) => (a[i - 1] === '--ca' ? join(certs, 'ca.pem') : v));
    const f = await viaGrpc(['status'], false, foreign);
    expect(f.code).toBe(75);
    expect(f.stdout).toBe('');
    // and usherd says so, with the reason (grpc-js alone would refuse them silently)
    await expect.poll(() => node.log(), { timeout: 5000 }).toMatch(/admin client refused.*no client certificate/);
    await expect
      .poll(() => node.log(), { timeout: 5000 })
      .toMatch(/admin client refused.*not issued by admin_grpc_ssl_client_ca/);
  });

  it('refuses a plaintext client on the TLS port, and a server certificate from another CA', async () => {
    const plain = await viaGrpc(['status'], false, ['--grpc', `${SELF}:${PORT}`, '--token-file', tokenFile]);
    expect(plain.code).toBe(75);
    const wrongCa = grpcArgs().map((v, i, a) => (a[i - 1] === '--ca' ? join(other, 'ca.pem') : v));
    const w = await viaGrpc(['status'], false, wrongCa);
    expect(w.code).toBe(75);
    expect(w.stdout).toBe('');
  });

  it('takes its target and credentials from USHERADM_* too', async () => {
    const env = {
      USHERADM_GRPC: `${SELF}:${PORT}`,
      USHERADM_CA: join(certs, 'ca.pem'),
      USHERADM_CERT: join(certs, '127.0.34.9.pem'),
      USHERADM_KEY: join(certs, '127.0.34.9.key'),
      USHERADM_TOKEN_FILE: tokenFile,
    };
    Object.assign(process.env, env);
    try {
      const r = await usheradm(node.socket, ['status'], undefined, []);
      expect(r).toEqual(await viaSocket(['status']));
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
    }
  });
});
