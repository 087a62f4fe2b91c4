import type { Duplex } from 'node:stream';
import type { DirectorAdminApi } from './api.js';
import { ADMIN_COMMANDS } from './commands/index.js';
import { DirectorAdminError, errorReply } from './errors.js';
import { ADMIN_GREETING, AdminProtocolError, isCompatibleVersion, LineSplitter, splitLine } from './protocol.js';

export interface AdminLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A client's byte stream: a socket, or one end of an in-process pair (usheradm over gRPC). */
export type AdminStream = Duplex & {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
};

/** Reading pauses while this many commands wait, so a flood of pipelined lines cannot grow memory without bound. */
const MAX_QUEUED_LINES = 256;

/**
 * One director-admin client. Lines are queued as they arrive and run strictly one after another,
 * each reply written before the next command starts, even while a command waits for the ring.
 * Unlike Dovecot (which drops a pipelined line behind a deferred one), every line runs; a client
 * that hangs up right after writing (poolmon) still has all its commands executed. Anything
 * malformed closes the connection without a reply and discards what was queued behind it.
 */
export class AdminConnection {
  private readonly socket: AdminStream;
  private readonly api: DirectorAdminApi;
  private readonly log: AdminLog;
  private readonly peer: string;
  private readonly splitter = new LineSplitter();
  private readonly queue: string[] = [];
  private handshaked = false;
  private inputEnded = false;
  private closed = false;
  /** The loop running queued commands, while one runs. */
  private draining: Promise<void> | undefined;
  /** Resolves when the connection is closed and no command of it runs any more. */
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(socket: AdminStream, api: DirectorAdminApi, log: AdminLog) {
    this.socket = socket;
    this.api = api;
    this.log = log;
    this.peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'local';
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
    socket.on('error', () => {
      // a client that went away is not our error; its queued commands still run
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.onEnd());
    socket.write(ADMIN_GREETING);
  }

  /** Node shutdown: queued commands are dropped; one already running finishes unanswered. */
  destroy(): void {
    this.queue.length = 0;
    this.close();
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let lines: string[];
    try {
      lines = this.splitter.push(chunk);
    } catch (e) {
      this.reject(e as AdminProtocolError);
      return;
    }
    for (const line of lines) {
      if (this.handshaked) {
        this.queue.push(line);
      } else if (isCompatibleVersion(line)) {
        this.handshaked = true;
      } else {
        this.reject(new AdminProtocolError('doveadm not compatible with this server (mixed old and new binaries?)'));
        return;
      }
    }
    if (this.queue.length >= MAX_QUEUED_LINES) this.socket.pause();
    this.drain();
  }

  private onEnd(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    this.drain();
  }

  private drain(): void {
    this.draining ??= this.runQueue().finally(() => {
      this.draining = undefined;
      if (this.closed) this.finish();
      else if (this.inputEnded && this.queue.length === 0) this.close();
      else if (this.queue.length > 0) this.drain();
    });
  }

  private async runQueue(): Promise<void> {
    for (let line = this.queue.shift(); line !== undefined && !this.closed; line = this.queue.shift()) {
      if (this.socket.isPaused() && this.queue.length < MAX_QUEUED_LINES / 2) this.socket.resume();
      const reply = await this.run(line);
      if (reply !== undefined && this.socket.writable) this.socket.write(reply);
    }
  }

  /** The reply to one line; undefined when the line was refused (and the connection closed). */
  private async run(line: string): Promise<string | undefined> {
    const [name = '', ...args] = splitLine(line);
    const command = ADMIN_COMMANDS.get(name);
    if (command === undefined) {
      const why = line === '' ? 'doveadm sent empty command line' : 'doveadm sent unknown command';
      this.reject(new AdminProtocolError(why, { command: name.slice(0, 64) }));
      return undefined;
    }
    try {
      return await command(args, this.api);
    } catch (e) {
      if (e instanceof AdminProtocolError) {
        this.reject(e);
        return undefined;
      }
      const fields = { command: name, peer: this.peer, error: (e as Error).message };
      if (e instanceof DirectorAdminError)
        this.log.info('director-admin: command refused', { ...fields, code: e.code });
      else this.log.error('director-admin: command failed', fields);
      return `${errorReply(e)}\n`;
    }
  }

  private reject(e: AdminProtocolError): void {
    this.log.error(`director-admin: ${e.message}`, { peer: this.peer, ...e.context });
    this.queue.length = 0;
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end(() => this.socket.destroy());
    if (this.draining === undefined) this.finish();
  }
}
