import { createServer, type Server, type Socket } from 'node:net';
import { LineReader } from '@usher/proxy';

/** One accepted connection of a scripted backend: read lines, write raw bytes. */
export interface ScriptedPeer {
  readonly socket: Socket;
  line(): Promise<string>;
  write(data: string): void;
}

export interface ScriptedBackend {
  /** Every line any connection received, in order (what the proxy sent). */
  readonly received: string[];
  /** Resolves when `n` connections have finished their script and closed. */
  closed(n: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A fake backend that plays a script per connection, for the replies no stock Dovecot gives
 * (extra SASL challenges, response codes on OK, hangs). Real backends cover the normal paths.
 */
export async function startScriptedBackend(
  host: string,
  port: number,
  script: (peer: ScriptedPeer) => Promise<void>,
): Promise<ScriptedBackend> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  let finished = 0;
  const waiters: Array<() => void> = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const reader = new LineReader(socket, { maxLineLength: 65536, idleTimeoutMs: 10_000 });
    const peer: ScriptedPeer = {
      socket,
      line: async () => {
        const l = (await reader.readLine()).toString('utf8');
        received.push(l);
        return l;
      },
      write: (data) => {
        if (!socket.destroyed) socket.write(data);
      },
    };
    socket.once('close', () => {
      sockets.delete(socket);
      finished++;
      for (const w of waiters.splice(0)) w();
    });
    script(peer)
      .catch(() => {})
      .finally(() => socket.end());
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen({ host, port }, () => ok());
  });
  return {
    received,
    closed: (n) =>
      new Promise<void>((resolve) => {
        const check = () => (finished >= n ? resolve() : waiters.push(check));
        check();
      }),
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}
