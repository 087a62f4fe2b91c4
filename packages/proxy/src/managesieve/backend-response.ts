import type { BackendConnection } from '../backend/backend-connection.js';

/** One backend response: its first line (for classifying) and every byte of it (for relaying). */
export interface SieveResponse {
  readonly first: string;
  readonly raw: string;
}

const TRAILING_LITERAL = /\{(\d{1,10})\+?\}$/;
// a backend may quote long texts as literals; anything beyond this is not a login-phase response
const MAX_LITERAL = 1 << 20;

/** Read a response, following literals ({n}) to its real end. Errors are the reader's. */
export async function readSieveResponse(backend: BackendConnection): Promise<SieveResponse> {
  let line = (await backend.reader.readLine()).toString('utf8');
  const first = line;
  let raw = '';
  for (;;) {
    raw += `${line}\r\n`;
    const m = TRAILING_LITERAL.exec(line);
    if (!m) return { first, raw };
    const size = Number(m[1]);
    if (size > MAX_LITERAL) throw new Error(`backend literal of ${size} bytes`);
    raw += (await backend.reader.readBytes(size)).toString('utf8');
    line = (await backend.reader.readLine()).toString('utf8');
  }
}

/** OK / NO / BYE, or undefined for anything else (a capability line, a SASL challenge). */
export function responseStatus(r: SieveResponse): 'OK' | 'NO' | 'BYE' | undefined {
  const m = /^(OK|NO|BYE)(?:$|[ (])/i.exec(r.first);
  return m ? (m[1]?.toUpperCase() as 'OK' | 'NO' | 'BYE') : undefined;
}
