import { readFileSync, writeFileSync } from 'node:fs';
import { parseDovecotConf } from '../config-import/dovecot-conf.js';
import type { Finding } from '../config-import/findings.js';
import { importDovecot } from '../config-import/import-dovecot.js';
import { CliError, EX_DATAERR, EX_NOTFOUND, UsageError } from '../util/exit-codes.js';
import type { Output } from '../util/output.js';

export interface ConfigImportOptions {
  /** `doveconf -n` output or a dovecot.conf; "-" = stdin. */
  readonly file: string;
  /** Write the JSON here instead of stdout. */
  readonly out?: string;
  /** This node's ring address (one JSON per node). */
  readonly self?: string;
}

/**
 * `usheradm config import-dovecot FILE`: the JSON for usherd on stdout (or --out), and on stderr
 * everything that did not carry over, by Dovecot setting name and line: first what must be done
 * before usherd can run as the director did, then settings with no equivalent, then the ignored.
 */
export async function configImportDovecot(opts: ConfigImportOptions, output: Output): Promise<number> {
  let text: string;
  try {
    text = opts.file === '-' ? readFileSync(0, 'utf8') : readFileSync(opts.file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${opts.file}: ${(e as Error).message}`, EX_NOTFOUND);
  }
  const parsed = parseDovecotConf(text);
  if (parsed.errors.length > 0) {
    for (const e of parsed.errors) output.err(`${opts.file}:${e.line}: ${e.message}`);
    throw new CliError(`${opts.file}: not a Dovecot configuration this importer understands`, EX_DATAERR);
  }
  if (parsed.root.settings.length === 0 && parsed.root.sections.length === 0)
    throw new UsageError(`${opts.file}: no settings found`);
  const { config, findings } = importDovecot(parsed, {
    ...(opts.self ? { self: opts.self } : {}),
    readFile: (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    },
  });
  const json = `${JSON.stringify(config, null, 2)}\n`;
  if (opts.out) writeFileSync(opts.out, json);
  else output.out(json.trimEnd());

  const hosts = String(config.director_mail_servers ?? '')
    .split(/\s+/)
    .filter(Boolean).length;
  const ring = String(config.director_servers ?? '')
    .split(/\s+/)
    .filter(Boolean).length;
  const listeners = Array.isArray(config.listeners) ? config.listeners.length : 0;
  output.err(
    `imported ${opts.file}${parsed.version ? ` (Dovecot ${parsed.version})` : ''}: ${hosts} director_mail_servers entr${hosts === 1 ? 'y' : 'ies'}, ${ring ? `ring of ${ring}` : 'standalone'}, ${listeners} listener${listeners === 1 ? '' : 's'}${opts.out ? ` -> ${opts.out}` : ''}`,
  );
  const section = (title: string, list: readonly Finding[]) => {
    if (list.length === 0) return;
    output.err(title);
    for (const f of list) output.err(`  ${f.setting}${f.line ? ` (line ${f.line})` : ''}: ${f.reason}`);
  };
  section('needs attention before usherd starts:', findings.attentionList);
  section('not carried over (no equivalent in usherd):', findings.notCarriedList);
  if (findings.ignoredList.length > 0) {
    output.err('ignored (Dovecot internals a proxy ring does not need):');
    output.err(`  ${findings.ignoredList.map((f) => f.setting).join(', ')}`);
  }
  return 0;
}
