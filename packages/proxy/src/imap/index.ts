export { preAuthCapabilities } from './capabilities.js';
export { CommandParser, type ImapArg, type ImapCommand, ImapParseError, type ParseStep } from './parser.js';
export { IMAP_SHUTDOWN_LINE } from './replies.js';
export { handleImapConnection } from './session.js';
