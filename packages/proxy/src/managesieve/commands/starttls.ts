import { sieveCapabilityLines } from '../capabilities.js';
import { SIEVE } from '../replies.js';
import type { SieveHandler } from '../state.js';

/**
 * RFC 5804 §2.2. After the handshake the server re-issues its capabilities unasked (they change:
 * SASL mechanisms appear, STARTTLS goes), so the client need not send CAPABILITY.
 */
export const starttls: SieveHandler = async (session, command) => {
  const { conn, ctx } = session;
  if (command.args.length > 0) {
    conn.write(SIEVE.invalidArguments);
    return 'bad';
  }
  if (!ctx.tls) {
    conn.write(SIEVE.tlsNotEnabled);
    return 'continue';
  }
  if (conn.tls) {
    conn.write(SIEVE.tlsActive);
    return 'continue';
  }
  conn.write(SIEVE.startTls);
  try {
    await conn.startTls(ctx.tls);
  } catch (e) {
    ctx.log.info('STARTTLS failed', { session: conn.info.sessionId, reason: (e as Error).message });
    return 'close';
  }
  conn.write(sieveCapabilityLines(session) + SIEVE.tlsDone);
  return 'continue';
};
