import type { DirectorRow, RingState } from '../api.js';
import { parsePort } from '../protocol.js';
import { type AdminCommand, ipArg, listReply, malformed, OK } from './types.js';

/**
 * DIRECTOR-LIST rows as Dovecot 2.3 writes them (reference §6.2):
 *   self:      ip port self last_failed <ring state> <last sync ms>
 *   with link: ip port left|right|in|out last_failed <state> ping_ms in out buffered peak last_in last_out
 *   no link:   ip port ""|removed last_failed <state>
 * Counters Usher does not keep are "-" (doveadm prints them as they are); a member without a link
 * shows "connecting" or "failed" where Dovecot leaves the field empty.
 */
export const directorList: AdminCommand = async (_args, api) => listReply((await api.directorList()).map(directorRow));

export function directorRow(row: DirectorRow): string[] {
  const head = [row.ip, String(row.port)];
  switch (row.kind) {
    case 'self':
      return [...head, 'self', '0', selfState(row.ring, row.syncLagMs), String(row.lastSyncMs)];
    case 'link':
      return [
        ...head,
        row.type,
        String(row.lastFailed),
        linkState(row.state),
        opt(row.pingMs),
        '-',
        '-',
        String(row.buffered),
        '-',
        opt(row.lastInput),
        '-',
      ];
    case 'member':
      return [...head, row.removed ? 'removed' : '', String(row.lastFailed), row.state === 'idle' ? '' : row.state];
  }
}

function selfState(ring: RingState, lagMs: number | undefined): string {
  if (ring !== 'syncing') return `ring ${ring}`;
  return `ring syncing - last sync ${Math.floor((lagMs ?? 0) / 1000)} secs ago`;
}

function linkState(state: RingState): string {
  return state === 'handshaking' ? 'handshaking - 0 USERs received' : state;
}

function opt(n: number | undefined): string {
  return n === undefined ? '-' : String(Math.round(n));
}

/** DIRECTOR-ADD <ip>[ <port>]. */
export const directorAdd: AdminCommand = async (args, api) => {
  const [ip, port] = directorArgs('DIRECTOR-ADD', args);
  await api.directorAdd(ip, port);
  return OK;
};

/** DIRECTOR-REMOVE <ip>[ <port>]. */
export const directorRemove: AdminCommand = async (args, api) => {
  const [ip, port] = directorArgs('DIRECTOR-REMOVE', args);
  await api.directorRemove(ip, port);
  return OK;
};

function directorArgs(command: string, args: readonly string[]): [string, number | undefined] {
  const ip = ipArg(args[0], command);
  if (args[1] === undefined) return [ip, undefined];
  const port = parsePort(args[1]);
  if (port === undefined) throw malformed(command, args);
  return [ip, port];
}
