import { UserHasher } from '@usher/core';
import { type DirectorContext, resolveHost } from './context.js';

/**
 * `director move USER HOST`: like doveadm, the hash is computed here (with --hash-format, the
 * node's director_username_hash; default %Lu) and sent with the first address of HOST.
 */
export async function directorMove(
  ctx: DirectorContext,
  opts: { user: string; host: string; hashFormat?: string },
): Promise<number> {
  let hash: number;
  try {
    hash = new UserHasher(opts.hashFormat ?? '%Lu').hash(opts.user);
  } catch (e) {
    ctx.error(`Failed to expand director_username_hash=${opts.hashFormat ?? '%Lu'}: ${(e as Error).message}`);
    return ctx.exitCode;
  }
  const ip = (await resolveHost(opts.host))[0] as string;
  return ctx.session(async (client) => {
    client.send('USER-MOVE', String(hash), ip);
    const line = await client.readLine();
    if (line === undefined || line === null) ctx.disconnected();
    else if (line === 'OK') ctx.info(`User hash ${hash} moved to ${ip}`);
    else if (line === 'NOTFOUND') ctx.notFound(`Host '${ip}' doesn't exist`);
    else if (line === 'TRYAGAIN') ctx.error('User is already being moved, wait a while for it to be finished');
    else ctx.error(`failed: ${line}`);
  });
}

/** `director kick [-f FIELD] USER`: every node closes the user's sessions (USER-KICK / USER-KICK-ALT). */
export async function directorKick(ctx: DirectorContext, opts: { user: string; field?: string }): Promise<number> {
  return ctx.session(async (client) => {
    if (opts.field === undefined) client.send('USER-KICK', opts.user);
    else client.send('USER-KICK-ALT', opts.field, opts.user);
    const line = await client.readLine();
    if (line === undefined || line === null) ctx.disconnected();
    else if (line === 'OK') ctx.info(`User ${opts.user} kicked`);
    else ctx.error(`failed: ${line}`);
  });
}
