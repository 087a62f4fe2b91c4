import { UsherError } from '@usher/core';

/**
 * Why an admin operation did not happen. Each maps to exactly one director-admin reply, so a
 * doveadm user sees what Dovecot would have said.
 */
export abstract class DirectorAdminError extends UsherError {
  /** The reply line (without LF) the director-admin socket answers with. */
  abstract readonly reply: string;
}

/** The host (or ring member) does not exist. Reply `NOTFOUND`. */
export class NotFoundError extends DirectorAdminError {
  readonly reply = 'NOTFOUND';
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('NOT_FOUND', message, context);
  }
}

/** Temporarily impossible: the user is being moved, kicks are saturated, the hash could not be computed. */
export class TryAgainError extends DirectorAdminError {
  readonly reply = 'TRYAGAIN';
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('TRY_AGAIN', message, context);
  }
}

/** The ring did not confirm the change in time. The change may still spread (unlike Dovecot, it was applied here). */
export class SyncTimeoutError extends DirectorAdminError {
  readonly reply = 'Ring sync timed out';
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('SYNC_TIMEOUT', message, context);
  }
}

/** A host change Dovecot refuses with a sentence of its own; `reply` is that sentence. */
export class HostUpdateRefusedError extends DirectorAdminError {
  readonly reply: string;
  constructor(code: 'VHOST_COUNT_TOO_LARGE' | 'HOST_TAG_CHANGE' | 'HOST_BUSY', context: Record<string, unknown> = {}) {
    const reply = REFUSALS[code];
    super(code, reply, context);
    this.reply = reply;
  }
}

/** The sentence Dovecot answers for each refused host change. */
export const REFUSALS = {
  VHOST_COUNT_TOO_LARGE: 'vhost count too large',
  HOST_TAG_CHANGE: "host tag can't be changed",
  HOST_BUSY: 'host is already being updated - try again later',
} as const;

/** The node cannot serve the request now (shutting down, not started). */
export class UnavailableError extends DirectorAdminError {
  readonly reply: string;
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('UNAVAILABLE', message, context);
    this.reply = `Failed: ${message}`;
  }
}

/** The reply for any failure of an API call: typed errors answer for themselves; anything else is internal. */
export function errorReply(e: unknown): string {
  if (e instanceof DirectorAdminError) return e.reply;
  return `Internal error: ${e instanceof Error ? e.message : String(e)}`.replace(/[\t\r\n]/g, ' ');
}
