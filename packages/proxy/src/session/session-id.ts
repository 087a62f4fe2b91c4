import { randomBytes } from 'node:crypto';

const ID_BYTES = 16;
/** Random bytes for this many ids are drawn at once: one call into the CSPRNG per 256 connections. */
const POOL_IDS = 256;
let pool = Buffer.alloc(0);
let offset = 0;

/** Dovecot-style session id: 16 random bytes, base64 without padding (22 chars), unique per connection. */
export function newSessionId(): string {
  if (offset >= pool.length) {
    pool = randomBytes(ID_BYTES * POOL_IDS);
    offset = 0;
  }
  const id = pool.toString('base64', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id.slice(0, 22);
}
