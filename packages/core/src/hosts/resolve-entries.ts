import { HostSpecError } from '../errors/usher-error.js';
import type { HostInput } from './host-table.js';
import { requireIp } from './ip-address.js';
import type { MailServerEntry } from './mail-servers.js';

/** Name lookup, injected by the edge (dns.lookup with all: true). Core does no I/O itself. */
export type ResolveName = (name: string) => Promise<readonly string[]>;

/** director_mail_servers entries to hosts: every address of a name becomes a host remembering the name. */
export async function resolveMailServers(
  entries: readonly MailServerEntry[],
  resolve: ResolveName,
): Promise<HostInput[]> {
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
    let addrs: readonly string[];
    try {
      addrs = await resolve(e.name);
    } catch (err) {
      throw new HostSpecError(`cannot resolve ${e.name}: ${(err as Error).message}`, { input: e.name });
    }
    for (const a of addrs) out.push({ ip: requireIp(a), hostname: e.name, ...extra });
  }
  return out;
}
