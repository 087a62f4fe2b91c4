#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { UsherError } from '@usher/core';
import { loadConfig } from './config/load-config.js';
import { whereIs } from './config/locate.js';
import { createLogger } from './log/logger.js';
import { UsherNode } from './usher-node.js';

const USAGE = 'usage: usherd [--config FILE] [--check-config] [--set key=value]...';

/** usherd: exit 0 on a clean stop, 78 (EX_CONFIG) on a configuration error, 1 on a start failure. */
export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', short: 'c' },
      'check-config': { type: 'boolean' },
      set: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const overrides: Record<string, unknown> = {};
  for (const kv of values.set ?? []) {
    const eq = kv.indexOf('=');
    if (eq < 1) {
      process.stderr.write(`usherd: --set needs key=value: ${kv}\n`);
      return 64;
    }
    const raw = kv.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // plain strings need no quotes on the command line
    }
    setPath(overrides, kv.slice(0, eq), value);
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ ...(values.config ? { file: values.config } : {}), overrides });
  } catch (e) {
    process.stderr.write(`usherd: configuration error: ${(e as Error).message}\n`);
    return 78;
  }
  if (values['check-config']) {
    process.stdout.write('configuration OK\n');
    return 0;
  }
  const log = createLogger({ node: config.nodeName, format: config.logFormat, level: config.logLevel });
  const node = new UsherNode(config, log);
  try {
    await node.start();
  } catch (e) {
    const setting = e instanceof UsherError ? e.context.setting : undefined;
    // settings checked only at start (addresses, certificates, DNS) get a file line too
    const at =
      typeof setting === 'string'
        ? whereIs(setting, { ...(values.config ? configOrigin(values.config) : {}), overrides })
        : '';
    const where = at ? { where: at } : {};
    log.error('start failed', { error: (e as Error).message, ...(e instanceof UsherError ? e.context : {}), ...where });
    await node.stop(0);
    return e instanceof UsherError && e.code === 'CONFIG' ? 78 : 1;
  }
  process.stdout.write(`usherd ready ${JSON.stringify(node.addresses())}\n`);
  return await new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: string) => {
      signals++;
      if (signals > 1) {
        log.warn('second signal: stopping now', { signal: sig });
        void node.stop(0).then(() => resolve(0));
        return;
      }
      log.info('signal received', { signal: sig });
      void node.stop().then(() => resolve(0));
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  });
}

function configOrigin(file: string): { file: string; text?: string } {
  try {
    return { file, text: readFileSync(file, 'utf8') };
  } catch {
    return { file };
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let t = target;
  for (const k of keys.slice(0, -1)) {
    t[k] ??= {};
    t = t[k] as Record<string, unknown>;
  }
  t[keys[keys.length - 1] as string] = value;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`usherd: unhandled rejection: ${(e as Error)?.stack ?? String(e)}\n`);
  });
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`usherd: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
