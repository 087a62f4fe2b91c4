import { parseArgs } from 'node:util';
import type { GrpcTarget } from '../../admin-client/grpc-target.js';
import { UsageError } from '../../util/exit-codes.js';
import { type Output, processOutput } from '../../util/output.js';
import { DirectorContext, uintArg } from './context.js';
import { directorDump } from './dump.js';
import { directorFlush } from './flush.js';
import { directorAddOrUpdate, directorHostCommand } from './hosts.js';
import { directorMapLive } from './map.js';
import { directorRingChange, directorRingStatus } from './ring.js';
import { directorStatus } from './status.js';
import { directorKick, directorMove } from './users.js';

export const DIRECTOR_USAGE = `  usheradm director status [-a SOCKET] [--json] [USER [TAG]]
  usheradm director map [-a SOCKET] [--json] [-f FILE] [--hash-format F] [HOST]
  usheradm director add [-a SOCKET] [-t TAG] HOST[@TAG] [VHOSTS]
  usheradm director update [-a SOCKET] HOST VHOSTS
  usheradm director up|down|remove [-a SOCKET] HOST
  usheradm director move [-a SOCKET] [--hash-format F] USER HOST
  usheradm director kick [-a SOCKET] [-f PASSDB_FIELD] USER
  usheradm director flush [-a SOCKET] [-F] [--max-parallel N] HOST|all
  usheradm director dump [-a SOCKET] [--json]
  usheradm director ring status [-a SOCKET] [--json]
  usheradm director ring add|remove [-a SOCKET] IP [PORT]
      SOCKET: a director-admin socket path (default /run/dovecot/director-admin) or host:port;
      or, instead of -a, the node's gRPC admin API: --grpc HOST:PORT [--token-file F] [--ca F [--cert F --key F]]
      (defaults from USHERADM_GRPC, USHERADM_TOKEN_FILE, USHERADM_CA, USHERADM_CERT, USHERADM_KEY);
      -v prints what succeeded; exit codes as doveadm: 0, 68 not found, 75 failed, 65 bad reply`;

/**
 * `director map -u` and `director map --hosts` need no node; every other director command talks to
 * one. A bare `director map` stays the usage error it always was: the live listing needs -a, -f or
 * a HOST (doveadm would list its userdb there, which usheradm does not have).
 */
export function isOfflineMap(command: string | undefined, args: readonly string[]): boolean {
  return command === 'map' && (args.length === 0 || args.some((a) => /^(-u|--user|--hosts)(=|$)|^-u./.test(a)));
}

