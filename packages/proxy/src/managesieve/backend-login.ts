import type { BackendConnection } from '../backend/backend-connection.js';
import { BackendFailure, type BackendLoginOutcome } from '../backend/backend-login-outcome.js';
import type { ProxyContext } from '../context.js';
import type { ConnectionInfo } from '../net/client-connection.js';
import type { SaslCredentials } from '../sasl/sasl-exchange.js';
import { readSieveResponse, responseStatus, type SieveResponse } from './backend-response.js';

export interface SieveBackendLoginOptions {
  readonly ctx: ProxyContext;
  readonly info: ConnectionInfo;
  readonly credentials: SaslCredentials;
  /** A challenge beyond the saved responses: relayed (verbatim) to the client, whose answer comes back. */
  readonly relayChallenge: (raw: string) => Promise<string>;
}

/**
 * Log in on a ManageSieve backend: capability greeting, STARTTLS if configured (capabilities are
 * re-issued after it), XCLIENT when the backend offers it (Pigeonhole does to trusted proxies:
 * the real client address reaches its logs), then AUTHENTICATE with the client's exchange replayed.
 */
export async function sieveBackendLogin(
  backend: BackendConnection,
  opts: SieveBackendLoginOptions,
): Promise<BackendLoginOutcome> {
  const { ctx, info, credentials } = opts;
  const read = async (): Promise<SieveResponse> => {
    try {
      return await readSieveResponse(backend);
    } catch (e) {
      throw new BackendFailure((e as Error).message);
    }
  };
  const capabilities = async (): Promise<string[]> => {
    const lines: string[] = [];
    for (;;) {
      const r = await read();
      const status = responseStatus(r);
      if (status === 'OK') return lines;
      if (status !== undefined) throw new BackendFailure(`greeting: ${r.first.slice(0, 200)}`);
      lines.push(r.first);
    }
  };
  const expectOk = async (what: string): Promise<void> => {
    const r = await read();
    if (responseStatus(r) !== 'OK') throw new BackendFailure(`${what} refused: ${r.first.slice(0, 200)}`);
  };
  try {
    let caps = await capabilities();
    if (ctx.backendTls?.mode === 'starttls') {
      backend.write('STARTTLS\r\n');
      await expectOk('STARTTLS');
      try {
        await backend.startTls();
      } catch (e) {
        throw new BackendFailure((e as Error).message);
      }
      caps = await capabilities();
    }
    if (caps.some((line) => /^"XCLIENT"/i.test(line))) {
      backend.write(
        `XCLIENT ADDR=${info.clientIp} PORT=${info.clientPort} SESSION=${info.sessionId} TTL=${Math.max(0, ctx.proxyTtl - 1)}\r\n`,
      );
      await expectOk('XCLIENT');
    }
    const [first = '', ...rest] = credentials.responses;
    backend.write(`AUTHENTICATE "${credentials.mechanism}" "${first}"\r\n`);
    for (;;) {
      const r = await read();
      const status = responseStatus(r);
      if (status === 'OK') return { kind: 'ok', reply: r.raw };
      if (status !== undefined) return { kind: 'rejected', reply: r.raw };
      if (!r.first.startsWith('"') && !r.first.startsWith('{')) {
        throw new BackendFailure(`unexpected AUTHENTICATE reply: ${r.first.slice(0, 200)}`);
      }
      const saved = rest.shift();
      backend.write(`"${saved ?? (await opts.relayChallenge(r.raw))}"\r\n`);
    }
  } catch (e) {
    if (e instanceof BackendFailure) return { kind: 'failed', reason: e.message };
    throw e;
  }
}
