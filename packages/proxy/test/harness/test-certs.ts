import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface TestCerts {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  readonly context: SecureContext;
}

/** A throwaway CA + server certificate from the repository's script (clients do not verify it). */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'usher-certs-'));
  const script = resolve(import.meta.dirname, '../../../../scripts/make-test-certs.sh');
  execFileSync('bash', [script, dir], { stdio: 'ignore' });
  const cert = join(dir, 'server.pem');
  const key = join(dir, 'server.key');
  return { dir, cert, key, context: createSecureContext({ cert: readFileSync(cert), key: readFileSync(key) }) };
}
