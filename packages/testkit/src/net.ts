import { createServer, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface GreetingOptions {
  /** Connect with implicit TLS (imaps/pop3s); the certificate is not verified. */
  tls?: boolean;
}

/**
 * Connects repeatedly until the server sends a line matching `prefix` (a string prefix or a RegExp),
 * and resolves with that line. Keeps reading on one connection, because Dovecot's login processes
 * first send "* OK Waiting for authentication process to respond.." while auth is still starting.
 */
export async function waitForGreeting(
  host: string,
  port: number,
  prefix: string | RegExp,
  timeoutMs = 10_000,
  opts: GreetingOptions = {},
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const matches = (line: string) => (typeof prefix === 'string' ? line.startsWith(prefix) : prefix.test(line));
  let lastError = 'no attempt made';
  while (Date.now() < deadline) {
    const line = await new Promise<string | undefined>((resolve) => {
      let buffer = '';
      let done = false;
      const finish = (value: string | undefined, why?: string) => {
        if (done) return;
        done = true;
        if (why) lastError = why;
        clearTimeout(timer);
        socket.destroy();
        resolve(value);
      };
      const socket: Socket = opts.tls
        ? tlsConnect({ host, port, rejectUnauthorized: false })
        : netConnect({ host, port });
      const timer = setTimeout(
        () => finish(undefined, `timed out; last data: ${JSON.stringify(buffer)}`),
        Math.max(1, deadline - Date.now()),
      );
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        const found = buffer.split(/\r?\n/).find(matches);
        if (found !== undefined) finish(found);
      });
      socket.on('error', (err) => finish(undefined, err.message));
      socket.on('close', () => finish(undefined, `closed; data: ${JSON.stringify(buffer)}`));
    });
    if (line !== undefined) return line;
    await sleep(50);
  }
  throw new Error(`no greeting matching ${String(prefix)} from ${host}:${port} within ${timeoutMs} ms (${lastError})`);
}

/** Resolves true if something accepts TCP connections on host:port. */
export function isListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const done = (value: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(true), timeoutMs); // a hanging SYN means something is there
    socket.on('connect', () => done(true));
    socket.on('error', () => done(false));
  });
}

/** Waits until nothing listens on any of the ports, so a restarted server can bind them again. */
export async function waitForPortsClosed(host: string, ports: number[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    while (await isListening(host, port)) {
      if (Date.now() > deadline) throw new Error(`${host}:${port} still listening after ${timeoutMs} ms`);
      await sleep(50);
    }
  }
}

/** An unused TCP port on host, picked by the kernel (racy by nature, but fine for tests). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}
