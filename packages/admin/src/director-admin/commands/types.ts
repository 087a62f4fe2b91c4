import { parseIp } from '@usher/core';
import type { DirectorAdminApi } from '../api.js';
import { AdminProtocolError, formatLine } from '../protocol.js';

/**
 * One director-admin command: it gets the unescaped arguments after the command name and resolves
 * with the complete reply (LFs included). Malformed arguments throw AdminProtocolError (the
 * connection is closed without a reply, as Dovecot does); API failures throw the typed errors,
 * which the connection turns into their one-line reply.
 */
export type AdminCommand = (args: readonly string[], api: DirectorAdminApi) => Promise<string>;

export const OK = 'OK\n';

/** Rows followed by the empty line that ends every list reply. */
export function listReply(rows: readonly (readonly string[])[]): string {
  return `${rows.map(formatLine).join('')}\n`;
}

/** An IP literal argument, as Dovecot's net_addr2ip takes it; anything else is a malformed command. */
export function ipArg(value: string | undefined, command: string): string {
  const ip = value === undefined ? undefined : parseIp(value);
  if (!ip) throw new AdminProtocolError(`doveadm sent invalid ${command} parameters`, { command, value });
  return ip.text;
}

export function malformed(command: string, args: readonly string[]): AdminProtocolError {
  return new AdminProtocolError(`doveadm sent invalid ${command} parameters`, { command, args: args.join(' ') });
}
