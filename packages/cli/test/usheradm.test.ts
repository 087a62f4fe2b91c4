import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../src/main.js';
import { capture } from './capture.js';

const vectors = fileURLToPath(new URL('../../core/test/fixtures/vectors/', import.meta.url));

describe('usheradm director map', () => {
  it('-u prints the hash as doveadm does', async () => {
    const o = capture();
    expect(await run(['director', 'map', '-u', 'user@example.com'], o)).toBe(0);
    expect(o.stdout).toEqual(['3045693125']);
    expect(await run(['director', 'map', '-u', 'Test.User@Example.COM', '--hash-format', '%Ln'], o)).toBe(0);
    expect(o.stdout[1]).toBe('1052580675');
  });

  it('--hosts prints user, hash and backend per user', async () => {
    const o = capture();
    const code = await run(
      ['director', 'map', '--hosts', '10.0.0.1 10.0.0.2 10.0.0.3', 'user@example.com', 'Test.User@Example.COM', 'john'],
      o,
    );
    expect(code).toBe(0);
    expect(o.stdout).toEqual([
      'user@example.com\t3045693125\t10.0.0.1',
      'Test.User@Example.COM\t2809484398\t10.0.0.2',
      'john\t1383847349\t10.0.0.3',
    ]);
  });

  it('--hosts understands :down, =vhosts, ranges and --tag', async () => {
    const o = capture();
    await run(['director', 'map', '--hosts', '10.0.0.1-10.0.0.2 10.0.0.3:down', 'john'], o);
    expect(o.stdout).toEqual(['john\t1383847349\t10.0.0.1']);
    await run(['director', 'map', '--hosts', '10.0.0.1 10.0.0.9@blue=5', '--tag', 'blue', 'john'], o);
    expect(o.stdout[1]).toBe('john\t1383847349\t10.0.0.9');
    await run(['director', 'map', '--hosts', '10.0.0.1', '--tag', 'none', 'john'], o);
    expect(o.stdout[2]).toBe('john\t1383847349\t');
  });

  it('fails with a usage error on bad input, and a temporary failure on a bad hash format', async () => {
    const o = capture();
    expect(await run(['director', 'map', '--hosts', '10.0.0.9-10.0.0.1', 'x'], o)).toBe(64);
    expect(await run(['director', 'map'], o)).toBe(64);
    expect(await run(['director', 'map', '-u', 'x', '--hash-format', '%x'], o)).toBe(75);
    expect(o.stderr.join('\n')).toContain('unknown variable');
  });
});

describe('usheradm vectors check', () => {
  it('passes every recorded vector file', async () => {
    const o = capture();
    const files = ['A', 'B', 'C', 'C2', 'D', 'E', 'E2', 'F', 'G-Ld', 'G-Ln', 'G-u'].map((s) =>
      join(vectors, `scenario-${s}.tsv`),
    );
    expect(await run(['vectors', 'check', ...files], o)).toBe(0);
    expect(o.stdout.filter((l) => / 0 failed$/.test(l))).toHaveLength(files.length + 1);
  });

  it('reports mismatches and exits non-zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'usher-vec-'));
    const text = readFileSync(join(vectors, 'scenario-E2.tsv'), 'utf8')
      .replace('"ip":"fd00::abcd"', '"ip":"FD00::ABCD"')
      .replace(/\t10\.5\.0\.9\tname\n/, '\t::1\tname\n')
      .replace('#hosts_hash\t2304762828', '#hosts_hash\t7');
    const path = join(dir, 'bad.tsv');
    writeFileSync(path, text);
    const o = capture();
    expect(await run(['vectors', 'check', path], o)).toBe(1);
    const out = o.stdout.join('\n');
    expect(out).toMatch(/failed/);
    expect(out).toContain('hosts_hash');
    expect(out).toContain('host_text');
    expect(out).toContain('backend');
  });
});
