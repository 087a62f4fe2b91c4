import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { type GrpcLogger, GrpcTransport, type GrpcTransportOptions, type RingTls } from '../../src/grpc/index.js';
import type { HostRecord, RingLink, RingMessage, UserBatch } from '../../src/index.js';

const SCRIPT = fileURLToPath(new URL('../../../../deploy/certs/make-ring-certs.sh', import.meta.url));

/** A CA and node certificates made by the deploy script itself, so the tests cover it too. */
export class CertDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'usher-ring-certs-'));

  constructor(ips: readonly string[]) {
    this.add(ips);
  }

  /** More node certificates from the same CA; `env` reaches the script (e.g. NODE_DAYS: '-1' for expired ones). */
  add(ips: readonly string[], env: Record<string, string> = {}): void {
    execFileSync('bash', [SCRIPT, this.dir, ...ips], { stdio: 'pipe', env: { ...process.env, ...env } });
  }

  tls(ip: string): RingTls {
    return { ca: this.file('ca.pem'), cert: this.file(`${ip}.pem`), key: this.file(`${ip}.key`) };
  }

  file(name: string): Buffer {
    return readFileSync(join(this.dir, name));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface LogEntry {
  readonly level: string;
  readonly message: string;
  readonly fields: Record<string, unknown> | undefined;
}

export function recordingLog(): GrpcLogger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    entries.push({ level, message, fields });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Records what a link delivers and how it ends. */
export function observe(link: RingLink): { messages: RingMessage[]; closed: string | undefined; closedAt: number } {
  const seen = { messages: [] as RingMessage[], closed: undefined as string | undefined, closedAt: 0 };
  link.onMessage((m) => seen.messages.push(m));
  link.onClose((reason) => {
    seen.closed = reason;
    seen.closedAt = Date.now();
  });
  return seen;
}

export function userBatch(
  n: number,
  tags = ['', 'eu-west', 'ünïcødé-✉'],
  hostIps = ['10.0.0.1', '10.0.0.2', 'fd00::3'],
): UserBatch {
  const tagIndex = new Uint16Array(n);
  const hashes = new Uint32Array(n);
  const hostIndex = new Uint16Array(n);
  const timestamps = new Uint32Array(n);
  const epochMs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    tagIndex[i] = i % tags.length;
    hashes[i] = Math.imul(i + 1, 2654435761) >>> 0 || 1;
    hostIndex[i] = (i * 7) % hostIps.length;
    timestamps[i] = 1_700_000_000 + i;
    epochMs[i] = i % 5 === 0 ? 1_700_000_000_123.5 + i : 0;
  }
  return { tags, hostIps, tagIndex, hashes, hostIndex, timestamps, epochMs };
}

export function host(ip: string, extra: Partial<HostRecord> = {}): HostRecord {
  return {
    ip,
    tag: 'eu-west',
    vhostCount: 100,
    down: false,
    lastUpdownChange: 1_700_000_000,
    hostname: `mail-${ip}.example`,
    removed: false,
    version: { ms: 1_700_000_000_456, counter: 3, node: '127.0.8.1:4000' },
    ...extra,
  };
}

/** One message of every kind, with every field away from its protobuf default. */
export function everyKind(): RingMessage[] {
  return [
    {
      kind: 'hello',
      from: '127.0.8.1:4000',
      protocol: 1,
      members: ['127.0.8.1:4000', '127.0.8.2:4000', '[fd00::1]:4000'],
      hostsHash: 0xdeadbeef,
      bucketDigests: new Uint32Array([1, 0xffffffff, 0, 42]),
    },
    {
      kind: 'state',
      hosts: [host('10.0.0.1'), host('fd00::3', { down: true, removed: true, tag: 'ümlaut', vhostCount: 0 })],
      users: userBatch(1000),
      buckets: [0, 7, 1023],
      last: true,
    },
    {
      kind: 'update',
      origin: '127.0.8.2:4000',
      seq: 2 ** 53 - 1,
      hosts: [host('10.0.0.2', { version: { ms: 1, counter: 0xffffffff, node: '127.0.8.2:4000' } })],
      users: userBatch(3),
      kicks: [
        { hash: 1, exceptHost: '' },
        { hash: 0xffffffff, exceptHost: '10.0.0.1' },
        { hash: 77, exceptHost: '' },
      ],
      kickUsers: ['alice@example.com', 'bøb'],
    },
    { kind: 'sync', origin: '127.0.8.3:4000', seq: 12, hostsHash: -5 },
    { kind: 'member', origin: '127.0.8.1:4000', seq: 3, node: '127.0.8.4:4000', removed: true },
    { kind: 'ping', sentMs: 12345.678 },
    { kind: 'pong', sentMs: 1_700_000_000_000 },
  ];
}

/**
 * A TCP relay standing in for the network between two peers: `freeze` stops reading both ways but
 * keeps the sockets open (a hung host, or one too slow to read), `thaw` undoes it, `kill` resets
 * every connection (a host that died).
 */
export class Relay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #frozen = false;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(listen: { host: string; port: number }, target: { host: string; port: number }): Promise<Relay> {
    const server = createServer();
    const relay = new Relay(server);
    server.on('connection', (down) => {
      const up = tcpConnect(target.port, target.host);
      for (const s of [down, up]) {
        relay.#sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => relay.#sockets.delete(s));
      }
      relay.#forward(down, up);
      relay.#forward(up, down);
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
    });
    await new Promise<void>((resolve) => server.listen(listen.port, listen.host, resolve));
    return relay;
  }

  /** Not pipe(): it resumes the source on every 'drain', which would undo a freeze. */
  #forward(from: Socket, to: Socket): void {
    from.on('data', (chunk) => {
      if (to.write(chunk)) return;
      from.pause();
      to.once('drain', () => this.#frozen || from.resume());
    });
  }

  freeze(): void {
    this.#frozen = true;
    for (const s of this.#sockets) s.pause();
  }

  thaw(): void {
    this.#frozen = false;
    for (const s of this.#sockets) s.resume();
  }

  kill(): void {
    for (const s of this.#sockets) s.resetAndDestroy();
  }

  async close(): Promise<void> {
    this.kill();
    await new Promise((r) => this.#server.close(r));
  }
}

/**
 * The message with every typed array replaced by its type, length and digest: vitest's deep
 * equality walks typed arrays element by element, which takes tens of seconds at a million rows.
 */
export function comparable(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return {
      type: value.constructor.name,
      bytes: value.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  }
  if (Array.isArray(value)) return value.map(comparable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]));
  }
  return value;
}

/**
 * mTLS transports over `certs` for one test file, each closed after every test: `transport` makes
 * one (with a recording log), `listening` also accepts links into its `inbound` list.
 */
export function transportFactory(certs: CertDir) {
  const open: GrpcTransport[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });
  const transport = (self: string, members: readonly string[], extra: Partial<GrpcTransportOptions> = {}) => {
    const log = recordingLog();
    const t = new GrpcTransport({
      self,
      tls: certs.tls(self.slice(0, self.lastIndexOf(':'))),
      members: () => members,
      connectTimeoutMs: 2000,
      closeGraceMs: 500,
      log,
      ...extra,
    });
    open.push(t);
    return { t, log, inbound: [] as RingLink[] };
  };
  const listening = async (self: string, members: readonly string[], extra: Partial<GrpcTransportOptions> = {}) => {
    const node = transport(self, members, extra);
    await node.t.listen((link) => node.inbound.push(link));
    return node;
  };
  return { transport, listening };
}
