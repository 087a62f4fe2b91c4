import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkVectorFile, parseVectorFile } from '../../src/index.js';

const dir = fileURLToPath(new URL('../fixtures/vectors/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.startsWith('scenario-') && f.endsWith('.tsv'));

describe('placement vectors recorded from Dovecot 2.3.19.1', () => {
  it('has the recorded scenarios', () => {
    expect(files.length).toBeGreaterThanOrEqual(11);
  });
  for (const f of files) {
    it(`${f}: every hash, backend and the hosts_hash match`, () => {
      const file = parseVectorFile(readFileSync(dir + f, 'utf8'));
      const report = checkVectorFile(file);
      expect(report.mismatches.slice(0, 5)).toEqual([]);
      expect(report.failed).toBe(0);
      expect(report.passed).toBeGreaterThanOrEqual(file.rows.length);
    });
  }
});
