import { sieveCapabilityLines } from '../capabilities.js';
import { quoteSieve } from '../parser.js';
import { SIEVE } from '../replies.js';
import type { SieveHandler } from '../state.js';

export const capability: SieveHandler = async (session, command) => {
  if (command.args.length > 0) {
    session.conn.write(SIEVE.invalidArguments);
    return 'bad';
  }
  session.conn.write(sieveCapabilityLines(session) + SIEVE.capabilityDone);
  return 'continue';
};

/** RFC 5804 §2.11: an optional string comes back as the TAG response code. */
export const noop: SieveHandler = async (session, command) => {
  const [tag, ...extra] = command.args;
  if (extra.length > 0 || (tag !== undefined && tag.kind !== 'string')) {
    session.conn.write(SIEVE.invalidArguments);
    return 'bad';
  }
  session.conn.write(tag === undefined ? SIEVE.ok('NOOP completed.') : `OK (TAG ${quoteSieve(tag.value)}) "Done"\r\n`);
  return 'continue';
};

export const logout: SieveHandler = async (session) => {
  session.conn.write(SIEVE.logout);
  return 'close';
};
