/** Reply texts shared by several commands, worded as Dovecot's imap-login words them. */
export const REPLY = {
  badCommand: 'Error in IMAP command received by server.',
  tooManyBad: 'Too many invalid IMAP commands.',
  tooManyAuthFailures: 'Too many authentication failures.',
  inputTooLong: 'Input buffer full, aborting',
  inactivity: 'Disconnected for inactivity.',
  literalTooLarge: 'Literal size too large',
  plaintextDisallowed: '[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.',
  unavailable: '[UNAVAILABLE] Account is temporarily unavailable.',
  authFailed: '[AUTHENTICATIONFAILED] Authentication failed.',
} as const;

/** What the server's listener writes to pre-auth clients when Usher stops. */
export const IMAP_SHUTDOWN_LINE = '* BYE Server shutting down.\r\n';
