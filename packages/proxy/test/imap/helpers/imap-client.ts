import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { PROXY_IP } from './cluster.js';

/** imapflow against a test proxy; plaintext unless the options say otherwise. */
export function imapClient(port: number, user: string, pass: string, extra: Partial<ImapFlowOptions> = {}): ImapFlow {
  const { auth, ...rest } = extra;
  return new ImapFlow({
    host: PROXY_IP,
    port,
    secure: false,
    doSTARTTLS: false,
    logger: false,
    auth: { user, pass, ...auth },
    ...rest,
  } as ImapFlowOptions);
}
