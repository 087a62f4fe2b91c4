/**
 * LMTP reply lines: the ones Usher says itself, and parsing/relaying of what backends say.
 * Every text an MTA might log lives here, so the wording stays consistent across the session.
 */

/** A complete (possibly multi-line) reply: `lines` are the texts after "NNN-" / "NNN ". */
export interface LmtpReply {
  readonly code: number;
  readonly lines: readonly string[];
}

/** The name Usher uses for itself in greetings and LHLO: the first word of greetingName, as a domain. */
export function lmtpName(greetingName: string): string {
  const word = (greetingName.trim().split(/\s+/)[0] ?? '').replace(/\.+$/, '');
  return /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(word) ? word : 'usher';
}

export function lmtpShutdownLine(name: string): string {
  return `421 4.3.2 ${name} Server shutting down\r\n`;
}

/** Written to idle LMTP clients when the node stops. */
export const LMTP_SHUTDOWN_LINE = lmtpShutdownLine('Usher');

export function formatReply(reply: LmtpReply): string {
  const last = reply.lines.length - 1;
  if (last < 0) return `${reply.code}\r\n`;
  return reply.lines.map((text, i) => `${reply.code}${i === last ? ' ' : '-'}${text}\r\n`).join('');
}

/** Split "250-text" / "250 text" / "250"; undefined if it is not a reply line. */
export function parseReplyLine(line: string): { code: number; more: boolean; text: string } | undefined {
  const m = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/.exec(line);
  if (!m) return undefined;
  return { code: Number(m[1]), more: m[2] === '-', text: m[3] ?? '' };
}

export const isPositive = (r: LmtpReply): boolean => r.code >= 200 && r.code < 300;

/**
 * A backend's reply as the client hears it. A backend's 421 closes the backend's connection only;
 * relayed as is, it would tell the MTA that this session is closing, and the MTA would drop the
 * connection and defer every other recipient with it. The client hears 451 with enhanced code
 * 4.4.2 (the next hop's connection failed mid-transaction): after DATA that is the honest answer,
 * since a backend that stops (Dovecot 2.3 says "Shutting down") may have stored the message first,
 * and 4.4.2 is what this proxy says whenever a backend was lost with the outcome unknown.
 */
export function relayed(reply: LmtpReply): LmtpReply {
  if (reply.code !== 421) return reply;
  const [first = '', ...rest] = reply.lines;
  const text = first.replace(/^\d\.\d{1,3}\.\d{1,3}\s*/, '');
  return { code: 451, lines: [`4.4.2 ${text}`.trimEnd(), ...rest] };
}

export const REPLY = {
  greeting: (name: string) => `220 ${name} LMTP ready\r\n`,
  ok: '250 2.0.0 OK\r\n',
  senderOk: '250 2.1.0 OK\r\n',
  startTls: '220 2.0.0 Begin TLS negotiation now.\r\n',
  dataGo: '354 OK\r\n',
  bye: '221 2.0.0 Bye\r\n',
  vrfy: '252 2.3.3 Try RCPT instead\r\n',
  unknown: '500 5.5.2 Unknown command\r\n',
  lineTooLong: '500 5.5.2 Line too long\r\n',
  syntax: (what: string) => `501 5.5.4 ${what}\r\n`,
  badSender: (why: string) => `501 5.1.7 Invalid sender: ${why}\r\n`,
  badRecipient: (why: string) => `501 5.1.3 Invalid recipient: ${why}\r\n`,
  noTls: '502 5.5.1 STARTTLS not available\r\n',
  heloFirst: '503 5.5.1 Send LHLO first\r\n',
  mailTwice: '503 5.5.1 MAIL already given\r\n',
  mailFirst: '503 5.5.1 MAIL needed first\r\n',
  useLhlo: '500 5.5.1 This is LMTP: use LHLO\r\n',
  noRecipients: '554 5.5.1 No valid recipients\r\n',
  unsupportedParam: (k: string) => `555 5.5.4 Unsupported parameter ${k}\r\n`,
  sizeExceeded: '552 5.3.4 Message size exceeds fixed maximum message size\r\n',
  tooManyRecipients: '452 4.5.3 Too many recipients\r\n',
  tooManyErrors: (name: string) => `421 4.7.0 ${name} Too many invalid commands, closing connection\r\n`,
  idleTimeout: (name: string) => `421 4.4.2 ${name} Idle timeout, closing connection\r\n`,
  tlsRequired: (name: string) => `421 4.7.0 ${name} Data pipelined after STARTTLS, closing connection\r\n`,
} as const;

/** Per-recipient replies Usher makes up when it could not get the backend's own. */
export const RCPT_REPLY = {
  routingFailed: (rcpt: string): LmtpReply => ({
    code: 451,
    lines: [`4.3.0 <${rcpt}> Temporary routing failure, try again later`],
  }),
  backendUnavailable: (rcpt: string): LmtpReply => ({
    code: 451,
    lines: [`4.4.0 <${rcpt}> Backend unavailable, try again later`],
  }),
  backendLost: (rcpt: string): LmtpReply => ({ code: 451, lines: [`4.4.2 <${rcpt}> Backend connection lost`] }),
  tooBig: (rcpt: string): LmtpReply => ({ code: 552, lines: [`5.3.4 <${rcpt}> Message too big for system`] }),
} as const;
