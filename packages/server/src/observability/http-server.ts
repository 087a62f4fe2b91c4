import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from './listen-address.js';

export interface Readiness {
  readonly ready: boolean;
  /** Why not (or what), one line for the probe's body and for humans with curl. */
  readonly reason: string;
}

export interface ObservabilityHttpOptions {
  readonly listen: ListenAddress;
  /** Prometheus exposition. */
  readonly metrics: () => Promise<{ contentType: string; body: string }>;
  readonly readiness: () => Readiness;
}

export interface ObservabilityHttpServer {
  address(): { host: string; port: number };
  close(): Promise<void>;
}

/**
 * The node's HTTP endpoints: /metrics (Prometheus), /healthz (the process answers: a liveness
 * probe that restarts only a wedged process) and /readyz (take traffic: the node has the ring's
 * state and is not shutting down). Nothing else; no request body is ever read.
 */
export async function startObservabilityServer(opts: ObservabilityHttpOptions): Promise<ObservabilityHttpServer> {
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((e: unknown) => {
      send(res, 500, 'text/plain; charset=utf-8', `error: ${(e as Error).message}\n`);
    });
  });
  // a scraper that keeps its connection open must not hold up shutdown for long
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.listen.host, port: opts.listen.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address() {
      const a = server.address() as AddressInfo;
      return { host: a.address, port: a.port };
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: ObservabilityHttpOptions): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/metrics': {
      const { contentType, body } = await opts.metrics();
      send(res, 200, contentType, body);
      return;
    }
    case '/healthz':
      send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    case '/readyz': {
      const r = opts.readiness();
      send(res, r.ready ? 200 : 503, 'text/plain; charset=utf-8', `${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`);
      return;
    }
    default:
      send(res, 404, 'text/plain; charset=utf-8', 'not found (try /metrics, /healthz, /readyz)\n');
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
