import type { Route } from '@usher/core';
import { connectRoute, routeUser } from '../backend/route-and-connect.js';
import type { ProxyContext } from '../context.js';
import type { ConnectionInfo } from '../net/client-connection.js';
import { type BackendIntroduction, LmtpBackend } from './backend-client.js';
import { type LmtpReply, RCPT_REPLY } from './replies.js';

export type BackendChoice =
  | { readonly kind: 'ok'; readonly backend: LmtpBackend }
  /** This recipient cannot go anywhere now: relay `reply` for it. */
  | { readonly kind: 'refused'; readonly reply: LmtpReply };

/** A backend of this transaction: ready, or failed with a reply for each recipient routed to it. */
type Slot =
  | { readonly kind: 'ok'; readonly backend: LmtpBackend }
  | { readonly kind: 'failed'; readonly reply: (rcpt: string) => LmtpReply };

/**
 * The backends of one mail transaction, one connection per distinct backend: every recipient
 * routed to an already-open backend joins that connection, so a message to many users of one
 * backend is sent (and stored) once. A backend that failed to start is remembered, so its other
 * recipients are answered at once instead of each waiting for another connect timeout.
 */
export class BackendPool {
  private readonly ctx: ProxyContext;
  private readonly info: ConnectionInfo;
  private readonly intro: BackendIntroduction;
  private readonly slots = new Map<string, Slot>();

  constructor(ctx: ProxyContext, info: ConnectionInfo, intro: BackendIntroduction) {
    this.ctx = ctx;
    this.info = info;
    this.intro = intro;
  }

  /** Route the recipient and make sure its backend is connected and past MAIL. */
  async backendFor(rcpt: string): Promise<BackendChoice> {
    const routed = await routeUser(this.ctx, this.info, 'lmtp', rcpt);
    if (routed.kind !== 'ok') return { kind: 'refused', reply: RCPT_REPLY.routingFailed(rcpt) };
    const { route } = routed;
    let slot = this.slots.get(route.backend);
    if (slot?.kind === 'ok' && slot.backend.lost) {
      // lost between two recipients (a restart): the recipients already on it fail at DATA
      slot = { kind: 'failed', reply: RCPT_REPLY.backendLost };
      this.slots.set(route.backend, slot);
    }
    if (!slot) {
      slot = await this.open(route);
      this.slots.set(route.backend, slot);
    }
    return slot.kind === 'ok' ? slot : { kind: 'refused', reply: slot.reply(rcpt) };
  }

  /** Close every backend of the transaction (RSET, end of DATA, end of session). */
  closeAll(): void {
    for (const slot of this.slots.values()) if (slot.kind === 'ok') slot.backend.quit();
    this.slots.clear();
  }

  private async open(route: Route): Promise<Slot> {
    const log = { session: this.info.sessionId, protocol: 'lmtp', userHash: route.userHash, backend: route.backend };
    const connected = await connectRoute(this.ctx, this.info, 'lmtp', route);
    if (connected.kind !== 'ok') return { kind: 'failed', reply: RCPT_REPLY.backendUnavailable };
    const backend = new LmtpBackend(connected.backend, route, this.ctx.limits.lmtpBackendTimeoutMs);
    try {
      const refusal = await backend.start(this.intro);
      if (refusal === undefined) return { kind: 'ok', backend };
      this.ctx.log.info('backend refused MAIL', { ...log, code: refusal.code });
      backend.quit();
      return { kind: 'failed', reply: () => refusal };
    } catch (e) {
      this.ctx.log.error('backend unavailable', { ...log, reason: (e as Error).message });
      backend.destroy((e as Error).message);
      return { kind: 'failed', reply: RCPT_REPLY.backendUnavailable };
    }
  }
}
