import { parseIp } from '@usher/core';
import { parseTime, unixDate } from '../../admin-client/dates.js';
import { renderTable } from '../../admin-client/doveadm-table.js';
import { UsageError } from '../../util/exit-codes.js';
import type { DirectorContext } from './context.js';

const RING_COLUMNS = [
  'director ip',
  'port',
  'type',
  'last failed',
  'status',
  'ping ms',
  'input',
  'output',
  'buffered',
  'buffered peak',
  'last read',
  'last write',
].map((title) => ({ title }));
const TIME_FIELDS = new Set([3, 10, 11]);
const JSON_KEYS = [
  'ip',
  'port',
  'type',
  'lastFailed',
  'status',
  'pingMs',
  'input',
  'output',
  'buffered',
  'bufferedPeak',
  'lastRead',
  'lastWrite',
];

/**
 * `director ring status`: one row per ring link, plus one per member without a link (DIRECTOR-LIST).
 * The self row's status tells whether the ring is synced ("ring syncing - last sync N secs ago"
 * while a sync round is pending) and its ping column the last sync round's duration in ms; a link
 * row's status is the peer's view of the sync, "last read" when it was last heard from.
 */
export async function directorRingStatus(ctx: DirectorContext): Promise<number> {
  return ctx.session(async (client) => {
    client.send('DIRECTOR-LIST');
    const { rows, complete } = await client.readRows();
    if (ctx.json) {
      ctx.printJson(
        rows.map((r) =>
          Object.fromEntries(
            JSON_KEYS.slice(0, r.length).map((k, i) => {
              const v = r[i] as string;
              return [k, i === 0 || i === 2 || i === 4 ? v : /^-?\d+$/.test(v) ? Number(v) : null];
            }),
          ),
        ),
      );
    } else {
      const table = rows.map((r) =>
        RING_COLUMNS.map((_, i) => {
          const v = r[i];
          if (v === undefined) return '-';
          const ts = TIME_FIELDS.has(i) ? parseTime(v) : undefined;
          return ts === undefined ? v : ts === 0 ? 'never' : unixDate(ts);
        }),
      );
      for (const line of renderTable(RING_COLUMNS, table, ctx.columns)) ctx.output.out(line);
    }
    if (!complete) ctx.disconnected();
  });
}

/** `director ring add|remove IP [PORT]`. */
export async function directorRingChange(
  ctx: DirectorContext,
  remove: boolean,
  ip: string,
  port?: string,
): Promise<number> {
  const addr = parseIp(ip);
  if (!addr || (port !== undefined && !/^\d+$/.test(port)) || Number(port) > 65535 || port === '0') {
    throw new UsageError(`director ring ${remove ? 'remove' : 'add'} needs IP [PORT]`);
  }
  return ctx.session(async (client) => {
    const command = remove ? 'DIRECTOR-REMOVE' : 'DIRECTOR-ADD';
    if (port === undefined) client.send(command, addr.text);
    else client.send(command, addr.text, String(Number(port)));
    const line = await client.readLine();
    if (line === undefined || line === null) ctx.disconnected();
    else if (line === 'NOTFOUND') ctx.error('Not found', 68);
    else if (line !== 'OK') ctx.error(`Failed: ${line}`);
  });
}
