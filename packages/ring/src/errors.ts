import { UsherError } from '@usher/core';

/** An admin operation or request the ring could not complete. */
export class RingError extends UsherError {
  constructor(
    code:
      | 'SYNC_TIMEOUT' // the ring did not confirm within syncTimeoutMs
      | 'TRYAGAIN' // the user is being moved already (Dovecot answers TRYAGAIN too)
      | 'HOST_NOT_FOUND'
      | 'NOT_RUNNING'
      | 'BAD_MEMBER',
    message: string,
    context: Record<string, unknown> = {},
  ) {
    super(code, message, context);
  }
}

/** The in-memory network refused or lost a connection. */
export class MemoryTransportError extends UsherError {
  constructor(code: 'CONNECT_TIMEOUT' | 'REFUSED' | 'CLOSED', message: string, context: Record<string, unknown> = {}) {
    super(code, message, context);
  }
}
