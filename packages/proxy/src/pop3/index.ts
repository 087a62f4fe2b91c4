export { type Pop3Command, Pop3ParseError, parsePop3Command } from './parser.js';
export { POP3_SHUTDOWN_LINE } from './replies.js';
export { handlePop3Connection } from './session.js';
