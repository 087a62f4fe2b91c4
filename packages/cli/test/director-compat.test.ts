import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DirectorNode, doveadm, startDirectorNode, type ToolResult, usheradm } from './director-node.js';
import { requireDoveadm } from './require-doveadm.js';

/**
 * usheradm beside Debian's doveadm, asking a running usherd the same questions: the answers must
 * be the same bytes on stdout, the same exit code and (where usheradm adds no warning) the same
 * stderr. Changes are made once by each tool, with the node put back in between.
 */
const HASH = '%Ln';
const [B1, B2, B3] = ['127.0.11.1', '127.0.11.2', '127.0.11.3'];
const USERS = ['demo0001', 'demo0002', 'demo0003'];
let node: DirectorNode;

const dove = (args: readonly string[]) => doveadm(node.socket, args, HASH);
const usher = (args: readonly string[], hashed = false) => usheradm(node.socket, args, hashed ? HASH : undefined);

/** Both tools, read-only question. */
async function same(args: readonly string[], opts: { hashed?: boolean; stderr?: boolean } = {}): Promise<ToolResult> {
  const d = await dove(args);
  const u = await usher(args, opts.hashed);
  expect({ stdout: u.stdout, code: u.code }, args.join(' ')).toEqual({ stdout: d.stdout, code: d.code });
  if (opts.stderr !== false) expect(u.stderr, args.join(' ')).toBe(d.stderr);
  return d;
}

/** Both tools make the same change, the node restored by `undo` in between. */
async function sameChange(
  args: readonly string[],
  undo: () => Promise<unknown>,
  opts: { hashed?: boolean; stderr?: boolean } = {},
): Promise<ToolResult> {
  const d = await dove(args);
  const after = await table();
  await undo();
  const u = await usher(args, opts.hashed);
  expect({ stdout: u.stdout, code: u.code }, args.join(' ')).toEqual({ stdout: d.stdout, code: d.code });
  if (opts.stderr !== false) expect(u.stderr, args.join(' ')).toBe(d.stderr);
  expect(await table(), `state after ${args.join(' ')}`).toBe(after);
  return d;
}

/** The backend table; the two changes happen a moment apart, so the time of an up/down change may differ. */
async function table(): Promise<string> {
  return (await dove(['status'])).stdout.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, '<changed>');
}

beforeAll(async () => {
  requireDoveadm();
  node = await startDirectorNode(`${B1} ${B2} ${B3}`, HASH);
  // assignments for map and status USER: a move creates the user where it is sent
  for (const [i, user] of USERS.entries()) {
    expect((await dove(['move', user, [B1, B2, B3][i] as string])).code).toBe(0);
  }
}, 30_000);

afterAll(async () => {
  await node?.stop();
});

