/**
 * The client-facing half of SASL, played only as far as needed to learn who is logging in.
 * Usher never judges a password: it keeps the client's responses verbatim (base64) so the
 * backend can be given the very same exchange, and the backend decides.
 */
export const SASL_MECHANISMS = ['PLAIN', 'LOGIN', 'XOAUTH2', 'OAUTHBEARER'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export function isSaslMechanism(name: string): name is SaslMechanism {
  return (SASL_MECHANISMS as readonly string[]).includes(name);
}

export interface SaslCredentials {
  readonly mechanism: SaslMechanism;
  /** The user whose mailbox is opened: what routing hashes (a master login routes by the real user). */
  readonly username: string;
  /** The client's responses in order, base64 as sent ("" for an empty response). Never logged. */
  readonly responses: readonly string[];
}

export type SaslStep =
  | { readonly kind: 'challenge'; readonly challenge: string }
  | { readonly kind: 'done'; readonly credentials: SaslCredentials }
  | { readonly kind: 'error'; readonly message: string };

const LOGIN_USERNAME = Buffer.from('Username:').toString('base64');
const LOGIN_PASSWORD = Buffer.from('Password:').toString('base64');
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class SaslExchange {
  readonly mechanism: SaslMechanism;
  private readonly masterSeparator: string;
  private readonly responses: string[] = [];
  private loginUser: string | undefined;

  constructor(mechanism: SaslMechanism, opts: { masterSeparator?: string } = {}) {
    this.mechanism = mechanism;
    this.masterSeparator = opts.masterSeparator ?? '';
  }

  /** Begin, with the SASL-IR initial response if the client sent one ("" = empty response). */
  start(initialResponse?: string): SaslStep {
    if (initialResponse === undefined) {
      return { kind: 'challenge', challenge: this.mechanism === 'LOGIN' ? LOGIN_USERNAME : '' };
    }
    return this.respond(initialResponse);
  }

  respond(response: string): SaslStep {
    if (!BASE64.test(response)) return { kind: 'error', message: 'Invalid base64 data' };
    this.responses.push(response);
    const data = Buffer.from(response, 'base64');
    switch (this.mechanism) {
      case 'PLAIN':
        return this.plain(data);
      case 'LOGIN':
        if (this.responses.length === 1) {
          this.loginUser = data.toString('utf8');
          if (this.loginUser === '' || this.loginUser.includes('\0'))
            return { kind: 'error', message: 'Invalid username' };
          return { kind: 'challenge', challenge: LOGIN_PASSWORD };
        }
        return this.done(this.realUser(this.loginUser as string));
      case 'XOAUTH2':
        return this.xoauth2(data);
      case 'OAUTHBEARER':
        return this.oauthbearer(data);
    }
  }

  private plain(data: Buffer): SaslStep {
    const parts = data.toString('utf8').split('\0');
    if (parts.length !== 3) return { kind: 'error', message: 'Invalid PLAIN response' };
    const [authzid, authcid] = parts as [string, string, string];
    if (authcid === '') return { kind: 'error', message: 'Empty username' };
    // authzid is the user being logged in as; authcid then is a master user
    return this.done(authzid !== '' ? authzid : this.realUser(authcid));
  }

  private xoauth2(data: Buffer): SaslStep {
    const fields = data.toString('utf8').split('\x01');
    const user = fields.find((f) => f.startsWith('user='))?.slice(5);
    if (!user) return { kind: 'error', message: 'Invalid XOAUTH2 response' };
    return this.done(user);
  }

  private oauthbearer(data: Buffer): SaslStep {
    const text = data.toString('utf8');
    const gs2 = text.split('\x01', 1)[0] ?? '';
    // gs2 header: "n,a=user," with ',' and '=' escaped as =2C and =3D
    const a = gs2
      .split(',')
      .find((f) => f.startsWith('a='))
      ?.slice(2);
    if (!a) return { kind: 'error', message: 'OAUTHBEARER needs the user in the gs2 header (a=)' };
    const user = a.replace(/=2C/gi, ',').replace(/=3D/gi, '=');
    return this.done(user);
  }

  private realUser(login: string): string {
    if (this.masterSeparator === '') return login;
    const i = login.indexOf(this.masterSeparator);
    return i > 0 ? login.slice(0, i) : login;
  }

  private done(username: string): SaslStep {
    return { kind: 'done', credentials: { mechanism: this.mechanism, username, responses: [...this.responses] } };
  }
}

/**
 * Credentials from a plain LOGIN / USER+PASS, expressed as SASL PLAIN so every backend path is one
 * path. The login string goes to the backend unchanged ("user*master" included): the backend's own
 * master-user handling decides; only routing uses the real user.
 */
export function plainCredentials(login: string, password: string, masterSeparator = ''): SaslCredentials {
  const i = masterSeparator === '' ? -1 : login.indexOf(masterSeparator);
  const username = i > 0 ? login.slice(0, i) : login;
  return {
    mechanism: 'PLAIN',
    username,
    responses: [Buffer.from(`\0${login}\0${password}`, 'utf8').toString('base64')],
  };
}
