#!/usr/bin/env node
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { UsherError } from '@usher/core';
import { configImportDovecot } from './commands/config-import-dovecot.js';
import { DIRECTOR_USAGE, isOfflineMap, runDirector } from './commands/director/index.js';
import { directorMap } from './commands/director-map.js';
import { vectorsCheck } from './commands/vectors-check.js';
import { CliError, EX_TEMPFAIL, EX_USAGE, UsageError } from './util/exit-codes.js';
import { type Output, processOutput } from './util/output.js';

const USAGE = `usage:
  usheradm director map -u USER [--hash-format F]
  usheradm director map --hosts "SPEC" [--tag T] [--hash-format F] USER...
      SPEC: director_mail_servers syntax (IP, IP1-IP2, name, @tag), plus =VHOSTS and :down per host
${DIRECTOR_USAGE}
  usheradm vectors check FILE...
  usheradm config import-dovecot [--self IP] [--out FILE.json] FILE|-
      FILE: \`doveconf -n\` output (or a dovecot.conf); writes usherd's JSON, reports what did not carry over`;

export async function run(argv: readonly string[], output: Output = processOutput): Promise<number> {
  const [group, command, ...rest] = argv;
  try {
    if (group === 'director' && !isOfflineMap(command, rest)) return await runDirector(command, rest, output);
    if (group === 'director' && command === 'map') {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          user: { type: 'string', short: 'u' },
          hosts: { type: 'string' },
          tag: { type: 'string', short: 't' },
          'hash-format': { type: 'string' },
        },
      });
      return await directorMap(
        {
          ...(values.user === undefined ? {} : { user: values.user }),
          ...(values.hosts === undefined ? {} : { hosts: values.hosts }),
          ...(values.tag === undefined ? {} : { tag: values.tag }),
          ...(values['hash-format'] === undefined ? {} : { hashFormat: values['hash-format'] }),
          users: positionals,
          pad: output === processOutput && !process.stdout.isTTY,
        },
        output,
      );
    }
    if (group === 'vectors' && command === 'check') return await vectorsCheck(rest, output);
    if (group === 'config' && command === 'import-dovecot') {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { self: { type: 'string' }, out: { type: 'string', short: 'o' } },
      });
      if (positionals.length !== 1) throw new UsageError('config import-dovecot needs one FILE (or - for stdin)');
      return await configImportDovecot(
        {
          file: positionals[0] as string,
          ...(values.self === undefined ? {} : { self: values.self }),
          ...(values.out === undefined ? {} : { out: values.out }),
        },
        output,
      );
    }
    if (group === undefined || group === 'help' || group === '--help' || group === '-h') {
      output.out(USAGE);
      return 0;
    }
    throw new UsageError(`unknown command: ${[group, command].filter(Boolean).join(' ')}`);
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
    ) {
      output.err(`Error: ${(e as Error).message}`);
      output.err(USAGE);
      return EX_USAGE;
    }
    if (e instanceof CliError) {
      output.err(`Error: ${e.message}`);
      return e.exitCode;
    }
    if (e instanceof UsherError) {
      output.err(`Error: ${e.message}`);
      return e.code === 'HOST_SPEC' ? EX_USAGE : EX_TEMPFAIL;
    }
    throw e;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`usheradm: internal error: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
