import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DovecotCluster, requireDovecot, startDovecotBackends } from '@usher/testkit';
import { afterAll, beforeAll } from 'vitest';

/** Loopback addresses reserved for the IMAP tests; nothing else may bind them. */
export const BACKEND_IPS = ['127.0.3.1', '127.0.3.2', '127.0.3.3'] as const;
/** An address in the same reserved range where nothing listens. */
export const DEAD_BACKEND = '127.0.3.9';
export const PROXY_IP = '127.0.13.1';

export interface Certs {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface ImapFixture {
  readonly cluster: DovecotCluster;
  readonly certs: Certs;
  readonly root: string;
}

const script = fileURLToPath(new URL('../../../../../scripts/make-test-certs.sh', import.meta.url));

/** Three real Dovecot backends (with TLS) for the file that calls this; stopped after its tests. */
export function useDovecotCluster(): () => ImapFixture {
  let fixture: ImapFixture | undefined;
  let root: string | undefined;
  beforeAll(async () => {
    // throws when Dovecot is missing: these tests fail, they never skip
    requireDovecot();
    root = mkdtempSync(join(tmpdir(), 'usher-imap-'));
    // Dovecot's unprivileged processes must traverse it to reach the mail directories
    chmodSync(root, 0o755);
    const certDir = join(root, 'certs');
    execFileSync('bash', [script, certDir], { stdio: 'ignore' });
    const certs = {
      ca: readFileSync(join(certDir, 'ca.pem'), 'utf8'),
      cert: readFileSync(join(certDir, 'server.pem'), 'utf8'),
      key: readFileSync(join(certDir, 'server.key'), 'utf8'),
    };
    const cluster = await startDovecotBackends({
      root: join(root, 'dovecot'),
      ips: [...BACKEND_IPS],
      users: 12,
      tls: { cert: join(certDir, 'server.pem'), key: join(certDir, 'server.key') },
    });
    fixture = { cluster, certs, root };
  }, 90_000);
  afterAll(async () => {
    await fixture?.cluster.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 60_000);
  return () => {
    if (!fixture) throw new Error('Dovecot backends did not start');
    return fixture;
  };
}
