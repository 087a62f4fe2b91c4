/**
 * POP3 command lines (RFC 1939 §3, RFC 2449 §3): a keyword, then arguments separated by spaces.
 * Pure and synchronous so it can be fuzzed; the only thing it throws is `Pop3ParseError`.
 */
export interface Pop3Command {
  /** Upper-cased keyword. */
  readonly name: string;
  /** Space-separated arguments (runs of spaces are tolerated, as real clients send them). */
  readonly args: readonly string[];
  /** Everything after the keyword and one space, untouched: PASS takes it whole, spaces included. */
  readonly rest: string;
}

export class Pop3ParseError extends Error {
  override readonly name = 'Pop3ParseError';
}

// RFC 2449 allows keywords of 3-4 characters; a little slack costs nothing and names the junk in logs.
const KEYWORD = /^[A-Za-z][A-Za-z0-9-]{0,15}$/;

export function parsePop3Command(line: Buffer | string): Pop3Command {
  const text = typeof line === 'string' ? line : line.toString('utf8');
  if (text.length === 0) throw new Pop3ParseError('empty command');
  // a NUL or a stray CR could smuggle a second command into whatever logs or relays this line
  if (/[\0\r\n]/.test(text)) throw new Pop3ParseError('control character in command');
  const sp = text.indexOf(' ');
  const keyword = sp < 0 ? text : text.slice(0, sp);
  if (!KEYWORD.test(keyword)) throw new Pop3ParseError('invalid keyword');
  const rest = sp < 0 ? '' : text.slice(sp + 1);
  const args = rest.split(' ').filter((a) => a !== '');
  return { name: keyword.toUpperCase(), args, rest };
}
