import type { CommandHandler } from './types.js';

export const starttls: CommandHandler = async (s, cmd) => {
  if (cmd.args.length !== 0) return 'bad';
  if (!s.ctx.tls) {
    s.tagged(cmd.tag, 'BAD', "TLS support isn't enabled.");
    return 'next';
  }
  if (s.conn.tls) {
    s.tagged(cmd.tag, 'BAD', 'TLS is already active.');
    return 'next';
  }
  s.tagged(cmd.tag, 'OK', 'Begin TLS negotiation now.');
  try {
    await s.conn.startTls(s.ctx.tls);
  } catch (e) {
    // pipelined plaintext after STARTTLS or a failed handshake: nothing safe can be said any more
    s.ctx.log.info('imap STARTTLS failed', { session: s.conn.info.sessionId, reason: (e as Error).message });
    s.close();
    return 'end';
  }
  return 'next';
};
