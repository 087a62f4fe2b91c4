import { connect, type Socket } from 'node:net';

/** Everything the server sent until it closed (or `timeoutMs` passed), and whether it closed. */
export interface Conversation {
  readonly received: string;
  readonly closed: boolean;
}

/**
 * Connects, writes `input` (one write, so every line is pipelined), then either waits for the
 * server to close, or for `expectLines` lines after the greeting and hangs up.
 */
export function talk(
  path: string,
  input: string | Buffer,
  opts: { expectLines?: number; hangUp?: boolean; timeoutMs?: number } = {},
): Promise<Conversation> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect({ path });
    let received = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ received, closed });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 3000);
    let connected = false;
    sock.on('connect', () => {
      connected = true;
      sock.write(input);
      if (opts.hangUp) sock.end();
    });
    sock.on('data', (c: Buffer) => {
      received += c.toString('utf8');
      if (opts.expectLines !== undefined && received.split('\n').length - 2 >= opts.expectLines) finish(false);
    });
    sock.on('close', () => finish(true));
    // after connecting, a reset is just the server closing on us
    sock.on('error', (e) => (connected ? finish(true) : reject(e)));
  });
}

export const HELLO = 'VERSION\tdirector-doveadm\t1\t0\n';
