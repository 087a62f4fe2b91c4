import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, 'poplib-client.py');

export type PoplibStep = [string, ...(string | number)[]];

/** Runs python's poplib against host:port; returns the welcome line and one result per step. */
export async function poplib(
  host: string,
  port: number,
  mode: 'plain' | 'stls' | 'ssl',
  steps: PoplibStep[],
): Promise<unknown[]> {
  const { stdout } = await run('python3', [SCRIPT, host, String(port), mode, JSON.stringify(steps)], {
    timeout: 20_000,
  });
  return JSON.parse(stdout) as unknown[];
}
