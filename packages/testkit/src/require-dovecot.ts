import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const INSTALL_HINT =
  'run `sudo scripts/install-deps.sh` from the repository root (Debian/Ubuntu: apt-get install -y --no-install-recommends dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-managesieved swaks openssl)';

// dovecot lives in /usr/sbin, which is often not on a non-login PATH; search it explicitly.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/usr/local/bin'];

/** Absolute path of an executable found on PATH or in the sbin directories, or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export interface DovecotBinaries {
  dovecot: string;
  doveadm: string;
  /** Undefined unless swaks was required. */
  swaks: string | undefined;
  version: string;
}

let cached: DovecotBinaries | undefined;

/**
 * Locates Dovecot 2.3 (and optionally swaks) or throws. Integration tests never skip: a missing
 * server is a broken environment, so both CI and local runs fail loudly with the fix.
 */
export function requireDovecot(opts: { swaks?: boolean } = {}): DovecotBinaries {
  if (cached && (!opts.swaks || cached.swaks)) return cached;
  const dovecot = findBinary('dovecot');
  const doveadm = findBinary('doveadm');
  const swaks = findBinary('swaks');
  const missing = [
    ...(dovecot ? [] : ['dovecot']),
    ...(doveadm ? [] : ['doveadm']),
    ...(opts.swaks && !swaks ? ['swaks'] : []),
  ];
  if (missing.length > 0 || !dovecot || !doveadm) {
    const where = process.env.CI === 'true' ? 'CI image is missing' : 'missing';
    throw new Error(`${where} ${missing.join(', ')} (needed by integration tests, which never skip): ${INSTALL_HINT}`);
  }
  const version = execFileSync(dovecot, ['--version'], { encoding: 'utf8' }).trim();
  // The generated configs use 2.3 syntax; 2.4 renamed most settings and would fail confusingly.
  if (!version.startsWith('2.3.')) {
    throw new Error(`Dovecot 2.3.x required, found ${version} at ${dovecot}`);
  }
  cached = { dovecot, doveadm, swaks, version };
  return cached;
}
