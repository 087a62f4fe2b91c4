import { type LineClient, ProbeFailure } from './line-client.js';
import type { ProbeDialogue } from './probe-options.js';

/**
 * LMTP: greeting 220, LHLO 250 (after STARTTLS when the backends want it), and with a probe
 * recipient MAIL FROM:<> and RCPT TO, which proves the backend can resolve a user and would take
 * mail for them. No DATA: nothing is delivered. Ends with QUIT.
 */
export const lmtpProbe: ProbeDialogue = async (c, opts) => {
  expect(await reply(c), 220, 'banner');
  expect(await command(c, `LHLO ${opts.heloName}`), 250, 'LHLO');
  if (opts.tls?.mode === 'starttls') {
    expect(await command(c, 'STARTTLS'), 220, 'STARTTLS');
    await c.startTls();
    expect(await command(c, `LHLO ${opts.heloName}`), 250, 'LHLO');
  }
  if (opts.lmtpRcpt) {
    expect(await command(c, 'MAIL FROM:<>'), 250, 'MAIL FROM');
    expect(await command(c, `RCPT TO:<${opts.lmtpRcpt}>`), 250, 'RCPT TO');
  }
  try {
    await command(c, 'QUIT');
  } catch {
    // closing right after 221 is fine
  }
};

/** A whole (possibly multi-line) reply; returns its last line. */
async function reply(c: LineClient): Promise<string> {
  for (;;) {
    const line = await c.readLine();
    if (line.charAt(3) !== '-') return line;
  }
}

async function command(c: LineClient, line: string): Promise<string> {
  c.write(line);
  return reply(c);
}

function expect(line: string, code: number, what: string): void {
  if (!line.startsWith(String(code))) throw new ProbeFailure(`${what}: ${line}`);
}
