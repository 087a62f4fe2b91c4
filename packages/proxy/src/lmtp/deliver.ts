import type { ProxyContext } from '../context.js';
import type { ClientConnection } from '../net/client-connection.js';
import type { LmtpBackend } from './backend-client.js';
import { streamBody } from './data-stream.js';
import { isPositive, type LmtpReply, RCPT_REPLY, REPLY, relayed } from './replies.js';

/** A recipient some backend said 250 to, in the client's RCPT order. */
export interface AcceptedRecipient {
  readonly rcpt: string;
  readonly backend: LmtpBackend;
}

/**
 * The DATA command of a transaction with at least one accepted recipient: open DATA on every
 * backend, stream the body to all of them at once, and collect one reply per recipient.
 * Resolves the replies in RCPT order. Only what a backend said about a recipient can make it a
 * 2xx; anything that went wrong in between is a 4xx for that backend's recipients, so the MTA
 * retries them and nothing is lost or accepted twice by mistake.
 * Rejects only when the client fails during the body; the backends are then torn down
 * (without a terminator they store nothing).
 */
export async function deliver(
  conn: ClientConnection,
  ctx: ProxyContext,
  accepted: readonly AcceptedRecipient[],
): Promise<LmtpReply[]> {
  const byBackend = new Map<LmtpBackend, string[]>();
  for (const { rcpt, backend } of accepted) {
    const list = byBackend.get(backend);
    if (list) list.push(rcpt);
    else byBackend.set(backend, [rcpt]);
  }
  const replies = new Map<LmtpBackend, LmtpReply[]>();
  const answer = (backend: LmtpBackend, make: (rcpt: string) => LmtpReply) => {
    replies.set(backend, (byBackend.get(backend) ?? []).map(make));
  };

  const ready: LmtpBackend[] = [];
  await Promise.all(
    [...byBackend.keys()].map(async (backend) => {
      try {
        const reply = await backend.command('DATA');
        if (reply.code === 354) ready.push(backend);
        else answer(backend, () => relayed(reply));
      } catch {
        answer(backend, RCPT_REPLY.backendLost);
      }
    }),
  );

  conn.write(REPLY.dataGo);
  let body: Awaited<ReturnType<typeof streamBody>>;
  try {
    body = await streamBody(conn.reader, ready, { maxSize: ctx.limits.lmtpMaxMessageSize });
  } catch (e) {
    for (const backend of ready) backend.destroy('client failed during DATA');
    throw e;
  }

  await Promise.all(
    ready.map(async (backend) => {
      if (body.tooBig) return answer(backend, RCPT_REPLY.tooBig);
      const rcpts = byBackend.get(backend) ?? [];
      const got: LmtpReply[] = [];
      try {
        for (let i = 0; i < rcpts.length; i++) got.push(await backend.readReply());
      } catch (e) {
        ctx.log.error('backend lost during DATA', {
          session: conn.info.sessionId,
          protocol: 'lmtp',
          ...backend.logFields(),
          reason: (e as Error).message,
        });
      }
      replies.set(
        backend,
        rcpts.map((rcpt, i) => {
          const reply = got[i];
          return reply ? relayed(reply) : RCPT_REPLY.backendLost(rcpt);
        }),
      );
    }),
  );

  const cursor = new Map<LmtpBackend, number>();
  return accepted.map(({ rcpt, backend }) => {
    const i = cursor.get(backend) ?? 0;
    cursor.set(backend, i + 1);
    const reply = replies.get(backend)?.[i] ?? RCPT_REPLY.backendLost(rcpt);
    ctx.log.info(isPositive(reply) ? 'delivered' : 'delivery failed', {
      session: conn.info.sessionId,
      protocol: 'lmtp',
      ...backend.logFields(),
      code: reply.code,
      size: body.size,
    });
    return reply;
  });
}
