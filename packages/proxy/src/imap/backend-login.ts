import type { BackendConnection } from '../backend/backend-connection.js';
import type { ProxyContext } from '../context.js';
import { ProxyError } from '../errors.js';
import type { ClientConnection } from '../net/client-connection.js';
import type { SaslCredentials } from '../sasl/sasl-exchange.js';
import { type PeerWatch, watchPeerGone } from './peer-gone.js';
import { imapQuote } from './quote.js';

export interface BackendLoginRequest {
  readonly conn: ClientConnection;
  readonly ctx: ProxyContext;
  readonly backend: BackendConnection;
  /** The client's tag: the backend's verdict then carries it and is relayed verbatim. */
  readonly tag: string;
  readonly credentials: SaslCredentials;
}

export type BackendLoginResult =
  /** `reply` is the backend's tagged OK line (without CRLF), `[CAPABILITY ...]` included. */
  | { readonly kind: 'ok'; readonly reply: Buffer }
  /** The backend said NO or BAD: its tagged line, for the client. */
  | { readonly kind: 'rejected'; readonly reply: Buffer }
  | { readonly kind: 'client-gone' }
  /** The backend broke the protocol, closed, or was too slow. */
  | { readonly kind: 'failed'; readonly reason: string };

const CRLF = '\r\n';

class BackendFailure extends Error {}
class ClientGone extends Error {}

/**
 * Log in at the backend as the client: greeting and capabilities, optional STARTTLS, an ID that
 * tells the backend who the client really is, then the client's SASL exchange replayed response by
 * response. Errors of the client's own socket propagate; the caller owns (and closes) the backend
 * unless the result is `ok`.
 */
export async function backendLogin(req: BackendLoginRequest): Promise<BackendLoginResult> {
  const watch = watchPeerGone(req.conn.socket);
  try {
    return await login(req, watch);
  } catch (e) {
    if (e instanceof ClientGone) return { kind: 'client-gone' };
    if (e instanceof BackendFailure) return { kind: 'failed', reason: e.message };
    throw e;
  } finally {
    watch.dispose();
  }
}

async function login(req: BackendLoginRequest, watch: PeerWatch): Promise<BackendLoginResult> {
  const { backend, ctx, tag, credentials } = req;
  const io = new BackendIo(backend, watch);

  const greeting = await io.line();
  if (!/^\* OK\b/i.test(greeting.toString('latin1')))
    throw new BackendFailure(`unexpected greeting: ${printable(greeting)}`);
  let caps = capabilityCode(greeting.toString('latin1')) ?? (await io.capabilities());

  if (ctx.backendTls?.mode === 'starttls') {
    backend.write(`S STARTTLS${CRLF}`);
    const reply = await io.tagged('S');
    if (status(reply, 'S') !== 'OK') throw new BackendFailure(`STARTTLS refused: ${printable(reply)}`);
    await io.wrap(backend.startTls());
    caps = await io.capabilities();
  }

  const out: string[] = [];
  if (caps.has('ID')) out.push(`I ID (${forwardedIdentity(req)})`);
  const responses = credentials.responses;
  let next = 0;
  if (caps.has('SASL-IR') && responses.length > 0) {
    out.push(`${tag} AUTHENTICATE ${credentials.mechanism} ${responses[0] === '' ? '=' : responses[0]}`);
    next = 1;
  } else {
    out.push(`${tag} AUTHENTICATE ${credentials.mechanism}`);
  }
  // one write: the backend answers ID before it looks at AUTHENTICATE, so nothing waits a round trip
  backend.write(out.map((l) => l + CRLF).join(''));
  if (caps.has('ID')) await io.tagged('I');

  for (;;) {
    const line = await io.line();
    const text = line.toString('latin1');
    if (text.startsWith('+')) {
      const saved = responses[next];
      if (saved !== undefined) {
        next++;
        backend.write(saved + CRLF);
      } else {
        // The backend wants more than the client said so far (XOAUTH2/OAUTHBEARER send an error
        // challenge and wait for the client's acknowledgement): only the client can answer.
        req.conn.write(Buffer.concat([line, Buffer.from(CRLF)]));
        const answer = await req.conn.reader.readLine();
        backend.write(Buffer.concat([answer, Buffer.from(CRLF)]));
      }
      continue;
    }
    if (text.startsWith('* ')) {
      // the backend's BYE is about its own connection, which the client never sees
      if (!/^\* BYE\b/i.test(text)) req.conn.write(Buffer.concat([line, Buffer.from(CRLF)]));
      continue;
    }
    const verdict = status(line, tag);
    if (verdict === 'OK') return { kind: 'ok', reply: line };
    if (verdict === 'NO' || verdict === 'BAD') return { kind: 'rejected', reply: line };
    throw new BackendFailure(`unexpected reply to AUTHENTICATE: ${printable(line)}`);
  }
}

