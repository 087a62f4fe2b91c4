import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

/**
 * Ring link faults between real usherd processes.
 *
 * A node's ring identity is the IP its certificate names, and peers dial exactly that IP, so a plain
 * TCP forwarder in front of a node cannot tell which peer is calling (all loopback connections come
 * from 127.0.0.1) and cannot sit on the node's address without changing it. Instead every node gets
 * its own egress proxy: usherd's gRPC client (grpc-js) honours the `grpc_proxy` environment variable
 * and opens each outbound ring connection as an HTTP CONNECT tunnel through it. The CONNECT line names
 * the peer, so the proxy knows the directed pair (from, to) of every tunnel, while TLS stays end to
 * end: certificates, identities and the ring's own checks are exactly those of production.
 *
 * A pair is `up`, `reset` (tunnels torn down, new ones refused: a crashed route, seen at once) or
 * `blackhole` (bytes held back both ways, new tunnels hang: a silent partition, seen only by pings
 * and keepalives). Restoring a blackholed pair delivers what was held, as TCP would after an outage.
 */
export type LinkState = 'up' | 'reset' | 'blackhole';

/** A blackholed tunnel holding more than this is torn down (TCP would have given up too). */
const MAX_HELD_BYTES = 8 * 1024 * 1024;
const MAX_CONNECT_HEADER = 8192;

interface Tunnel {
  readonly from: string;
  readonly to: string;
  readonly client: Socket;
  target: Socket | undefined;
  /** The CONNECT was accepted but not yet answered (the pair was blackholed at the time). */
  pending: boolean;
  readonly heldToTarget: Buffer[];
  readonly heldToClient: Buffer[];
  held: number;
}

export interface LinkStats {
  /** Tunnels opened (ring connections dialled through a proxy). */
  tunnels: number;
  /** CONNECTs refused because the pair was reset. */
  refused: number;
  /** Open tunnels torn down by a reset (or by holding too much while blackholed). */
  torn: number;
}

export class LinkProxies {
  private readonly servers = new Map<string, { server: Server; port: number }>();
  private readonly states = new Map<string, LinkState>();
  private readonly tunnels = new Set<Tunnel>();
  /** "ip:port" a peer is dialled at -> its node id (they are the same here, but keep the lookup explicit). */
  private readonly members: ReadonlySet<string>;
  readonly stats: LinkStats = { tunnels: 0, refused: 0, torn: 0 };

  private constructor(members: readonly string[]) {
    this.members = new Set(members);
  }

  /** One egress proxy per node id ("ip:port"), listening on that node's IP on a free port. */
  static async start(members: readonly string[]): Promise<LinkProxies> {
    const proxies = new LinkProxies(members);
    for (const id of members) await proxies.listen(id);
    return proxies;
  }

  /** The value of `grpc_proxy` for the node `from`. */
  proxyUrl(from: string): string {
    const s = this.servers.get(from);
    if (!s) throw new Error(`no egress proxy for ${from}`);
    return `http://${ipOf(from)}:${s.port}`;
  }

  state(from: string, to: string): LinkState {
    return this.states.get(pairKey(from, to)) ?? 'up';
  }

  /** Sets the directed pair from -> to (the link `from` opens towards `to`). */
  set(from: string, to: string, state: LinkState): void {
    const previous = this.state(from, to);
    if (state === 'up') this.states.delete(pairKey(from, to));
    else this.states.set(pairKey(from, to), state);
    if (previous === state) return;
    for (const t of [...this.tunnels]) {
      if (t.from !== from || t.to !== to) continue;
      if (state === 'reset') this.tear(t, true);
      else if (state === 'up') this.resume(t);
      // blackhole: data handlers consult the state and hold from now on
    }
  }

  /** Both directions between a and b. */
  setBoth(a: string, b: string, state: LinkState): void {
    this.set(a, b, state);
    this.set(b, a, state);
  }

  /** Pairs not up, for the report. */
  faulted(): Array<{ from: string; to: string; state: LinkState }> {
    return [...this.states].map(([k, state]) => {
      const [from = '', to = ''] = k.split(' ');
      return { from, to, state };
    });
  }

