import type { SecureContext } from 'node:tls';
import type { Router } from '@usher/core';
import type { BackendTlsOptions } from './backend/backend-connection.js';
import type { SessionRegistry } from './session/registry.js';

/** Structured log sink, injected by the server (winston there). Fields name session, user hash, backend. */
export interface ProxyLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: ProxyLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface ProxyLimits {
  /** Longest pre-auth command line (bytes). */
  readonly maxLineLength: number;
  /** Longest literal / SASL response accepted before login (bytes). */
  readonly maxPreAuthLiteral: number;
  /** Pre-auth idle timeout: a client that says nothing this long is disconnected. */
  readonly preAuthIdleTimeoutMs: number;
  /** Invalid commands before the connection is closed. */
  readonly maxBadCommands: number;
  /** Delay before a failed login is answered (slows password guessing). */
  readonly authFailureDelayMs: number;
  /** Failed logins on one connection before it is closed. */
  readonly maxAuthAttempts: number;
  readonly backendConnectTimeoutMs: number;
  /** Backend greeting/login replies must arrive within this time. */
  readonly backendLoginTimeoutMs: number;
  /** LMTP: how long a backend may take for a reply during a transaction (Dovecot: 125 s). */
  readonly lmtpBackendTimeoutMs: number;
  /** Max message size for LMTP (0 = unlimited). */
  readonly lmtpMaxMessageSize: number;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  maxLineLength: 8192,
  maxPreAuthLiteral: 65536,
  preAuthIdleTimeoutMs: 60_000,
  maxBadCommands: 10,
  authFailureDelayMs: 2000,
  maxAuthAttempts: 5,
  backendConnectTimeoutMs: 30_000,
  backendLoginTimeoutMs: 30_000,
  lmtpBackendTimeoutMs: 125_000,
  lmtpMaxMessageSize: 0,
};

export interface BackendPorts {
  readonly imap: number;
  readonly pop3: number;
  readonly lmtp: number;
  readonly managesieve: number;
}

/** Everything a protocol session needs from the outside; nothing else is reachable from it. */
export interface ProxyContext {
  readonly router: Router;
  readonly registry: SessionRegistry;
  readonly log: ProxyLogger;
  readonly limits: ProxyLimits;
  /** For STARTTLS/STLS; absent = not offered. */
  readonly tls?: SecureContext;
  readonly backendPorts: BackendPorts;
  readonly backendTls?: BackendTlsOptions;
  /** auth_master_user_separator: "user*master" routes by "user". "" = none. */
  readonly masterSeparator: string;
  /** Director tag for users of this listener (Dovecot takes it from passdb; here it is per listener). */
  readonly tag: string;
  /** Name in greetings (e.g. "Usher ready."). */
  readonly greetingName: string;
  /** Proxy TTL sent to backends (x-proxy-ttl / TTL), loop guard. */
  readonly proxyTtl: number;
  /**
   * ManageSieve "SIEVE" and "NOTIFY" capabilities announced before login (RFC 5804 requires them;
   * clients such as sieve-connect refuse a server without). They describe the backends, so they are
   * Dovecot's managesieve_sieve_capability / managesieve_notify_capability; default: Pigeonhole 0.5's.
   */
  readonly sieveCapability?: { readonly sieve: string; readonly notify: string };
  /** Optional observers (metrics); absent = nobody listens. Called synchronously, must not throw. */
  readonly events?: ProxyEvents;
}

/**
 * What the proxy reports as it works, for counters and histograms kept outside it. Protocol is a
 * plain string here so this file needs nothing from the session code.
 */
export interface ProxyEvents {
  /**
   * A login attempt ended: `ok` (backend accepted, session proxied), `failed` (backend rejected the
   * credentials) or `tempfail` (no backend could be chosen or reached, or it misbehaved).
   */
  onLogin?(protocol: string, result: 'ok' | 'failed' | 'tempfail'): void;
  /** Router.route answered (or threw) after `seconds`; LMTP reports one per recipient. */
  onRoute?(protocol: string, seconds: number, ok: boolean): void;
}

export const DEFAULT_SIEVE_CAPABILITY = {
  sieve:
    'fileinto reject envelope encoded-character vacation subaddress comparator-i;ascii-numeric relational regex imap4flags copy include variables body enotify environment mailbox date index ihave duplicate mime foreverypart extracttext',
  notify: 'mailto',
} as const;
