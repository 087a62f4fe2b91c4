import { readFile } from 'node:fs/promises';
import { checkVectorFile, parseVectorFile, type VectorMismatch } from '@usher/core';
import { EX_DATAERR, EX_FAILURE, UsageError } from '../util/exit-codes.js';
import type { Output } from '../util/output.js';

const SHOW_MISMATCHES = 10;

/** `vectors check FILE...`: recompute recorded placements; non-zero exit on any mismatch. */
export async function vectorsCheck(files: readonly string[], output: Output): Promise<number> {
  if (files.length === 0) throw new UsageError('vectors check: no files given');
  let totalPassed = 0;
  let totalFailed = 0;
  let unreadable = false;
  for (const path of files) {
    let report: ReturnType<typeof checkVectorFile>;
    try {
      report = checkVectorFile(parseVectorFile(await readFile(path, 'utf8')));
    } catch (e) {
      output.out(`${path}: error: ${(e as Error).message}`);
      unreadable = true;
      continue;
    }
    totalPassed += report.passed;
    totalFailed += report.failed;
    output.out(`${path}: ${report.passed} passed, ${report.failed} failed`);
    for (const m of report.mismatches.slice(0, SHOW_MISMATCHES)) output.out(`  ${describe(m)}`);
    if (report.mismatches.length > SHOW_MISMATCHES)
      output.out(`  ... ${report.mismatches.length - SHOW_MISMATCHES} more`);
  }
  if (files.length > 1) output.out(`total: ${totalPassed} passed, ${totalFailed} failed`);
  if (unreadable) return EX_DATAERR;
  return totalFailed > 0 ? EX_FAILURE : 0;
}

function describe(m: VectorMismatch): string {
  const who = m.username === undefined ? '' : ` user ${JSON.stringify(m.username)} tag ${JSON.stringify(m.tag)}`;
  const where = m.line > 0 ? `line ${m.line}` : 'header';
  return `${where}: ${m.what}${who}: expected ${m.expected || '(none)'}, got ${m.actual || '(none)'}`;
}
