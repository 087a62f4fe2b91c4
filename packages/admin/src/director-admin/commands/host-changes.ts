import { parseUint32 } from '../protocol.js';
import { type AdminCommand, ipArg, malformed, OK } from './types.js';

/** `ip[@tag] [vhost_count]`; HOST-UPDATE needs the count. */
function hostChange(command: 'HOST-SET' | 'HOST-UPDATE', args: readonly string[]) {
  const spec = args[0];
  if (spec === undefined) throw malformed(command, args);
  const at = spec.indexOf('@');
  const ip = ipArg(at < 0 ? spec : spec.slice(0, at), command);
  const tag = at < 0 ? '' : spec.slice(at + 1);
  const count = args[1];
  if (count === undefined && command === 'HOST-UPDATE') throw malformed(command, args);
  const vhostCount = count === undefined ? undefined : parseUint32(count);
  if (count !== undefined && vhostCount === undefined) throw malformed(command, args);
  return { ip, tag, vhostCount };
}

export const hostSet: AdminCommand = async (args, api) => {
  const c = hostChange('HOST-SET', args);
  await api.hostSet(c.vhostCount === undefined ? { ip: c.ip, tag: c.tag } : c);
  return OK;
};

export const hostUpdate: AdminCommand = async (args, api) => {
  const c = hostChange('HOST-UPDATE', args);
  await api.hostUpdate({ ip: c.ip, tag: c.tag, vhostCount: c.vhostCount as number });
  return OK;
};

export const hostUp: AdminCommand = async (args, api) => {
  await api.hostUp(ipArg(args[0], 'HOST-UP'));
  return OK;
};

export const hostDown: AdminCommand = async (args, api) => {
  await api.hostDown(ipArg(args[0], 'HOST-DOWN'));
  return OK;
};

export const hostRemove: AdminCommand = async (args, api) => {
  await api.hostRemove(ipArg(args[0], 'HOST-REMOVE'));
  return OK;
};

/** HOST-FLUSH without an IP (or with an empty one) flushes every backend. */
export const hostFlush: AdminCommand = async (args, api) => {
  const ip = args[0];
  await api.hostFlush(ip === undefined || ip === '' ? undefined : ipArg(ip, 'HOST-FLUSH'));
  return OK;
};

/** HOST-RESET-USERS[ <ip>|<empty>[ <max_parallel>]]: max_parallel must be a positive number. */
export const hostResetUsers: AdminCommand = async (args, api) => {
  const [ip, max] = args;
  const maxParallel = max === undefined ? undefined : parseUint32(max);
  if (max !== undefined && (maxParallel === undefined || maxParallel === 0)) throw malformed('HOST-RESET-USERS', args);
  await api.hostResetUsers(ip === undefined || ip === '' ? undefined : ipArg(ip, 'HOST-RESET-USERS'), maxParallel);
  return OK;
};