describe('usheradm director gives the answers doveadm gives', () => {
  it('status, status USER [TAG], dump, ring status', async () => {
    expect((await same(['status'])).stdout).toMatch(/^mail server ip /);
    expect((await same(['status', 'demo0002'])).stdout).toMatch(new RegExp(`^Current: ${B2} \\(expires `));
    await same(['status', 'nobody-yet']);
    await same(['status', 'demo0002', 'sometag']);
    await same(['dump']);
    await same(['ring', 'status']);
  });

  it('map -f FILE [HOST]', async () => {
    const file = join(node.dir, 'users.txt');
    writeFileSync(file, 'demo0001\ndemo0002\ndemo0003\nnot-assigned\n');
    expect((await same(['map', '-f', file], { hashed: true })).stdout.split('\n')).toHaveLength(5);
    await same(['map', '-f', file, B2], { hashed: true });
    await same(['map', '-f', join(node.dir, 'users.txt'), B3], { hashed: true });
  });

  it('add, add -t, add ip@tag, update, remove, with the same errors and exit codes', async () => {
    await sameChange(['-v', 'remove', B3], () => dove(['add', B3]), { stderr: false });
    await same(['remove', B3]);
    await same(['up', B3]);
    await sameChange(['-v', 'add', '-t', 't1', B3, '50'], () => dove(['remove', B3]));
    await same(['add', `${B3}@t2`]);
    await same(['update', B3, '1001']);
    await sameChange(['update', B3, '20'], () => dove(['update', B3, '50']));
    await dove(['remove', B3]);
    await sameChange(['add', `${B3}@t2`], () => dove(['remove', B3]));
    await dove(['remove', B3]);
    await sameChange(['add', B3], () => dove(['remove', B3]));
    expect((await usher(['add', '12345'])).code).toBe((await dove(['add', '12345'])).code);
  });

  it('down, up, with and without -v', async () => {
    await sameChange(['-v', 'down', B2], () => dove(['up', B2]));
    await same(['down', B2]);
    await sameChange(['up', B2], () => dove(['down', B2]));
    await same(['-v', 'up', B2]);
  });

  it('move, kick, kick -f', async () => {
    await sameChange(['-v', 'move', 'demo0001', B3], () => dove(['move', 'demo0001', B1]), { hashed: true });
    await same(['move', 'demo0001', B1], { hashed: true });
    await same(['-v', 'kick', 'demo0001']);
    await same(['kick', '-f', 'user_alt', 'demo0001']);
  });

  it('flush HOST, flush -F HOST (usheradm warns), flush all, --max-parallel', async () => {
    await dove(['move', 'demo0002', B2]);
    await dove(['move', 'demo0003', B3]);
    await sameChange(['-v', 'flush', B2], () => dove(['move', 'demo0002', B2]));
    const forced = await sameChange(['flush', '-F', B3], () => dove(['move', 'demo0003', B3]), { stderr: false });
    expect((await usher(['flush', '-F', B3])).stderr).toMatch(/^Warning: flush -F drops assignments without kicking/);
    expect(forced.stderr).toBe('');
    await same(['-v', 'flush', 'all']);
    await same(['flush', '--max-parallel', '2', 'all']);
    await same(['-v', 'flush', '--max-parallel', '2', B1]);
  });

  it('ring add / ring remove, and an unknown member', async () => {
    await sameChange(['ring', 'add', '127.0.21.3', '9091'], () => dove(['ring', 'remove', '127.0.21.3', '9091']));
    await sameChange(['ring', 'remove', '127.0.21.3', '9091'], () => dove(['ring', 'add', '127.0.21.3', '9091']));
    await same(['ring', 'remove', '127.0.21.3', '9999']);
  });

  it('a node that is not there', async () => {
    const gone = join(node.dir, 'nothing-here');
    const d = await doveadm(gone, ['status'], HASH);
    const u = await usheradm(gone, ['status']);
    expect(u.code).toBe(d.code);
    expect(u.stdout).toBe('');
  });
});

describe('usheradm director --json', () => {
  it('status, status USER, map, dump and ring status as JSON', async () => {
    const hosts = JSON.parse((await usher(['status', '--json'])).stdout) as { ip: string; state: string }[];
    expect(hosts.map((h) => h.ip)).toEqual([B1, B2, B3]);
    const [current, hashed, initial] = (await dove(['status', 'demo0002'])).stdout
      .split('\n')
      .map((l) => l.split(' ')[l.startsWith('Initial') ? 2 : 1]);
    const user = JSON.parse((await usher(['status', 'demo0002', '--json'])).stdout);
    expect(user).toMatchObject({ current, hashed, initialConfig: initial });
    expect(typeof user.expires).toBe('number');
    const map = JSON.parse((await usher(['map', '-f', join(node.dir, 'users.txt'), '--json'], true)).stdout);
    expect(map.find((r: { user: string }) => r.user === 'demo0002')).toMatchObject({ ip: current });
    const dump = JSON.parse((await usher(['dump', '--json'])).stdout);
    expect(dump.add.map((a: { host: string }) => a.host)).toEqual([B1, B2, B3]);
    const ring = JSON.parse((await usher(['ring', 'status', '--json'])).stdout);
    expect(ring[0]).toMatchObject({ type: 'self', status: 'ring synced', lastFailed: 0 });
  });
});
