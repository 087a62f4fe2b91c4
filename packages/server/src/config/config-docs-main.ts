#!/usr/bin/env node
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigDocs } from './config-docs.js';

/**
 * `npm run docs:config`: writes docs/configuration.md from the schema.
 * `--check`: exits 1 if the committed file differs (what a CI step or a reviewer runs).
 */
const target = fileURLToPath(new URL('../../../../docs/configuration.md', import.meta.url));
const text = renderConfigDocs();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    process.stderr.write(`${target} is out of date: run npm run docs:config\n`);
    process.exit(1);
  }
  process.stdout.write(`${target} is up to date\n`);
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
