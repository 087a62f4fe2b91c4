import { parseIp } from '@usher/core';
import { type DirectorContext, resolveHost } from './context.js';

/**
 * `director flush [-F] [--max-parallel N] HOST|all`. Without -F the users are moved (HOST-RESET-USERS):
 * each one's sessions are kicked everywhere before it goes to its new backend, N at a time. With
 * -F their assignments are just dropped (HOST-FLUSH), which is unsafe; usheradm warns and goes on,
 * as doveadm would.
 */
export async function directorFlush(
  ctx: DirectorContext,
  opts: { host: string; force: boolean; maxParallel?: number },
): Promise<number> {
  if (opts.force) {
    ctx.warning(
      'flush -F drops assignments without kicking the sessions: a user may be served by two backends at once (a flush without -F moves users safely)',
    );
  }
  const max = opts.maxParallel !== undefined && opts.maxParallel > 0 ? opts.maxParallel : undefined;
  if (opts.host === 'all') {
    return ctx.session(async (client) => {
      if (opts.force) client.send('HOST-FLUSH');
      else if (max !== undefined) client.send('HOST-RESET-USERS', '', String(max));
      else client.send('HOST-RESET-USERS');
      const line = await client.readLine();
      if (line === undefined || line === null) ctx.disconnected();
      else if (line !== 'OK') ctx.error(`failed: ${line}`);
      else ctx.info('flushed');
    });
  }
  const ip = parseIp(opts.host);
  const ips = ip ? [ip.text] : await resolveHost(opts.host);
  return ctx.session(async (client) => {
    for (const a of ips) {
      if (opts.force) client.send('HOST-FLUSH', a);
      else if (max !== undefined) client.send('HOST-RESET-USERS', a, String(max));
      else client.send('HOST-RESET-USERS', a);
    }
    for (const a of ips) {
      const line = await client.readLine();
      if (line === 'NOTFOUND') ctx.notFound(`${a}: doesn't exist`, true);
      else if (line === undefined || line === null) ctx.disconnected();
      else if (line !== 'OK') ctx.warning(`${a}: ${line}`, 75);
      else ctx.info(`${a}: flushed`);
    }
  });
}
