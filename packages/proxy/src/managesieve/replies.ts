import { quoteSieve } from './parser.js';

/** The fixed responses the ManageSieve front end says itself (RFC 5804 §1.3 response syntax). */
export const MANAGESIEVE_SHUTDOWN_LINE = 'BYE "Server shutting down."\r\n';

export const SIEVE = {
  ok: (text: string) => `OK ${quoteSieve(text)}\r\n`,
  no: (text: string) => `NO ${quoteSieve(text)}\r\n`,
  bye: (text: string) => `BYE ${quoteSieve(text)}\r\n`,
  unknownCommand: 'NO "Unknown command."\r\n',
  invalidCommand: 'NO "Error in MANAGESIEVE command received by server."\r\n',
  invalidArguments: 'NO "Invalid arguments."\r\n',
  tooManyBadCommands: 'BYE "Too many invalid MANAGESIEVE commands."\r\n',
  lineTooLong: 'BYE "Input line too long."\r\n',
  literalTooLarge: 'BYE "Literal too large."\r\n',
  idleTimeout: 'BYE "Disconnected for inactivity."\r\n',
  // RFC 5804 §1.3 ENCRYPT-NEEDED: the client knows to STARTTLS and retry
  plaintextDisallowed:
    'NO (ENCRYPT-NEEDED) "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."\r\n',
  unsupportedMechanism: 'NO "Unsupported authentication mechanism."\r\n',
  authAborted: 'NO "Authentication aborted by client."\r\n',
  tempUnavailable: 'NO (TRYLATER) "Account is temporarily unavailable."\r\n',
  tlsNotEnabled: 'NO "TLS support isn\'t enabled."\r\n',
  tlsActive: 'NO "TLS is already active."\r\n',
  startTls: 'OK "Begin TLS negotiation now."\r\n',
  tlsDone: 'OK "TLS negotiation successful."\r\n',
  capabilityDone: 'OK "Capability completed."\r\n',
  logout: 'OK "Logout completed."\r\n',
} as const;