  async close(): Promise<void> {
    for (const t of [...this.tunnels]) this.tear(t);
    await Promise.all(
      [...this.servers.values()].map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }

  private async listen(from: string): Promise<void> {
    const server = createServer((client) => this.accept(from, client));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: ipOf(from), port: 0 }, () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : 0);
      });
    });
    this.servers.set(from, { server, port });
  }

  private accept(from: string, client: Socket): void {
    client.on('error', () => client.destroy());
    let header = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      header = Buffer.concat([header, chunk]);
      const end = header.indexOf('\r\n\r\n');
      if (end < 0) {
        if (header.length > MAX_CONNECT_HEADER) client.destroy();
        return;
      }
      client.removeListener('data', onData);
      client.pause();
      const line = header.subarray(0, header.indexOf('\r\n')).toString('latin1');
      const m = /^CONNECT (\S+) HTTP\/1\.[01]$/.exec(line);
      const to = m?.[1];
      if (!to || !this.members.has(to)) {
        client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      const rest = header.subarray(end + 4);
      this.open(from, to, client, rest);
    };
    client.on('data', onData);
  }

  private open(from: string, to: string, client: Socket, early: Buffer): void {
    const state = this.state(from, to);
    if (state === 'reset') {
      this.stats.refused++;
      client.end('HTTP/1.1 503 Link cut\r\n\r\n');
      return;
    }
    const t: Tunnel = {
      from,
      to,
      client,
      target: undefined,
      pending: true,
      heldToTarget: early.length > 0 ? [early] : [],
      heldToClient: [],
      held: early.length,
    };
    this.tunnels.add(t);
    this.stats.tunnels++;
    client.on('close', () => this.tear(t));
    client.on('data', (chunk: Buffer) => this.forward(t, chunk, 'toTarget'));
    // blackholed: the CONNECT hangs until the pair is restored or cut (a SYN into the void)
    if (state === 'up') this.dial(t);
  }

  private dial(t: Tunnel): void {
    t.pending = false;
    const target = netConnect({ host: ipOf(t.to), port: portOf(t.to) });
    t.target = target;
    target.on('error', () => {
      // the peer is down: answer as an HTTP proxy does, so the dialler sees a refusal, not a hang-up
      if (target.connecting && !t.client.destroyed) t.client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      this.tear(t);
    });
    target.on('close', () => this.tear(t));
    target.on('data', (chunk: Buffer) => this.forward(t, chunk, 'toClient'));
    target.once('connect', () => {
      if (t.client.destroyed) return;
      t.client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      t.client.resume();
      this.flush(t);
    });
  }

  private forward(t: Tunnel, chunk: Buffer, way: 'toTarget' | 'toClient'): void {
    if (this.state(t.from, t.to) === 'up' && !t.pending && t.target?.readyState === 'open') {
      (way === 'toTarget' ? t.target : t.client).write(chunk);
      return;
    }
    (way === 'toTarget' ? t.heldToTarget : t.heldToClient).push(chunk);
    t.held += chunk.length;
    if (t.held > MAX_HELD_BYTES) this.tear(t, true);
  }

  private resume(t: Tunnel): void {
    if (t.pending) this.dial(t);
    else this.flush(t);
  }

  private flush(t: Tunnel): void {
    const target = t.target;
    if (target?.readyState !== 'open') return;
    for (const c of t.heldToTarget.splice(0)) target.write(c);
    for (const c of t.heldToClient.splice(0)) t.client.write(c);
    t.held = 0;
  }

  private tear(t: Tunnel, forced = false): void {
    if (!this.tunnels.delete(t)) return;
    if (forced) this.stats.torn++;
    t.client.destroy();
    t.target?.destroy();
  }
}

function pairKey(from: string, to: string): string {
  return `${from} ${to}`;
}

function ipOf(id: string): string {
  return id.slice(0, id.lastIndexOf(':'));
}

function portOf(id: string): number {
  return Number(id.slice(id.lastIndexOf(':') + 1));
}
