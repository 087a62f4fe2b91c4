import { HostSpecError } from '../errors/usher-error.js';
import { type IpAddress, parseIp } from './ip-address.js';

/**
 * One entry of director_mail_servers after parsing. Hostnames stay unresolved here: core does no
 * I/O, so the edge resolves them (every A/AAAA record becomes a host remembering the name).
 */
export type MailServerEntry =
  | {
      readonly kind: 'ip';
      readonly ip: IpAddress;
      readonly tag: string;
      readonly vhostCount?: number;
      readonly down?: boolean;
    }
  | {
      readonly kind: 'name';
      readonly name: string;
      readonly tag: string;
      readonly vhostCount?: number;
      readonly down?: boolean;
    };

export interface ParseMailServersOptions {
  /**
   * Accept the usheradm extensions `host=VHOSTS` and `host:down` / `host:up` after the address
   * (and tag). Real director_mail_servers has neither.
   */
  readonly extended?: boolean;
}

export const MAX_VHOST_COUNT = 1000;
export const DEFAULT_VHOST_COUNT = 100;

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

export function parseMailServers(spec: string, options: ParseMailServersOptions = {}): MailServerEntry[] {
  const out: MailServerEntry[] = [];
  for (const token of spec.split(/[\s,]+/)) {
    if (token === '') continue;
    out.push(...parseEntry(token, options));
  }
  return out;
}

function parseEntry(token: string, options: ParseMailServersOptions): MailServerEntry[] {
  let rest = token;
  let down: boolean | undefined;
  let vhostCount: number | undefined;
  if (options.extended) {
    const state = /:(down|up)$/i.exec(rest);
    if (state) {
      down = (state[1] as string).toLowerCase() === 'down';
      rest = rest.slice(0, state.index);
    }
    const weight = /=(\d+)$/.exec(rest);
    if (weight) {
      vhostCount = Number(weight[1]);
      if (vhostCount > MAX_VHOST_COUNT) throw new HostSpecError(`vhost count too large: ${token}`, { input: token });
      rest = rest.slice(0, weight.index);
    }
  }
  let tag = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    tag = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const extra = { ...(vhostCount === undefined ? {} : { vhostCount }), ...(down === undefined ? {} : { down }) };
  const ip = parseIp(rest);
  if (ip) return [{ kind: 'ip', ip, tag, ...extra }];
  const dash = rest.indexOf('-');
  if (dash > 0) {
    const from = parseIp(rest.slice(0, dash));
    const to = parseIp(rest.slice(dash + 1));
    if (from && to) return expandRange(from, to, token).map((r) => ({ kind: 'ip', ip: r, tag, ...extra }));
  }
  if (HOSTNAME.test(rest) && !/^[\d.]+$/.test(rest)) return [{ kind: 'name', name: rest, tag, ...extra }];
  throw new HostSpecError(`invalid director_mail_servers entry: ${token}`, { input: token });
}

/**
 * IP1-IP2, both ends included. Same family, ascending, and only the low 8 bits (IPv4) or
 * low 16 bits (IPv6) may differ: a range is a run inside one subnet, never a sweep.
 */
function expandRange(from: IpAddress, to: IpAddress, token: string): IpAddress[] {
  const fail = (why: string): never => {
    throw new HostSpecError(`invalid IP range ${token}: ${why}`, { input: token });
  };
  if (from.family !== to.family) fail('families differ');
  const fixed = from.family === 4 ? 3 : 14;
  for (let i = 0; i < fixed; i++) if (from.bytes[i] !== to.bytes[i]) fail('only the last part may differ');
  const low = (b: Uint8Array) => (from.family === 4 ? (b[3] as number) : ((b[14] as number) << 8) | (b[15] as number));
  const a = low(from.bytes);
  const b = low(to.bytes);
  if (a > b) fail('start is after end');
  const out: IpAddress[] = [];
  for (let n = a; n <= b; n++) {
    const bytes = Uint8Array.from(from.bytes);
    if (from.family === 4) bytes[3] = n;
    else {
      bytes[14] = n >> 8;
      bytes[15] = n & 0xff;
    }
    const text = from.family === 4 ? `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}` : undefined;
    out.push(text ? { family: 4, bytes, text } : (parseIp(bytesToV6Text(bytes)) as IpAddress));
  }
  return out;
}

function bytesToV6Text(b: Uint8Array): string {
  const w: string[] = [];
  for (let i = 0; i < 16; i += 2) w.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16));
  return w.join(':');
}
