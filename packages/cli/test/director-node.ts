import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../src/main.js';
import { capture } from './capture.js';

const USHERD = fileURLToPath(new URL('../../server/dist/main.js', import.meta.url));

/** What a tool printed: stdout as doveadm writes it (lines with LF), stderr likewise, the exit code. */
export interface ToolResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface DirectorNode {
  readonly dir: string;
  readonly socket: string;
  /** What usherd has logged so far (stderr). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A standalone usherd with only its director-admin socket (no listeners, no ring, no health
 * checks): a node both tools can question. Its backends are never contacted.
 */
export async function startDirectorNode(
  mailServers: string,
  hashFormat: string,
  extra: Record<string, unknown> = {},
): Promise<DirectorNode> {
  const dir = mkdtempSync(join(tmpdir(), 'usher-cli-director-'));
  const socket = join(dir, 'director-admin');
  const config = join(dir, 'usherd.json');
  writeFileSync(
    config,
    JSON.stringify({
      node_name: 'cli-test',
      director_mail_servers: mailServers,
      director_username_hash: hashFormat,
      director_admin_socket: socket,
      director_user_kick_delay: '100 ms',
      health_checks: false,
      ...extra,
    }),
  );
  const child: ChildProcess = spawn(process.execPath, [USHERD, '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`usherd did not start: ${log}`)), 15_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('usherd ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`usherd exited ${code}: ${log}`)));
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  return {
    dir,
    socket,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      process.off('exit', kill);
    },
  };
}

/** `doveadm -O [-v] director <args> -a <socket>` with the node's hash format. */
export function doveadm(socket: string, args: readonly string[], hashFormat: string): Promise<ToolResult> {
  const verbose = args[0] === '-v';
  const rest = verbose ? args.slice(1) : args;
  const argv = ['-O', ...(verbose ? ['-v'] : []), '-o', `director_username_hash=${hashFormat}`, 'director', ...rest];
  return new Promise((resolve) => {
    execFile('doveadm', [...argv, '-a', socket], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      resolve({ stdout, stderr, code: typeof code === 'number' ? code : 1 });
    });
  });
}

/** `usheradm director <args> -a <socket>`, in process; `where` replaces `-a <socket>` (e.g. --grpc ...). */
export async function usheradm(
  socket: string,
  args: readonly string[],
  hashFormat?: string,
  where: readonly string[] = ['-a', socket],
): Promise<ToolResult> {
  const o = capture();
  const extra = hashFormat === undefined ? [] : ['--hash-format', hashFormat];
  const code = await run(['director', ...args, ...where, ...extra], o);
  const text = (lines: string[]) => lines.map((l) => `${l}\n`).join('');
  return { stdout: text(o.stdout), stderr: text(o.stderr), code };
}
