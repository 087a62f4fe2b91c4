import { directorAdd, directorList, directorRemove } from './directors.js';
import { hostDown, hostFlush, hostRemove, hostResetUsers, hostSet, hostUp, hostUpdate } from './host-changes.js';
import { hostList, hostListRemoved } from './host-listing.js';
import type { AdminCommand } from './types.js';
import { userKick, userKickAlt, userList, userLookup, userMove } from './users.js';

/** The 17 commands of Dovecot 2.3.19 (names are case-sensitive); nothing else is accepted. */
export const ADMIN_COMMANDS: ReadonlyMap<string, AdminCommand> = new Map<string, AdminCommand>([
  ['HOST-LIST', hostList],
  ['HOST-LIST-REMOVED', hostListRemoved],
  ['HOST-SET', hostSet],
  ['HOST-UPDATE', hostUpdate],
  ['HOST-UP', hostUp],
  ['HOST-DOWN', hostDown],
  ['HOST-REMOVE', hostRemove],
  ['HOST-FLUSH', hostFlush],
  ['HOST-RESET-USERS', hostResetUsers],
  ['USER-LOOKUP', userLookup],
  ['USER-LIST', userList],
  ['USER-MOVE', userMove],
  ['USER-KICK', userKick],
  ['USER-KICK-ALT', userKickAlt],
  ['DIRECTOR-LIST', directorList],
  ['DIRECTOR-ADD', directorAdd],
  ['DIRECTOR-REMOVE', directorRemove],
]);

export type { AdminCommand } from './types.js';
