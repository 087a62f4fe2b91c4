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
