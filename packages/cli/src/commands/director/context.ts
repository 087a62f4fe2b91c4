import { lookup } from 'node:dns/promises';
import { parseIp } from '@usher/core';
import { AdminClient, AdminClientError, DEFAULT_ADMIN_SOCKET } from '../../admin-client/admin-client.js';
import { connectGrpc, type GrpcTarget } from '../../admin-client/grpc-target.js';
import { EX_DATAERR, EX_NOTFOUND, EX_TEMPFAIL, UsageError } from '../../util/exit-codes.js';
import type { Output } from '../../util/output.js';

/** What every `usheradm director` command shares: where the node is, how to print, the exit code so far. */
export class DirectorContext {
  /** Where the node is, as messages name it: the socket, or "grpc ADDRESS". */
  readonly socket: string;
  /** Set: the node's gRPC admin API instead of a director-admin socket. */
  readonly grpc: GrpcTarget | undefined;
  /** -a was given: `dump` repeats it in the commands it prints, as doveadm does. */
  readonly explicitSocket: boolean;
  readonly verbose: boolean;
  readonly json: boolean;
  /** Terminal width for tables (doveadm: 80 when not a terminal). */
  readonly columns: number;
  readonly output: Output;
  /** Like doveadm_exit_code: the first failure decides, unless a later one is worse. */
  exitCode = 0;

  constructor(opts: {
    socket?: string;
    grpc?: GrpcTarget;
    verbose?: boolean;
    json?: boolean;
    columns?: number;
    output: Output;
  }) {
    this.grpc = opts.grpc;
    this.socket = opts.grpc ? `grpc ${opts.grpc.address}` : (opts.socket ?? DEFAULT_ADMIN_SOCKET);
    this.explicitSocket = opts.socket !== undefined && opts.grpc === undefined;
    this.verbose = opts.verbose === true;
    this.json = opts.json === true;
    this.columns = opts.columns ?? 80;
    this.output = opts.output;
  }

  connect(): Promise<AdminClient> {
    return this.grpc ? connectGrpc(this.grpc) : AdminClient.connect(this.socket);
  }

  /** Runs `fn` with a connection that is closed afterwards; returns the exit code. */
  async session(fn: (client: AdminClient) => Promise<void>): Promise<number> {
    const client = await this.connect();
    try {
      await fn(client);
    } finally {
      client.close();
    }
    return this.exitCode;
  }

  error(message: string, exitCode: number = EX_TEMPFAIL): void {
    this.output.err(`Error: ${message}`);
    this.exitCode = exitCode;
  }

  /** NOTFOUND-style failures set the code only when nothing failed before (doveadm's rule). */
  notFound(message: string, warning = false): void {
    this.output.err(`${warning ? 'Warning' : 'Error'}: ${message}`);
    if (this.exitCode === 0) this.exitCode = EX_NOTFOUND;
  }

  warning(message: string, exitCode?: number): void {
    this.output.err(`Warning: ${message}`);
    if (exitCode !== undefined) this.exitCode = exitCode;
  }

  info(message: string): void {
    if (this.verbose) this.output.err(`Info: ${message}`);
  }

  disconnected(): void {
    this.error(`${this.socket} unexpectedly disconnected`, EX_TEMPFAIL);
  }

  invalidReply(message: string): void {
    this.error(message, EX_DATAERR);
  }

  printJson(value: unknown): void {
    this.output.out(JSON.stringify(value, null, 2));
  }
}

/** director_get_host: an IP literal as is, a name as all its addresses. */
export async function resolveHost(host: string): Promise<string[]> {
  const ip = parseIp(host);
  if (ip) return [ip.text];
  try {
    return (await lookup(host, { all: true })).map((a) => parseIp(a.address)?.text ?? a.address);
  } catch (e) {
    throw new AdminClientError(`gethostname(${host}) failed: ${(e as Error).message}`, EX_TEMPFAIL);
  }
}

/** str_to_uint for a command-line count; anything else is a usage error. */
export function uintArg(value: string, what: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) throw new UsageError(`invalid ${what}: ${value}`);
  return Number(value);
}
