import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { ADMIN_GREETING, formatLine, isCompatibleVersion, splitLine } from '@usher/admin';
import { CliError, EX_DATAERR, EX_TEMPFAIL } from '../util/exit-codes.js';

/** doveadm's default: base_dir/director-admin. */
export const DEFAULT_ADMIN_SOCKET = '/run/dovecot/director-admin';
/** doveadm gives up on the greeting after 5 s ("is director configured?"). */
const GREETING_TIMEOUT_MS = 5000;

/** The node went away or answered something that is not the protocol. */
export class AdminClientError extends CliError {}

/**
 * A director-admin connection, as doveadm makes it: `target` with a "/" is a UNIX socket, anything
 * else "host:port". Lines are read one at a time; `undefined` means the node closed the connection.
 */
export class AdminClient {
  readonly target: string;
  private readonly socket: Duplex;
  private onClose: (() => void) | undefined;
  private buffer = '';
  private ended = false;
  private waiter: (() => void) | undefined;

  private constructor(target: string, socket: Duplex, onClose?: () => void) {
    this.target = target;
    this.socket = socket;
    this.onClose = onClose;
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => {
      this.buffer += c;
      this.wake();
    });
    socket.on('end', () => this.finish());
    socket.on('close', () => this.finish());
    socket.on('error', () => this.finish());
  }

  static async connect(target: string, timeoutMs = GREETING_TIMEOUT_MS): Promise<AdminClient> {
    return AdminClient.overStream(target, await open(target), timeoutMs);
  }

  /**
   * The protocol over any byte stream, e.g. a connection served in this process (usheradm over
   * gRPC); `onClose` runs once when the client is closed.
   */
  static async overStream(
    target: string,
    stream: Duplex,
    timeoutMs = GREETING_TIMEOUT_MS,
    onClose?: () => void,
  ): Promise<AdminClient> {
    const client = new AdminClient(target, stream, onClose);
    // like doveadm: our VERSION goes out at once, then the greeting must arrive in time
    client.socket.write(ADMIN_GREETING);
    const greeting = await client.readLine(timeoutMs);
    if (greeting === undefined) {
      client.close();
      throw new AdminClientError(`${target} disconnected`, EX_TEMPFAIL);
    }
    if (greeting === null) {
      client.close();
      throw new AdminClientError(`read(${target}) timed out (is director configured?)`, EX_TEMPFAIL);
    }
    if (!isCompatibleVersion(greeting)) {
      client.close();
      throw new AdminClientError(`${target} not a compatible director-doveadm socket`, EX_DATAERR);
    }
    return client;
  }

  /** Sends one command; fields are tab-escaped. */
  send(...fields: string[]): void {
    this.socket.write(formatLine(fields));
  }

  /** The next line (fields unescaped by the caller); undefined at EOF; null after `timeoutMs`. */
  async readLine(timeoutMs?: number): Promise<string | undefined | null> {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    for (;;) {
      const lf = this.buffer.indexOf('\n');
      if (lf >= 0) {
        const line = this.buffer.slice(0, lf);
        this.buffer = this.buffer.slice(lf + 1);
        return line;
      }
      if (this.ended) return undefined;
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = left === undefined ? undefined : setTimeout(resolve, left);
        this.waiter = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The rows of a list reply (fields unescaped), up to its empty line; undefined if the node closed first. */
  async readRows(): Promise<{ rows: string[][]; lines: string[]; complete: boolean }> {
    const rows: string[][] = [];
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine();
      if (line === undefined || line === null) return { rows, lines, complete: false };
      if (line === '') return { rows, lines, complete: true };
      lines.push(line);
      rows.push(splitLine(line));
    }
  }

  close(): void {
    this.socket.destroy();
    const onClose = this.onClose;
    this.onClose = undefined;
    onClose?.();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/** doveadm_connect: a path (contains "/") or host:port. */
function open(target: string): Promise<Duplex> {
  const where = target.includes('/') ? { path: target } : hostPort(target);
  return new Promise((resolve, reject) => {
    const socket = connect(where);
    socket.once('connect', () => resolve(socket));
    socket.once('error', (e) => {
      const how = 'path' in where ? `net_connect_unix(${target})` : `net_connect(${target})`;
      reject(new AdminClientError(`${how} failed: ${e.message}`, EX_TEMPFAIL));
    });
  });
}

function hostPort(target: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target);
  if (!m) throw new AdminClientError(`${target}: not a socket path or host:port`, EX_TEMPFAIL);
  return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
}
