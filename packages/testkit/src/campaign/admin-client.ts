import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { USHERD_MAIN } from '../cluster/usherd-process.js';

const HELLO = 'VERSION\tdirector-doveadm\t1\t0\n';

/**
 * Sends one command line (fields joined by TAB) to a node's director-admin socket, as `doveadm
 * director` does, and resolves with the reply line ("OK", "NOTFOUND", "TRYAGAIN", an error text).
 */
export function adminCommand(socketPath: string, fields: readonly string[], timeoutMs = 40_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: socketPath });
    let buffer = '';
    let greeted = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`admin ${fields[0]}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${HELLO}${fields.join('\t')}\n`));
    sock.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        if (!greeted) {
          greeted = true;
          continue;
        }
        clearTimeout(timer);
        sock.destroy();
        resolve(line);
        return;
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`admin ${fields[0]}: connection closed without a reply`));
    });
  });
}

/**
 * Whether the built usherd has a director-admin socket (`director_admin_socket`): the admin package
 * arrived after the campaign, and usherd rejects unknown settings, so ask it rather than assume.
 */
export function usherdHasAdminSocket(): boolean {
  const r = spawnSync(
    process.execPath,
    [USHERD_MAIN, '--check-config', '--set', 'director_admin_socket=/nonexistent'],
    {
      encoding: 'utf8',
      timeout: 15_000,
    },
  );
  return r.status === 0;
}
