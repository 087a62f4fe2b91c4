import { type AdminCommand, listReply } from './types.js';

/** HOST-LIST: `ip vhost_count user_count tag U|D last_updown_change` per backend. */
export const hostList: AdminCommand = async (_args, api) =>
  listReply(
    (await api.hostList()).map((h) => [
      h.ip,
      String(h.vhostCount),
      String(h.users),
      h.tag,
      h.down ? 'D' : 'U',
      String(h.lastUpdownChange),
    ]),
  );

/** HOST-LIST-REMOVED: configured backends no longer in the table, one IP per row. */
export const hostListRemoved: AdminCommand = async (_args, api) =>
  listReply((await api.hostListRemoved()).map((ip) => [ip]));
