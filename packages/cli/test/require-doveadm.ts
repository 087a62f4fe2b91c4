import { execFileSync } from 'node:child_process';

/** Tests never skip: without Debian's doveadm they fail and say how to install it. */
export function requireDoveadm(): void {
  try {
    execFileSync('doveadm', ['-O', 'help'], { stdio: 'ignore' });
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') {
      throw new Error('doveadm is missing: run scripts/install-deps.sh as root (Debian package dovecot-core)');
    }
  }
}
