import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { USHERD_MAIN } from '@usher/testkit';
import { describe, expect, it } from 'vitest';
import { configEntries, renderConfigDocs } from '../src/config/config-docs.js';
import { jsonLines, lineOfSetting, settingPath } from '../src/config/locate.js';
import { loadConfig } from '../src/index.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'usher-config-docs-'));

describe('docs/configuration.md', () => {
  it('is generated from the schema and up to date (npm run docs:config)', () => {
    const committed = readFileSync(fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url)), 'utf8');
    expect(committed).toBe(renderConfigDocs());
  });

  it('documents every setting', () => {
    const docs = renderConfigDocs();
    for (const e of configEntries()) {
      expect(e.doc.length, e.key).toBeGreaterThan(10);
      expect(docs).toContain(`| \`${e.key}\` |`);
    }
  });
});

describe('the deploy examples', () => {
  const repo = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

  it('systemd usherd.json.example is a valid configuration', () => {
    const c = loadConfig({ file: repo('deploy/systemd/usherd.json.example') });
    expect(c.metricsListen).toBe('10.0.0.5:9100');
  });

  it("the Kubernetes ConfigMap's usherd.json is valid with the per-pod --set values", () => {
    const yaml = readFileSync(repo('deploy/kubernetes/configmap.yaml'), 'utf8');
    const json = /usherd\.json: \|\n((?: {4}.*\n?)+)/.exec(yaml)?.[1]?.replace(/^ {4}/gm, '') ?? '';
    const file = join(dir, 'k8s.json');
    writeFileSync(file, json);
    const c = loadConfig({
      file,
      overrides: { director_ring_address: '10.0.0.5', metrics_listen: '10.0.0.5:9100', node_name: 'usher-0' },
    });
    expect(c.listeners.every((l) => l.haproxy)).toBe(true);
  });
});

describe('configuration errors name the setting and its line', () => {
  const text = `{
  "director_mail_servers": "10.0.0.1",
  "backend": {
    "ssl": "maybe"
  },
  "listeners": [
    { "protocol": "imap", "address": "127.0.0.1", "port": 143 },
    {
      "protocol": "smtp", "address": "127.0.0.1", "port": 25
    }
  ],
  "director_user_expire": "soon",
  "no_such_setting": 1
}
`;

  it('locates keys, nested keys and array elements', () => {
    const lines = jsonLines(text);
    expect(lineOfSetting(lines, 'director_mail_servers')).toBe(2);
    expect(lineOfSetting(lines, 'backend.ssl')).toBe(4);
    expect(lineOfSetting(lines, 'listeners[1]')).toBe(8);
    expect(lineOfSetting(lines, 'listeners[1].protocol')).toBe(9);
    expect(lineOfSetting(lines, 'backend.imap_port')).toBe(3); // absent: its enclosing key
    expect(lineOfSetting(lines, 'log_level')).toBeUndefined();
    expect(settingPath('listeners[10].port')).toEqual(['listeners', 10, 'port']);
  });

  it('loadConfig reports every problem with FILE:LINE', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, text);
    let message = '';
    try {
      loadConfig({ file });
    } catch (e) {
      message = (e as Error).message;
    }
    const lines = message.split('\n');
    expect(lines).toContain(`${file}:12: director_user_expire: not a time value: soon: value was "soon"`);
    expect(lines).toContain(
      `${file}:4: backend.ssl: must be one of the possible values: ["no","yes","starttls"]: value was "maybe"`,
    );
    expect(lines.find((l) => l.includes('listeners[1].protocol'))).toMatch(new RegExp(`^${file}:9: listeners: `));
    expect(lines).toContain(`${file}:13: no_such_setting: unknown setting`);
  });

  it('names --set and the line of a JSON syntax error', () => {
    expect(() => loadConfig({ overrides: { backend: { ssl: 'x' } } })).toThrow(/^--set: backend\.ssl: /);
    const file = join(dir, 'syntax.json');
    writeFileSync(file, '{\n  "log_level": "debug",\n}\n');
    expect(() => loadConfig({ file })).toThrow(`${file}:3: invalid JSON`);
    const low = join(dir, 'low.json');
    writeFileSync(low, '{\n  "log_level": "debug",\n  "director_user_expire": "5 secs"\n}\n');
    expect(() => loadConfig({ file: low })).toThrow(`${low}:3: director_user_expire is too low`);
  });

  it('usherd --check-config exits 78 with the located message, 0 when valid', async () => {
    const file = join(dir, 'check.json');
    writeFileSync(file, '{\n  "metrics_listen": "everywhere"\n}\n');
    const failed = await exec(process.execPath, [USHERD_MAIN, '--check-config', '--config', file]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((failed as { code: number }).code).toBe(78);
    expect((failed as { stderr: string }).stderr).toContain(`${file}:2: metrics_listen: must be ip:port`);
    const ok = join(dir, 'ok.json');
    writeFileSync(ok, '{ "metrics_listen": "127.0.31.1:9100" }\n');
    const { stdout } = await exec(process.execPath, [USHERD_MAIN, '--check-config', '--config', ok]);
    expect(stdout).toBe('configuration OK\n');
  });
});
