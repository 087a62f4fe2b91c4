export {
  readSieveCommand,
  readSieveString,
  readSieveTokens,
  type SieveByteSource,
  type SieveCommand,
  SieveParseError,
  type SieveToken,
  tokenizeSieveLine,
} from './parser.js';
export { MANAGESIEVE_SHUTDOWN_LINE } from './replies.js';
export { handleManageSieveConnection } from './session.js';
