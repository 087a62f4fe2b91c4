import { md5Prefix32 } from './md5.js';
import { UsernameFormat } from './username-format.js';

export const DEFAULT_USERNAME_HASH = '%Lu';

/** Hash of bytes as the director computes it: MD5, first 4 bytes big-endian; 0 is reserved for "none". */
export function hashBytes(bytes: Uint8Array): number {
  const h = md5Prefix32(bytes);
  return h === 0 ? 1 : h;
}

/**
 * The director's user hash: director_username_hash expanded for the username, then hashBytes.
 * Throws HashFormatError for a format Dovecot would fail to expand.
 */
export class UserHasher {
  readonly format: UsernameFormat;

  constructor(format: string | UsernameFormat = DEFAULT_USERNAME_HASH) {
    this.format = typeof format === 'string' ? new UsernameFormat(format) : format;
  }

  hash(username: string): number {
    return hashBytes(this.format.expand(username));
  }
}

export function userHash(username: string, format: string = DEFAULT_USERNAME_HASH): number {
  return new UserHasher(format).hash(username);
}
