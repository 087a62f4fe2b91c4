import { parseIp, type ResolveName } from '@usher/core';
import { ConfigError } from '../config/load-config.js';

/**
 * director_servers: space-separated `ip`, `ip:port`, `[ipv6]:port`, `hostname[:port]`; a name stands
 * for every address it resolves to; the default port is this node's ring port. Returns node ids
 * ("ip:port" / "[v6]:port"), duplicates dropped.
 */
export async function parseDirectorServers(spec: string, defaultPort: number, resolve: ResolveName): Promise<string[]> {
  const out = new Set<string>();
  for (const token of spec.split(/[\s,]+/)) {
    if (token === '') continue;
    let host = token;
    let port = defaultPort;
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(token);
    if (bracket) {
      host = bracket[1] as string;
      if (bracket[2]) port = Number(bracket[2]);
    } else if (!parseIp(token)) {
      const colon = token.lastIndexOf(':');
      if (colon > 0 && /^\d+$/.test(token.slice(colon + 1))) {
        host = token.slice(0, colon);
        port = Number(token.slice(colon + 1));
      }
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(`director_servers: bad port in ${token}`, { setting: 'director_servers' });
    }
    const ip = parseIp(host);
    const addrs = ip ? [ip.text] : await resolveOrFail(host, resolve);
    for (const a of addrs) out.add(nodeId(a, port));
  }
  return [...out];
}

export function nodeId(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

async function resolveOrFail(name: string, resolve: ResolveName): Promise<readonly string[]> {
  try {
    return (await resolve(name)).map((a) => parseIp(a)?.text ?? a);
  } catch (e) {
    throw new ConfigError(`director_servers: cannot resolve ${name}: ${(e as Error).message}`, {
      setting: 'director_servers',
    });
  }
}
