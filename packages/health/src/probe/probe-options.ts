import type { LineClient, ProbeTls } from './line-client.js';

export type ProbeProtocol = 'imap' | 'pop3' | 'lmtp';

export const PROBE_PROTOCOLS: readonly ProbeProtocol[] = ['imap', 'pop3', 'lmtp'];

/** What the probes of every backend share (health_check_* settings and the backend_* ones). */
export interface ProbeOptions {
  /** Which services must answer for the backend to be healthy (health_check_protocols). */
  readonly protocols: readonly ProbeProtocol[];
  /** The backends' ports per protocol (the ones the proxy connects to). */
  readonly ports: Readonly<Record<ProbeProtocol, number>>;
  /** A probe that has not finished within this time failed (health_check_timeout). */
  readonly timeoutMs: number;
  /** A probe account: IMAP LOGIN / POP3 USER+PASS must succeed (health_check_user/password). */
  readonly login?: { readonly user: string; readonly password: string };
  /** LMTP: MAIL FROM:<> and RCPT TO this address must be accepted (health_check_lmtp_rcpt). */
  readonly lmtpRcpt?: string;
  /** How backends are reached (backend_ssl): the probe goes the way the proxy goes. */
  readonly tls?: ProbeTls;
  /** LHLO name. */
  readonly heloName: string;
}

/** One protocol's conversation on an open connection; throws ProbeFailure when the backend fails it. */
export type ProbeDialogue = (client: LineClient, opts: ProbeOptions) => Promise<void>;
