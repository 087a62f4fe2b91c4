import { UsherError } from '@usher/core';

export type ProxyErrorCode =
  | 'LINE_TOO_LONG'
  | 'IDLE_TIMEOUT'
  | 'DISCONNECTED'
  | 'STREAM_ERROR'
  | 'DETACHED'
  | 'PROTOCOL'
  | 'BACKEND_CONNECT'
  | 'BACKEND_TIMEOUT'
  | 'BACKEND_PROTOCOL'
  | 'TLS';

/** A failure of one connection; never of the process. `context` names what a log line needs. */
export class ProxyError extends UsherError {
  declare readonly code: ProxyErrorCode;
  constructor(code: ProxyErrorCode, message: string, context: Record<string, unknown>) {
    super(code, message, context);
  }
}

/**
 * An 'error' listener for a socket whose errors surface elsewhere (its reader, a 'close'): without
 * one, an 'error' event would crash the process. Module-level on purpose: an inline `() => {}`
 * keeps its whole enclosing scope (timers, closures, buffers of the setup code) alive for as long as
 * the socket lives, which is most of an idle session's memory.
 */
export function ignoreSocketError(): void {}
