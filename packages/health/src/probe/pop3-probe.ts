import { ProbeFailure } from './line-client.js';
import type { ProbeDialogue } from './probe-options.js';

/** POP3: the greeting must be `+OK`; with a probe account, USER and PASS must be accepted too. */
export const pop3Probe: ProbeDialogue = async (c, opts) => {
  const banner = await c.readLine();
  if (!banner.startsWith('+OK')) throw new ProbeFailure(`banner: ${banner}`);
  if (opts.login) {
    if (opts.tls?.mode === 'starttls') {
      expectOk(await c.command('STLS', () => true), 'STLS');
      await c.startTls();
    }
    expectOk(await c.command(`USER ${opts.login.user}`, () => true), 'USER');
    expectOk(await c.command(`PASS ${opts.login.password}`, () => true), 'PASS');
  }
  try {
    await c.command('QUIT', () => true);
  } catch {
    // closing right after +OK is fine
  }
};

function expectOk(line: string, what: string): void {
  if (!line.startsWith('+OK')) throw new ProbeFailure(`${what}: ${line}`);
}