/** Backend reads that give up when the client leaves, with errors sorted into backend and client. */
class BackendIo {
  constructor(
    private readonly backend: BackendConnection,
    private readonly watch: PeerWatch,
  ) {}

  async wrap<T>(p: Promise<T>): Promise<T> {
    // the losing promise settles later (rejects when the backend is closed); that must stay quiet
    p.catch(() => {});
    let value: T | 'gone';
    try {
      value = await Promise.race([p, this.watch.gone]);
    } catch (e) {
      throw new BackendFailure(e instanceof ProxyError ? e.message : String(e));
    }
    if (this.watch.isGone) throw new ClientGone();
    return value as T;
  }

  line(): Promise<Buffer> {
    return this.wrap(this.backend.reader.readLine());
  }

  /** Lines up to the tagged reply for `tag`; untagged ones are dropped. */
  async tagged(tag: string): Promise<Buffer> {
    for (;;) {
      const line = await this.line();
      if (line.toString('latin1').startsWith(`${tag} `)) return line;
    }
  }

  async capabilities(): Promise<Set<string>> {
    this.backend.write(`C CAPABILITY${CRLF}`);
    let caps = new Set<string>();
    for (;;) {
      const text = (await this.line()).toString('latin1');
      const listed = /^\* CAPABILITY (.*)$/i.exec(text);
      if (listed) caps = words(listed[1] ?? '');
      else caps = capabilityCode(text) ?? caps;
      if (text.startsWith('C ')) {
        if (!/^C OK\b/i.test(text))
          throw new BackendFailure(`CAPABILITY failed: ${printable(Buffer.from(text, 'latin1'))}`);
        return caps;
      }
    }
  }
}

/** ID fields Dovecot's login processes read from a trusted proxy (login_trusted_networks). */
function forwardedIdentity(req: BackendLoginRequest): string {
  const i = req.conn.info;
  const fields: Array<[string, string]> = [
    ['x-session-id', i.sessionId],
    ['x-originating-ip', i.clientIp],
    ['x-originating-port', String(i.clientPort)],
    ['x-connected-ip', i.localIp],
    ['x-connected-port', String(i.localPort)],
    ['x-proxy-ttl', String(req.ctx.proxyTtl - 1)],
  ];
  return fields.map(([k, v]) => `${imapQuote(k)} ${imapQuote(v)}`).join(' ');
}

function capabilityCode(text: string): Set<string> | undefined {
  const m = /\[CAPABILITY ([^\]]*)\]/i.exec(text);
  return m ? words(m[1] ?? '') : undefined;
}

function words(list: string): Set<string> {
  return new Set(list.toUpperCase().split(' ').filter(Boolean));
}

function status(line: Buffer, tag: string): string | undefined {
  const text = line.toString('latin1');
  if (!text.startsWith(`${tag} `)) return undefined;
  return text
    .slice(tag.length + 1)
    .split(' ', 1)[0]
    ?.toUpperCase();
}

/** Backend text for a log line, cut short and without control characters. */
function printable(line: Buffer): string {
  return line.toString('latin1', 0, 200).replace(/[^\x20-\x7e]/g, '?');
}
