import type { DirectorContext } from './context.js';

/**
 * `director dump`: the doveadm commands that re-create the node's backend table (runtime changes
 * are not persistent), exactly as doveadm prints them, -a included when it was given.
 */
export async function directorDump(ctx: DirectorContext): Promise<number> {
  return ctx.session(async (client) => {
    const socket = ctx.explicitSocket ? `-a ${ctx.socket} ` : '';
    client.send('HOST-LIST');
    const hosts = await client.readRows();
    const add = hosts.rows
      .filter((r) => r.length >= 2)
      .map((r) => ({ host: r[3] ? `${r[0]}@${r[3]}` : (r[0] as string), vhosts: r[1] as string }));
    client.send('HOST-LIST-REMOVED');
    const removed = await client.readRows();
    const remove = removed.lines;
    if (ctx.json) ctx.printJson({ add: add.map((a) => ({ ...a, vhosts: Number(a.vhosts) })), remove });
    else {
      for (const a of add) ctx.output.out(`doveadm director add ${socket}${a.host} ${a.vhosts}`);
      for (const ip of remove) ctx.output.out(`doveadm director remove ${socket}${ip} `);
    }
    if (!hosts.complete || !removed.complete) ctx.disconnected();
  });
}
