import { formatLine } from '../protocol.js';
import { type AdminCommand, ipArg, listReply, malformed, OK } from './types.js';

/**
 * USER-LOOKUP[ <user|hash>[ <tag>]]: one line `current_ip expire_ts hashed_ip initial_ip`; a user
 * without an assignment has an empty current IP and expiry 0.
 */
export const userLookup: AdminCommand = async (args, api) => {
  const r = await api.userLookup(args[0] ?? '', args[1] ?? '');
  return formatLine([r.current?.ip ?? '', String(r.current?.expires ?? 0), r.hashedIp, r.initialIp]);
};

/** USER-LIST[ <ip>]: `hash expire_ts ip` per live assignment, oldest first. */
export const userList: AdminCommand = async (args, api) => {
  const ip = args[0];
  const users = await api.userList(ip === undefined || ip === '' ? undefined : ipArg(ip, 'USER-LIST'));
  return listReply(users.map((u) => [String(u.userHash), String(u.expires), u.ip]));
};

/** USER-MOVE <user|hash> <ip>. */
export const userMove: AdminCommand = async (args, api) => {
  if (args[0] === undefined || args[1] === undefined) throw malformed('USER-MOVE', args);
  await api.userMove(args[0], ipArg(args[1], 'USER-MOVE'));
  return OK;
};

/** USER-KICK <user>[ nowait]. */
export const userKick: AdminCommand = async (args, api) => {
  if (args[0] === undefined) throw malformed('USER-KICK', args);
  await api.userKick(args[0], args[1] === 'nowait');
  return OK;
};

/** USER-KICK-ALT <field> <value>[ nowait]. */
export const userKickAlt: AdminCommand = async (args, api) => {
  if (args[0] === undefined || args[1] === undefined) throw malformed('USER-KICK-ALT', args);
  await api.userKickAlt(args[0], args[1], args[2] === 'nowait');
  return OK;
};
