import { timingSafeEqual } from 'node:crypto';
import { Metadata, status } from '@grpc/grpc-js';
import type { AdminLog } from '../director-admin/connection.js';
import type { AdminStatus } from './admin-errors.js';

/** A refused caller is logged at most this often per source address, so a scanner cannot flood the log. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * Who may call the admin service. Client certificates are checked by TLS itself (the server
 * requires one signed by the admin CA); this checks the bearer token when one is configured.
 */
export class AdminAuthenticator {
  readonly #token: Buffer | undefined;
  readonly #log: AdminLog;
  readonly #lastLogged = new Map<string, number>();

  constructor(token: string | undefined, log: AdminLog) {
    this.#token = token === undefined ? undefined : Buffer.from(`Bearer ${token}`);
    this.#log = log;
  }

  /** undefined when the call may go on; otherwise the UNAUTHENTICATED status to fail it with. */
  check(metadata: Metadata, peer: string): AdminStatus | undefined {
    if (this.#token === undefined) return undefined;
    const given = metadata.get('authorization')[0];
    const presented = typeof given === 'string' ? Buffer.from(given) : Buffer.alloc(0);
    // length first: timingSafeEqual needs equal lengths, and the length of a token is no secret
    if (presented.length === this.#token.length && timingSafeEqual(presented, this.#token)) return undefined;
    this.#logRefusal(peer, given === undefined ? 'no token' : 'wrong token');
    return { code: status.UNAUTHENTICATED, details: 'admin token missing or wrong', metadata: new Metadata() };
  }

  #logRefusal(peer: string, reason: string): void {
    const source = peer.replace(/:\d+$/, '');
    const now = Date.now();
    if (now - (this.#lastLogged.get(source) ?? -Infinity) < REFUSAL_LOG_INTERVAL_MS) return;
    if (this.#lastLogged.size > 1000) this.#lastLogged.clear();
    this.#lastLogged.set(source, now);
    this.#log.warn('admin call refused', { peer, reason });
  }
}

/** A token file holds one line; surrounding whitespace is not part of the token. */
export function parseTokenFile(text: string, path: string): string {
  const token = text.trim();
  if (token.length < 16 || /\s/.test(token)) {
    throw new Error(`${path}: an admin token must be one word of at least 16 characters`);
  }
  return token;
}
