import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled usherd (npm test and npm start build first). */
export const USHERD_MAIN = fileURLToPath(new URL('../../../server/dist/main.js', import.meta.url));

export interface UsherdAddress {
  readonly protocol: 'imap' | 'pop3' | 'lmtp' | 'managesieve';
  readonly address: string;
  readonly port: number;
  readonly ssl: boolean;
}

export interface UsherdProcess {
  readonly name: string;
  readonly pid: number;
  readonly configPath: string;
  readonly logPath: string;
  readonly addresses: readonly UsherdAddress[];
  /** SIGTERM (graceful) and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  readonly child: ChildProcess;
}

/**
 * Start a real usherd process with the given settings (usherd's JSON config keys) and wait until it
 * prints its listening addresses. Its stderr (the log) goes to `<root>/<name>.log`.
 */
export async function startUsherd(opts: {
  root: string;
  name: string;
  config: Record<string, unknown>;
  timeoutMs?: number;
}): Promise<UsherdProcess> {
  mkdirSync(opts.root, { recursive: true });
  const configPath = join(opts.root, `${opts.name}.json`);
  const logPath = join(opts.root, `${opts.name}.log`);
  writeFileSync(configPath, `${JSON.stringify({ node_name: opts.name, ...opts.config }, null, 2)}\n`);
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(process.execPath, [USHERD_MAIN, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.pipe(log);
  const addresses = await new Promise<UsherdAddress[]>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`usherd ${opts.name} did not start within ${opts.timeoutMs ?? 15_000} ms (log: ${logPath})`));
    }, opts.timeoutMs ?? 15_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /usherd ready (\[.*\])\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(JSON.parse(m[1] as string) as UsherdAddress[]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`usherd ${opts.name} exited with ${code} before it was ready (log: ${logPath})`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  return {
    name: opts.name,
    pid: child.pid as number,
    configPath,
    logPath,
    addresses,
    child,
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(kill, timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      process.off('exit', kill);
      return code;
    },
  };
}
