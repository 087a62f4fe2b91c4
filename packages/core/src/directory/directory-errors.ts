import { UsherError } from '../errors/usher-error.js';

/** A UserDirectory option is out of range (user_expire below the minimum, a bad initial capacity). */
export class DirectoryConfigError extends UsherError {
  constructor(message: string, context: { option: string; value: unknown }) {
    super('DIRECTORY_CONFIG', message, context);
  }
}

/**
 * An argument to a UserDirectory call does not fit its column (tag id, user hash, host id, timestamp
 * or flags out of range), or the table cannot grow any further. A programming error, not a user error.
 */
export class DirectoryRangeError extends UsherError {
  constructor(message: string, context: { argument: string; value: unknown }) {
    super('DIRECTORY_RANGE', message, context);
  }
}