const COMMON = {
  a: { type: 'string', short: 'a' },
  grpc: { type: 'string' },
  'token-file': { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  json: { type: 'boolean' },
} as const;

/** Common options that take a value, so `director --grpc X status` still finds the command. */
const VALUED = new Set(['-a', '--grpc', '--token-file', '--ca', '--cert', '--key']);

interface CommonValues {
  a?: string | undefined;
  grpc?: string | undefined;
  'token-file'?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  verbose?: boolean | undefined;
  json?: boolean | undefined;
}

/** --grpc and its credentials, each defaulting to its USHERADM_* variable; -a wins over USHERADM_GRPC. */
function grpcTarget(values: CommonValues): { grpc?: GrpcTarget } {
  const env = process.env;
  const address = values.grpc ?? (values.a === undefined ? env.USHERADM_GRPC : undefined);
  if (address === undefined || address === '') return {};
  if (values.a !== undefined) throw new UsageError('-a and --grpc: choose one');
  const pick = (flag: string | undefined, name: string) => {
    const v = flag ?? env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const tokenFile = pick(values['token-file'], 'USHERADM_TOKEN_FILE');
  const ca = pick(values.ca, 'USHERADM_CA');
  const cert = pick(values.cert, 'USHERADM_CERT');
  const key = pick(values.key, 'USHERADM_KEY');
  return {
    grpc: {
      address,
      ...(tokenFile === undefined ? {} : { tokenFile }),
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    },
  };
}

/** `usheradm director <command> ...` against a node's director-admin socket, as `doveadm director`. */
export async function runDirector(first: string | undefined, rest: readonly string[], output: Output): Promise<number> {
  // options may come before the command too (`director -v -a SOCKET add ...`)
  const words = first === undefined ? [...rest] : [first, ...rest];
  const leading: string[] = [];
  while (words[0]?.startsWith('-')) {
    const w = words.shift() as string;
    leading.push(w);
    if (VALUED.has(w) && words.length > 0) leading.push(words.shift() as string);
  }
  const [command, ...after] = words;
  const argv = [...leading, ...after];
  const parse = <O extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(options: O) =>
    parseArgs({ args: [...argv], allowPositionals: true, options: { ...COMMON, ...options } });
  const context = (values: CommonValues) =>
    new DirectorContext({
      ...(values.a === undefined ? {} : { socket: values.a }),
      ...grpcTarget(values),
      verbose: values.verbose === true,
      json: values.json === true,
      columns: output === processOutput && process.stdout.isTTY ? process.stdout.columns : 80,
      output,
    });
  const positional = (p: string[], min: number, max: number): string[] => {
    if (p.length < min || p.length > max) throw new UsageError(`director ${command}: wrong number of arguments`);
    return p;
  };
  switch (command) {
    case 'status': {
      const { values, positionals } = parse({});
      const [user, tag] = positional(positionals, 0, 2);
      return directorStatus(context(values), user, tag);
    }
    case 'map': {
      const { values, positionals } = parse({ f: { type: 'string', short: 'f' }, 'hash-format': { type: 'string' } });
      const [host] = positional(positionals, 0, 1);
      return directorMapLive(context(values), {
        ...(values.f === undefined ? {} : { usersFile: values.f }),
        ...(host === undefined ? {} : { host }),
        ...(values['hash-format'] === undefined ? {} : { hashFormat: values['hash-format'] }),
      });
    }
    case 'add':
    case 'update': {
      const { values, positionals } = parse(command === 'add' ? { t: { type: 'string', short: 't' } } : {});
      const [host, vhosts] = positional(positionals, 1, 2) as [string, string | undefined];
      const tag = (values as { t?: string }).t;
      return directorAddOrUpdate(context(values), command === 'update', {
        host,
        ...(vhosts === undefined ? {} : { vhosts }),
        ...(tag === undefined ? {} : { tag }),
      });
    }
    case 'up':
    case 'down':
    case 'remove': {
      const { values, positionals } = parse({});
      const [host] = positional(positionals, 1, 1) as [string];
      const cmd = command === 'up' ? 'HOST-UP' : command === 'down' ? 'HOST-DOWN' : 'HOST-REMOVE';
      return directorHostCommand(context(values), cmd, host);
    }
    case 'move': {
      const { values, positionals } = parse({ 'hash-format': { type: 'string' } });
      const [user, host] = positional(positionals, 2, 2) as [string, string];
      const hashFormat = values['hash-format'];
      return directorMove(context(values), { user, host, ...(hashFormat === undefined ? {} : { hashFormat }) });
    }
    case 'kick': {
      const { values, positionals } = parse({ f: { type: 'string', short: 'f' } });
      const [user] = positional(positionals, 1, 1) as [string];
      return directorKick(context(values), { user, ...(values.f === undefined ? {} : { field: values.f }) });
    }
    case 'flush': {
      const { values, positionals } = parse({ F: { type: 'boolean', short: 'F' }, 'max-parallel': { type: 'string' } });
      const [host] = positional(positionals, 1, 1) as [string];
      const max = values['max-parallel'];
      return directorFlush(context(values), {
        host,
        force: values.F === true,
        ...(max === undefined ? {} : { maxParallel: uintArg(max, 'max-parallel') }),
      });
    }
    case 'dump': {
      const { values, positionals } = parse({});
      positional(positionals, 0, 0);
      return directorDump(context(values));
    }
    case 'ring': {
      const { values, positionals } = parse({});
      const [sub, ip, port] = positional(positionals, 1, 3);
      if (sub === 'status' && positionals.length === 1) return directorRingStatus(context(values));
      if ((sub === 'add' || sub === 'remove') && ip !== undefined) {
        return directorRingChange(context(values), sub === 'remove', ip, port);
      }
      throw new UsageError('director ring status | add IP [PORT] | remove IP [PORT]');
    }
    default:
      throw new UsageError(`unknown command: director ${command ?? ''}`.trim());
  }
}
