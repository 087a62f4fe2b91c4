import { POP3 } from '../replies.js';
import type { Pop3Handler } from '../state.js';

/** RFC 2595 §4. A failed handshake leaves nothing to talk over, so it closes. */
export const stls: Pop3Handler = async (session) => {
  const { conn, ctx } = session;
  if (!ctx.tls) {
    conn.write(POP3.tlsNotEnabled);
    return 'continue';
  }
  if (conn.tls) {
    conn.write(POP3.tlsActive);
    return 'continue';
  }
  conn.write(POP3.stlsBegin);
  try {
    await conn.startTls(ctx.tls);
  } catch (e) {
    ctx.log.info('STLS failed', { session: conn.info.sessionId, reason: (e as Error).message });
    return 'close';
  }
  session.user = undefined;
  return 'continue';
};
