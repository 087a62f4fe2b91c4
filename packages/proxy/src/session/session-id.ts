import { randomBytes } from 'node:crypto';

/** Dovecot-style session id: 16 random bytes, base64 without padding (22 chars), unique per connection. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64').replace(/=+$/, '');
}
