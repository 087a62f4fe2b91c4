import { readFileSync } from 'node:fs';
import { parseIp, UserHasher } from '@usher/core';
import { parseTime, unixDate } from '../../admin-client/dates.js';
import { renderTable } from '../../admin-client/doveadm-table.js';
import { CliError, EX_TEMPFAIL } from '../../util/exit-codes.js';
import { type DirectorContext, resolveHost } from './context.js';

const MAP_COLUMNS = [
  { title: 'user', expand: true },
  { title: 'hash' },
  { title: 'mail server ip' },
  { title: 'expire time' },
];

/**
 * `director map [-f FILE] [HOST]`: the node's assignments (USER-LIST) with the usernames of FILE
 * that hash to them, as doveadm prints them. Without FILE no name is known (usheradm has no userdb
 * to iterate), so every row says <unknown>. Names sharing a hash are listed last-read first.
 */
export async function directorMapLive(
  ctx: DirectorContext,
  opts: { usersFile?: string; host?: string; hashFormat?: string },
): Promise<number> {
  const names = new Map<number, string[]>();
  if (opts.usersFile !== undefined) {
    const hasher = new UserHasher(opts.hashFormat ?? '%Lu');
    let text: string;
    try {
      text = readFileSync(opts.usersFile, 'utf8');
    } catch (e) {
      throw new CliError(`open(${opts.usersFile}) failed: ${(e as Error).message}`, EX_TEMPFAIL);
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const user of lines) {
      let hash: number;
      try {
        hash = hasher.hash(user);
      } catch (e) {
        ctx.output.err(
          `Error: Failed to expand director_username_hash=${opts.hashFormat ?? '%Lu'}: ${(e as Error).message}`,
        );
        continue;
      }
      names.set(hash, [user, ...(names.get(hash) ?? [])]);
    }
  }
  const ips = opts.host === undefined ? [] : await resolveHost(opts.host);
  return ctx.session(async (client) => {
    if (ips.length === 1) client.send('USER-LIST', ips[0] as string);
    else client.send('USER-LIST');
    const { rows, lines, complete } = await client.readRows();
    const out: { user: string | null; hash: number; ip: string; expires: number }[] = [];
    rows.forEach((r, i) => {
      const hash = /^\d+$/.test(r[0] ?? '') ? Number(r[0]) : undefined;
      const expires = parseTime(r[1] ?? '');
      const ip = parseIp(r[2] ?? '')?.text;
      if (r.length < 3 || hash === undefined || expires === undefined || ip === undefined) {
        ctx.invalidReply(`Invalid USER-LIST reply: ${lines[i]}`);
        return;
      }
      if (ips.length > 0 && !ips.includes(ip)) return;
      for (const user of names.get(hash) ?? [null]) out.push({ user, hash, ip: r[2] as string, expires });
    });
    if (ctx.json) ctx.printJson(out);
    else {
      const table = out.map((u) => [u.user ?? '<unknown>', String(u.hash), u.ip, unixDate(u.expires)]);
      for (const line of renderTable(MAP_COLUMNS, table, ctx.columns)) ctx.output.out(line);
    }
    if (!complete) ctx.disconnected();
  });
}
