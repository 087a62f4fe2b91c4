import { type LineClient, ProbeFailure } from './line-client.js';
import type { ProbeDialogue } from './probe-options.js';

/**
 * IMAP: the greeting must be `* OK`; with a probe account, LOGIN must succeed too (after STARTTLS
 * when the backends want it), which proves the backend's auth and mail storage answer, not just
 * its listener. Always ends with LOGOUT so the backend logs a clean disconnect.
 */
export const imapProbe: ProbeDialogue = async (c, opts) => {
  const banner = await c.readLine();
  if (!banner.startsWith('* OK')) throw new ProbeFailure(`banner: ${banner}`);
  if (opts.login) {
    if (opts.tls?.mode === 'starttls') {
      expectOk(await tagged(c, 'p1', 'STARTTLS'), 'STARTTLS');
      await c.startTls();
    }
    expectOk(await tagged(c, 'p2', `LOGIN ${quote(opts.login.user)} ${quote(opts.login.password)}`), 'LOGIN');
  }
  await logout(c);
};

/** Send a tagged command, return its tagged completion line. */
function tagged(c: LineClient, tag: string, command: string): Promise<string> {
  return c.command(`${tag} ${command}`, (line) => line.startsWith(`${tag} `));
}

function expectOk(line: string, what: string): void {
  // "p2 OK ..." -> status after the tag
  const status = line.split(' ')[1] ?? '';
  if (status.toUpperCase() !== 'OK') throw new ProbeFailure(`${what}: ${redact(line)}`);
}

async function logout(c: LineClient): Promise<void> {
  try {
    await tagged(c, 'p9', 'LOGOUT');
  } catch {
    // the backend may close right after BYE; the verdict is already made
  }
}

function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

/** A failed LOGIN's reply never echoes the password, but keep log lines short. */
function redact(line: string): string {
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}
