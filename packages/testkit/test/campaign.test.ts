import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatReport, runCampaign } from '../src/campaign/index.js';

// This file owns 127.0.41.1-3 (usherd nodes) and 127.0.42.1-3 (Dovecot backends).
// A fixed seed, so a failure here replays with `npm run campaign -- --seed 7 --minutes 1.25`.
const SEED = 7;
const LOAD_MS = 75_000;

describe('fault campaign (3 usherd nodes, 3 Dovecot backends)', () => {
  it('keeps every user on one backend and every acknowledged message stored exactly once', async () => {
    const report = await runCampaign({
      seed: SEED,
      durationMs: LOAD_MS,
      nodes: 3,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`\n${formatReport(report)}\n`);
    // the campaign did something worth checking
    expect(report.injected.length).toBeGreaterThan(5);
    expect(report.imap.logins).toBeGreaterThan(20);
    expect(report.lmtp.delivered).toBeGreaterThan(50);
    expect(report.checker.polls).toBeGreaterThan(30);
    expect(report.violations.map((v) => `[${v.kind}] ${v.detail}`)).toEqual([]);
    // kept when anything above failed: the nodes' and backends' logs are in it
    rmSync(report.root, { recursive: true, force: true });
  }, 118_000);
});
