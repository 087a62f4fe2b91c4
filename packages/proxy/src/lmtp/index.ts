export { LMTP_SHUTDOWN_LINE, lmtpShutdownLine } from './replies.js';
export { handleLmtpConnection } from './session.js';
