import { timingSafeEqual } from 'node:crypto';
import { Metadata, status } from '@grpc/grpc-js';
import type { AdminStatus } from './admin-errors.js';

/** Tells about a refused caller: `from` is its address, `reason` why (never the token it sent). */
export type RefusalSink = (from: string, reason: string) => void;

/**
 * Who may call the admin service. Client certificates are checked by TLS itself (the server
 * requires one signed by the admin CA); this checks the bearer token when one is configured.
 */
export class AdminAuthenticator {
  readonly #token: Buffer | undefined;
  readonly #refused: RefusalSink;

  constructor(token: string | undefined, refused: RefusalSink) {
    this.#token = token === undefined ? undefined : Buffer.from(`Bearer ${token}`);
    this.#refused = refused;
  }

  /** undefined when the call may go on; otherwise the UNAUTHENTICATED status to fail it with. */
  check(metadata: Metadata, peer: string): AdminStatus | undefined {
    if (this.#token === undefined) return undefined;
    const given = metadata.get('authorization')[0];
    const presented = typeof given === 'string' ? Buffer.from(given) : Buffer.alloc(0);
    // length first: timingSafeEqual needs equal lengths, and the length of a token is no secret
    if (presented.length === this.#token.length && timingSafeEqual(presented, this.#token)) return undefined;
    this.#refused(peer, given === undefined ? 'no token' : 'wrong token');
    return { code: status.UNAUTHENTICATED, details: 'admin token missing or wrong', metadata: new Metadata() };
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
