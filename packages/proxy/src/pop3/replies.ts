/**
 * The fixed lines the POP3 front end says itself. Texts follow Dovecot's pop3-login where a
 * client or script might match on them; response codes are RFC 2449 / RFC 3206.
 */
export const POP3_SHUTDOWN_LINE = '-ERR [SYS/TEMP] Server shutting down.\r\n';

export const POP3 = {
  greeting: (name: string) => `+OK ${name} ready.\r\n`,
  unknownCommand: '-ERR Unknown command.\r\n',
  tooManyBadCommands: '-ERR Too many invalid commands.\r\n',
  lineTooLong: '-ERR Input line too long.\r\n',
  idleTimeout: '-ERR Disconnected for inactivity.\r\n',
  plaintextDisallowed: '-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n',
  noUsername: '-ERR No username given.\r\n',
  invalidArguments: '-ERR Invalid arguments.\r\n',
  unsupportedMechanism: '-ERR Unsupported authentication mechanism.\r\n',
  authAborted: '-ERR [AUTH] Authentication aborted by client.\r\n',
  saslFailed: (message: string) => `-ERR [AUTH] ${message}.\r\n`,
  tempUnavailable: '-ERR [SYS/TEMP] Account is temporarily unavailable.\r\n',
  userOk: '+OK\r\n',
  stlsBegin: '+OK Begin TLS negotiation now.\r\n',
  tlsNotEnabled: "-ERR TLS support isn't enabled.\r\n",
  tlsActive: '-ERR TLS is already active.\r\n',
  logout: '+OK Logging out.\r\n',
} as const;
