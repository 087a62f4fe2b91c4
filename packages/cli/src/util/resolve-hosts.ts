import { lookup } from 'node:dns/promises';
import { type HostInput, HostSpecError, type MailServerEntry, requireIp } from '@usher/core';

/** The edge half of director_mail_servers: every A/AAAA record of a name becomes a host remembering the name. */
export async function resolveMailServers(entries: readonly MailServerEntry[]): Promise<HostInput[]> {
  const out: HostInput[] = [];
  for (const e of entries) {
    const extra = {
      tag: e.tag,
      ...(e.vhostCount === undefined ? {} : { vhostCount: e.vhostCount }),
      ...(e.down === undefined ? {} : { down: e.down }),
    };
    if (e.kind === 'ip') {
      out.push({ ip: e.ip, ...extra });
      continue;
    }
    let addrs: { address: string }[];
    try {
      addrs = await lookup(e.name, { all: true });
    } catch (err) {
      throw new HostSpecError(`cannot resolve ${e.name}: ${(err as Error).message}`, { input: e.name });
    }
    for (const a of addrs) out.push({ ip: requireIp(a.address), hostname: e.name, ...extra });
  }
  return out;
}
