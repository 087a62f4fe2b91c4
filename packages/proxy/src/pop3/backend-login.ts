import type { BackendConnection } from '../backend/backend-connection.js';
import { BackendFailure, type BackendLoginOutcome } from '../backend/backend-login-outcome.js';
import type { ProxyContext } from '../context.js';
import type { ConnectionInfo } from '../net/client-connection.js';
import type { SaslCredentials } from '../sasl/sasl-exchange.js';

export interface Pop3BackendLoginOptions {
  readonly ctx: ProxyContext;
  readonly info: ConnectionInfo;
  readonly credentials: SaslCredentials;
  /**
   * A challenge beyond the client's saved responses (e.g. an XOAUTH2 error): the client answers it.
   * Gets the backend's line, returns the client's response line. Client failures propagate.
   */
  readonly relayChallenge: (line: string) => Promise<string>;
}

/**
 * Log in on a Dovecot-style POP3 backend: greeting, STLS if configured, XCLIENT when the greeting
 * offers it (so the backend logs and limits the real client), then the client's SASL exchange replayed.
 */
export async function pop3BackendLogin(
  backend: BackendConnection,
  opts: Pop3BackendLoginOptions,
): Promise<BackendLoginOutcome> {
  const { ctx, info, credentials } = opts;
  const read = async (): Promise<string> => {
    try {
      return (await backend.reader.readLine()).toString('utf8');
    } catch (e) {
      throw new BackendFailure((e as Error).message);
    }
  };
  const expectOk = async (what: string): Promise<void> => {
    const line = await read();
    if (!line.startsWith('+OK')) throw new BackendFailure(`${what} refused: ${line.slice(0, 200)}`);
  };
  try {
    const greeting = await read();
    if (!greeting.startsWith('+OK')) throw new BackendFailure(`unexpected greeting: ${greeting.slice(0, 200)}`);
    if (ctx.backendTls?.mode === 'starttls') {
      backend.write('STLS\r\n');
      await expectOk('STLS');
      try {
        await backend.startTls();
      } catch (e) {
        throw new BackendFailure((e as Error).message);
      }
    }
    // only a backend that trusts us says [XCLIENT]; to any other the command would be an error
    if (greeting.startsWith('+OK [XCLIENT]')) {
      backend.write(
        `XCLIENT ADDR=${info.clientIp} PORT=${info.clientPort} SESSION=${info.sessionId} TTL=${Math.max(0, ctx.proxyTtl - 1)}\r\n`,
      );
      await expectOk('XCLIENT');
    }
    const [first = '', ...rest] = credentials.responses;
    backend.write(`AUTH ${credentials.mechanism} ${first === '' ? '=' : first}\r\n`);
    for (;;) {
      const line = await read();
      if (line.startsWith('+OK')) return { kind: 'ok', reply: `${line}\r\n` };
      if (line.startsWith('-ERR')) return { kind: 'rejected', reply: `${line}\r\n` };
      if (line !== '+' && !line.startsWith('+ '))
        throw new BackendFailure(`unexpected AUTH reply: ${line.slice(0, 200)}`);
      const saved = rest.shift();
      backend.write(`${saved ?? (await opts.relayChallenge(line))}\r\n`);
    }
  } catch (e) {
    if (e instanceof BackendFailure) return { kind: 'failed', reason: e.message };
    throw e;
  }
}
