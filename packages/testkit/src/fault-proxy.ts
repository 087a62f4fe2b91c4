import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

export type FaultMode =
  /** Forward everything. */
  | { readonly kind: 'pass' }
  /** After `afterBytes` client→target bytes, tear down both sides (a crash or network cut). */
  | { readonly kind: 'cut'; readonly afterBytes: number }
  /** After `afterBytes` client→target bytes, forward nothing more either way but keep both open (a hang). */
  | { readonly kind: 'stall'; readonly afterBytes: number };

export interface FaultProxyOptions {
  readonly host: string;
  readonly port: number;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly mode?: FaultMode;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** Applies to connections accepted from now on. */
  setMode(mode: FaultMode): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections that were cut or stalled by a fault. */
  readonly faulted: number;
  close(): Promise<void>;
}

/**
 * A TCP forwarder that can fail on purpose, counted in bytes from the client so a test can
 * place the failure exactly (say, in the middle of an LMTP DATA body). Each accepted connection
 * keeps the mode it was accepted with.
 */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  let mode: FaultMode = opts.mode ?? { kind: 'pass' };
  let accepted = 0;
  let faulted = 0;
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };

  const server: Server = createServer((client) => {
    accepted++;
    const connMode = mode;
    const target = netConnect({ host: opts.targetHost, port: opts.targetPort });
    track(client);
    track(target);
    let sent = 0;
    let broken = false;
    client.on('data', (chunk: Buffer) => {
      if (broken) return;
      if (connMode.kind === 'pass') {
        target.write(chunk);
        return;
      }
      const room = connMode.afterBytes - sent;
      sent += chunk.length;
      if (room > 0) target.write(chunk.subarray(0, Math.min(room, chunk.length)));
      if (sent < connMode.afterBytes) return;
      broken = true;
      faulted++;
      if (connMode.kind === 'cut') {
        client.destroy();
        target.destroy();
      } else {
        target.pause();
      }
    });
    target.on('data', (chunk: Buffer) => {
      if (!broken) client.write(chunk);
    });
    client.on('close', () => target.destroy());
    target.on('close', () => client.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => resolve());
  });

  return {
    host: opts.host,
    port: opts.port,
    setMode(next) {
      mode = next;
    },
    get accepted() {
      return accepted;
    },
    get faulted() {
      return faulted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
