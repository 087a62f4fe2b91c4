import { HostTable, Placement, parseMailServers, resolveMailServers, UserHasher } from '@usher/core';
import { dnsResolve } from '../util/dns.js';
import { UsageError } from '../util/exit-codes.js';
import type { Output } from '../util/output.js';

export interface DirectorMapOptions {
  readonly user?: string;
  readonly hosts?: string;
  readonly tag?: string;
  readonly hashFormat?: string;
  readonly users: readonly string[];
  /** doveadm pads its single-column table when stdout is not a terminal; we print the same bytes. */
  readonly pad?: boolean;
}

/**
 * `director map -u USER`: the hash only, as `doveadm director map -u` prints it (no socket needed).
 * `director map --hosts SPEC USER...`: hash and backend per user against a given host table,
 * without any running node: what an operator runs to predict a cut-over.
 */
export async function directorMap(opts: DirectorMapOptions, output: Output): Promise<number> {
  const hasher = new UserHasher(opts.hashFormat ?? '%Lu');
  if (opts.user !== undefined) {
    if (opts.users.length > 0) throw new UsageError(`Extraneous arguments found: ${opts.users.join(' ')}`);
    const hash = String(hasher.hash(opts.user));
    output.out(opts.pad ? hash.padEnd(45) : hash);
    return 0;
  }
  if (opts.hosts === undefined) throw new UsageError('director map needs -u USER, or --hosts SPEC and usernames');
  if (opts.users.length === 0) throw new UsageError('director map --hosts: no usernames given');
  const table = new HostTable();
  for (const h of await resolveMailServers(parseMailServers(opts.hosts, { extended: true }), dnsResolve)) table.set(h);
  const placement = new Placement(table);
  for (const user of opts.users) {
    const hash = hasher.hash(user);
    output.out(`${user}\t${hash}\t${placement.lookup(hash, opts.tag ?? '')?.ip.text ?? ''}`);
  }
  return 0;
}
