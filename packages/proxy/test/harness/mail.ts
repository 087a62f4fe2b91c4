import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Delivers one message straight to a backend over LMTP with swaks (a real MTA-side client). */
export async function deliverLmtp(
  backendIp: string,
  to: string,
  subject: string,
  body = 'Hello from the Usher tests.',
): Promise<void> {
  await run(
    'swaks',
    [
      '--protocol',
      'LMTP',
      '--server',
      `${backendIp}:24`,
      '--to',
      to,
      '--from',
      'tests@usher.test',
      '--header',
      `Subject: ${subject}`,
      '--body',
      body,
    ],
    { timeout: 20_000 },
  );
}
