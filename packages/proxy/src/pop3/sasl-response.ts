import type { Pop3Session } from './state.js';

/** One SASL response line; OAuth tokens outgrow command lines, so the literal limit applies instead. */
export async function readSaslResponse(session: Pop3Session): Promise<string> {
  const reader = session.conn.reader;
  const normal = reader.maxLineLength;
  reader.maxLineLength = Math.max(normal, session.ctx.limits.maxPreAuthLiteral);
  try {
    return (await reader.readLine()).toString('latin1');
  } finally {
    reader.maxLineLength = normal;
  }
}
