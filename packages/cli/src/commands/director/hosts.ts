import { UsageError } from '../../util/exit-codes.js';
import { type DirectorContext, resolveHost, uintArg } from './context.js';

/**
 * `director add [-t TAG] HOST [VHOSTS]` and `director update HOST VHOSTS`: one HOST-SET/HOST-UPDATE
 * per address of HOST, all sent before the replies are read (as doveadm does).
 */
export async function directorAddOrUpdate(
  ctx: DirectorContext,
  update: boolean,
  opts: { host: string; vhosts?: string; tag?: string },
): Promise<number> {
  const command = update ? 'HOST-UPDATE' : 'HOST-SET';
  if (update && opts.vhosts === undefined) throw new UsageError('director update needs HOST and VHOSTS');
  const vhosts = opts.vhosts === undefined ? undefined : uintArg(opts.vhosts, 'vhost count');
  // a bare number would parse as an IPv4 address: almost certainly a mistake
  if (/^\d+$/.test(opts.host)) throw new UsageError(`Invalid host '${opts.host}'`);
  let host = opts.host;
  let tag = opts.tag === '' ? undefined : opts.tag;
  if (tag === undefined && host.includes('@')) {
    tag = host.slice(host.indexOf('@') + 1);
    host = host.slice(0, host.indexOf('@'));
  }
  const ips = await resolveHost(host);
  return ctx.session(async (client) => {
    for (const ip of ips) {
      const spec = tag === undefined ? ip : `${ip}@${tag}`;
      if (vhosts === undefined) client.send(command, spec);
      else client.send(command, spec, String(vhosts));
    }
    for (const ip of ips) {
      const line = await client.readLine();
      if (line === undefined || line === null) ctx.disconnected();
      else if (line !== 'OK') ctx.error(`${ip}: ${line === 'NOTFOUND' ? "doesn't exist" : line}`);
      else ctx.info(`${ip}: OK`);
    }
  });
}

const DONE: Record<string, string> = { 'HOST-UP': 'up', 'HOST-DOWN': 'down', 'HOST-REMOVE': 'removed' };

/**
 * `director up|down|remove HOST`. Removing a backend that still has users drops their assignments
 * without kicking their sessions (Dovecot does the same): usheradm says so on stderr, and goes on.
 */
export async function directorHostCommand(
  ctx: DirectorContext,
  command: 'HOST-UP' | 'HOST-DOWN' | 'HOST-REMOVE',
  host: string,
): Promise<number> {
  const ips = await resolveHost(host);
  return ctx.session(async (client) => {
    if (command === 'HOST-REMOVE') await warnAboutUsers(ctx, client, ips);
    for (const ip of ips) client.send(command, ip);
    for (const ip of ips) {
      const line = await client.readLine();
      if (line === 'NOTFOUND') ctx.notFound(`${ip}: doesn't exist`);
      else if (line === undefined || line === null) ctx.disconnected();
      else if (line !== 'OK') ctx.error(`${ip}: ${line}`);
      else ctx.info(`${ip}: ${DONE[command]}`);
    }
  });
}

async function warnAboutUsers(
  ctx: DirectorContext,
  client: Awaited<ReturnType<DirectorContext['connect']>>,
  ips: readonly string[],
): Promise<void> {
  client.send('HOST-LIST');
  const { rows } = await client.readRows();
  for (const r of rows) {
    const users = Number(r[2]);
    if (ips.includes(r[0] as string) && users > 0) {
      ctx.warning(
        `${r[0]} has ${users} users: removing it drops their assignments without kicking their sessions, so a user may be served by two backends at once (move them first with "director flush ${r[0]}")`,
      );
    }
  }
}
