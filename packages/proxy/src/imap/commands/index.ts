import { authenticate } from './authenticate.js';
import { capability } from './capability.js';
import { enable } from './enable.js';
import { id } from './id.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { noop } from './noop.js';
import { starttls } from './starttls.js';
import type { CommandHandler } from './types.js';

/** Every command imap-login knows; anything else before login is an invalid command. */
export const PRE_AUTH_COMMANDS: ReadonlyMap<string, CommandHandler> = new Map([
  ['AUTHENTICATE', authenticate],
  ['CAPABILITY', capability],
  ['ENABLE', enable],
  ['ID', id],
  ['LOGIN', login],
  ['LOGOUT', logout],
  ['NOOP', noop],
  ['STARTTLS', starttls],
]);
