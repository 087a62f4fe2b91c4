import { splitLine } from '@usher/admin';
import { parseTime, unixDate } from '../../admin-client/dates.js';
import { renderTable } from '../../admin-client/doveadm-table.js';
import type { DirectorContext } from './context.js';

const HOST_COLUMNS = [
  { title: 'mail server ip' },
  { title: 'tag' },
  { title: 'vhosts' },
  { title: 'state' },
  { title: 'state changed' },
  { title: 'users' },
];

/** `director status`: the backends (HOST-LIST), or with USER where that user goes (USER-LOOKUP). */
export async function directorStatus(ctx: DirectorContext, user?: string, tag?: string): Promise<number> {
  return ctx.session(async (client) => {
    if (user !== undefined) {
      client.send('USER-LOOKUP', user, tag ?? '');
      const line = await client.readLine();
      if (line === undefined || line === null) return ctx.disconnected();
      const f = splitLine(line);
      const expires = parseTime(f[1] ?? '');
      if (f.length !== 4 || expires === undefined) return ctx.invalidReply('Invalid reply from director');
      const [current = '', , hashed = '', initial = ''] = f;
      if (ctx.json) {
        ctx.printJson({ current: current || null, expires: current ? expires : null, hashed, initialConfig: initial });
        return;
      }
      ctx.output.out(current ? `Current: ${current} (expires ${unixDate(expires)})` : 'Current: n/a (expires -1)');
      ctx.output.out(`Hashed: ${hashed}`);
      ctx.output.out(`Initial config: ${initial}`);
      return;
    }
    client.send('HOST-LIST');
    const { rows, complete } = await client.readRows();
    // doveadm skips rows with fewer than 6 fields
    const hosts = rows
      .filter((r) => r.length >= 6)
      .map((r) => {
        const changed = parseTime(r[5] as string);
        return {
          ip: r[0] as string,
          tag: r[3] as string,
          vhosts: r[1] as string,
          state: (r[4] as string).startsWith('D') ? 'down' : 'up',
          stateChanged: changed !== undefined && changed > 0 ? changed : null,
          users: r[2] as string,
        };
      });
    if (ctx.json) {
      ctx.printJson(hosts.map((h) => ({ ...h, vhosts: Number(h.vhosts), users: Number(h.users) })));
    } else {
      const table = hosts.map((h) => [
        h.ip,
        h.tag,
        h.vhosts,
        h.state,
        h.stateChanged === null ? '-' : unixDate(h.stateChanged),
        h.users,
      ]);
      for (const line of renderTable(HOST_COLUMNS, table, ctx.columns)) ctx.output.out(line);
    }
    if (!complete) ctx.disconnected();
  });
}
