import { RawClient } from '../harness/raw-client.js';

// a response ends with a status line; the scripts in these tests never start a line with one
const STATUS = /^(OK|NO|BYE)\b.*\r\n/m;
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/**
 * A small ManageSieve client (RFC 5804) for tests: Python has no stdlib one. Every method returns
 * the server's response verbatim so tests can assert on exact bytes.
 */
export class SieveClient {
  readonly raw: RawClient;
  /** The greeting (capabilities + OK). */
  greeting = '';

  private constructor(raw: RawClient) {
    this.raw = raw;
  }

  static async connect(host: string, port: number, opts: { localAddress?: string } = {}): Promise<SieveClient> {
    const client = new SieveClient(await RawClient.connect(host, port, opts));
    client.greeting = await client.raw.until(STATUS);
    return client;
  }

  /** Send a command and read its whole response. */
  command(line: string): Promise<string> {
    return this.raw.command(line, STATUS);
  }

  /** STARTTLS, the handshake, and the capabilities the server re-issues after it. */
  async startTls(): Promise<string> {
    const ok = await this.command('STARTTLS');
    if (!ok.startsWith('OK')) return ok;
    await this.raw.startTls();
    return this.raw.until(STATUS);
  }

  /** AUTHENTICATE "PLAIN", with the credentials as initial response or (initial: false) as a literal answer to the challenge. */
  async authenticatePlain(user: string, password: string, opts: { initial?: boolean } = {}): Promise<string> {
    const token = b64(`\0${user}\0${password}`);
    if (opts.initial !== false) return this.command(`AUTHENTICATE "PLAIN" "${token}"`);
    const challenge = await this.raw.command('AUTHENTICATE "PLAIN"', /\r\n/);
    if (challenge !== '""\r\n') return challenge;
    return this.command(`{${token.length}+}\r\n${token}`);
  }

  putScript(name: string, script: string): Promise<string> {
    return this.command(`PUTSCRIPT "${name}" {${Buffer.byteLength(script)}+}\r\n${script}`);
  }

  async logout(): Promise<string> {
    const reply = await this.command('LOGOUT');
    await this.raw.waitClosed();
    return reply;
  }
}
