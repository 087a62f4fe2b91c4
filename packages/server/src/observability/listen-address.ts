import { isIP } from 'node:net';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * metrics_listen: "ip:port" or "[ipv6]:port"; "" means off. An address is required on purpose:
 * the endpoint tells anyone who can reach it the backend list and user counts, so the operator
 * picks the interface (a management address, or 127.0.0.1 behind a local agent).
 */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) return undefined;
  const host = m[1] as string;
  const port = Number(m[2]);
  if (isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}
